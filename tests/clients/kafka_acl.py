"""Kafka ACLs from an instance credential, seen by confluent-kafka.

The admin credential may do everything; the limited one may produce to and
consume "orders" and use the group "readers", nothing else.
usage: kafka_acl.py BOOTSTRAP ADMIN_USER ADMIN_PASSWORD LIMITED_USER LIMITED_PASSWORD
Prints "kafka acl ok" and exits 0 when every refusal is the one Kafka gives.
"""
import sys

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

bootstrap, admin_user, admin_password, user, password = sys.argv[1:6]


def conf(username, secret):
    return {
        "bootstrap.servers": bootstrap,
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanisms": "SCRAM-SHA-256",
        "sasl.username": username,
        "sasl.password": secret,
    }


def fail(message):
    print(message)
    sys.exit(1)


admin = AdminClient(conf(admin_user, admin_password))
for future in admin.create_topics([NewTopic(t, num_partitions=1) for t in ("orders", "secret")]).values():
    future.result(timeout=15)

limited = conf(user, password)
limited_admin = AdminClient(limited)
visible = set(limited_admin.list_topics(timeout=10).topics)
if "orders" not in visible or "secret" in visible:
    fail(f"the limited credential sees {visible}")

try:
    limited_admin.create_topics([NewTopic("other", num_partitions=1)])["other"].result(timeout=15)
    fail("the limited credential created a topic it may not produce to")
except KafkaException as error:
    if error.args[0].code() != KafkaError.TOPIC_AUTHORIZATION_FAILED:
        fail(f"creating 'other': {error}")

outcomes = {}
producer = Producer({**limited, "acks": "all"})
for topic in ("orders", "secret"):
    producer.produce(topic, value=b"x", partition=0,
                     on_delivery=lambda err, msg, t=topic: outcomes.__setitem__(t, err))
producer.flush(15)
if outcomes.get("orders") is not None:
    fail(f"producing to orders failed: {outcomes.get('orders')}")
if outcomes.get("secret") is None or outcomes["secret"].code() != KafkaError.TOPIC_AUTHORIZATION_FAILED:
    fail(f"producing to secret: {outcomes.get('secret')}")

reader = Consumer({**limited, "group.id": "readers", "auto.offset.reset": "earliest"})
reader.assign([TopicPartition("orders", 0, 0)])
got = None
for _ in range(40):
    message = reader.poll(0.5)
    if message is not None and not message.error():
        got = message
        break
if got is None or got.value() != b"x":
    fail("the limited credential could not read orders")
reader.commit(message=got, asynchronous=False)
reader.close()

# librdkafka reports a refused subscribed topic as a consumer error (or to error_cb).
errors = []
sneaky = Consumer({**limited, "group.id": "readers", "auto.offset.reset": "earliest",
                   "error_cb": lambda err: errors.append(err)})
sneaky.subscribe(["secret"])
for _ in range(40):
    message = sneaky.poll(0.5)
    if message is not None and message.error():
        errors.append(message.error())
    elif message is not None:
        fail("the limited credential read secret")
    if any(e.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED for e in errors):
        break
sneaky.close()
if not any(e.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED for e in errors):
    fail(f"consuming secret: {errors}")

# FindCoordinator refuses the group; librdkafka reports it to error_cb and the
# commit fails.
group_errors = []
outsider = Consumer({**limited, "group.id": "writers", "enable.auto.commit": False,
                     "error_cb": lambda err: group_errors.append(err)})
outsider.assign([TopicPartition("orders", 0, 0)])
try:
    outsider.commit(offsets=[TopicPartition("orders", 0, 1)], asynchronous=False)
    fail("the limited credential committed in a group it may not use")
except KafkaException as error:
    group_errors.append(error.args[0])
for _ in range(20):
    if any(e.code() == KafkaError.GROUP_AUTHORIZATION_FAILED for e in group_errors):
        break
    message = outsider.poll(0.5)
    if message is not None and message.error():
        group_errors.append(message.error())
outsider.close()
if not any(e.code() == KafkaError.GROUP_AUTHORIZATION_FAILED for e in group_errors):
    fail(f"committing in 'writers': {group_errors}")
print("kafka acl ok")
