"""Count quotas through confluent-kafka: an instance on the developer plan may
have 10 topics and 30 partitions (its default mapping's topic `mqtt`, with 3,
among them) and 20 consumer groups. Beyond them CreateTopics and
CreatePartitions answer POLICY_VIOLATION naming the quota, and a 21st group's
offset commit POLICY_VIOLATION; what exists keeps working.

usage: kafka_quota.py BOOTSTRAP USERNAME PASSWORD
Prints "kafka quota ok" and exits 0 when every answer is the expected one.
"""
import sys

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic

bootstrap, username, password = sys.argv[1:4]
common = {
    "bootstrap.servers": bootstrap,
    "security.protocol": "SASL_PLAINTEXT",
    "sasl.mechanisms": "SCRAM-SHA-256",
    "sasl.username": username,
    "sasl.password": password,
}


def fail(message):
    print(message)
    sys.exit(1)


def refused(futures, quota):
    """Every future fails with POLICY_VIOLATION and a message naming `quota`."""
    for name, future in futures.items():
        try:
            future.result(timeout=15)
            fail(f"{name} was accepted past the quota {quota}")
        except KafkaException as error:
            kafka_error = error.args[0]
            if kafka_error.code() != KafkaError.POLICY_VIOLATION or quota not in kafka_error.str():
                fail(f"{name}: expected POLICY_VIOLATION naming {quota}, got {kafka_error}")


admin = AdminClient(common)
# With `mqtt` (3 partitions), nine one-partition topics make 10 topics and 12 partitions.
for future in admin.create_topics([NewTopic(f"t{i}", num_partitions=1, replication_factor=1) for i in range(9)]).values():
    future.result(timeout=15)
refused(admin.create_topics([NewTopic("eleventh", num_partitions=1, replication_factor=1)]), "max_topics")
refused(admin.create_topics([NewTopic("eleventh", num_partitions=1, replication_factor=1)], validate_only=True),
        "max_topics")
# Growing t0 from 1 to 20 would make 31 partitions; to 19, exactly 30.
refused(admin.create_partitions([NewPartitions("t0", 20)]), "max_partitions")
for future in admin.create_partitions([NewPartitions("t0", 19)]).values():
    future.result(timeout=15)
refused(admin.create_partitions([NewPartitions("t1", 2)]), "max_partitions")

listed = admin.list_topics(timeout=10).topics
count = len(listed)
partitions = sum(len(topic.partitions) for topic in listed.values())
if (count, partitions) != (10, 30):
    fail(f"the instance has {count} topics with {partitions} partitions: {sorted(listed)}")

# What exists keeps taking writes.
producer = Producer(common)
delivered = []
producer.produce("t0", b"still works", partition=18, on_delivery=lambda err, msg: delivered.append(err))
producer.flush(15)
if delivered != [None]:
    fail(f"a write to an existing topic failed: {delivered}")


def commit(group, offset):
    """Commits `offset` of t0/0 for `group` (a simple consumer: no members);
    None when stored, else the error."""
    consumer = Consumer({**common, "group.id": group, "enable.auto.commit": False})
    try:
        committed = consumer.commit(offsets=[TopicPartition("t0", 0, offset)], asynchronous=False)
        return committed[0].error
    except KafkaException as error:
        return error.args[0]
    finally:
        consumer.close()


for i in range(20):
    if (error := commit(f"group-{i}", 1)) is not None:
        fail(f"group-{i} could not commit within the quota: {error}")
error = commit("group-20", 1)
if error is None or error.code() != KafkaError.POLICY_VIOLATION:
    fail(f"a 21st group committed past max_consumer_groups: {error}")
if (error := commit("group-3", 2)) is not None:
    fail(f"an existing group could no longer commit: {error}")
print("kafka quota ok")
