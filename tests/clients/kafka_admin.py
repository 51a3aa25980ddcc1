"""Topic administration through confluent-kafka's AdminClient: topic configs
(describe, incremental alter), partition growth, DeleteRecords and ListOffsets.

usage: kafka_admin.py BOOTSTRAP USERNAME PASSWORD TOPIC
Prints "kafka admin ok" and exits 0 when every answer is what Kafka gives.
"""
import sys

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, ConfigSource,
                                   NewPartitions, NewTopic, OffsetSpec, ResourceType)

bootstrap, username, password, topic = sys.argv[1:5]
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


def wait(futures):
    return {key: future.result(timeout=15) for key, future in futures.items()}


admin = AdminClient(common)
wait(admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1, config={"retention.ms": "3600000"})]))

resource = ConfigResource(ResourceType.TOPIC, topic)
configs = list(wait(admin.describe_configs([resource])).values())[0]
if configs["retention.ms"].value != "3600000" or configs["retention.ms"].source != ConfigSource.DYNAMIC_TOPIC_CONFIG.value:
    fail(f"retention.ms described as {configs['retention.ms']}")
if configs["segment.bytes"].source != ConfigSource.DEFAULT_CONFIG.value:
    fail(f"segment.bytes described as {configs['segment.bytes']}")

change = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[
    ConfigEntry("retention.bytes", "1048576", incremental_operation=AlterConfigOpType.SET),
    ConfigEntry("retention.ms", None, incremental_operation=AlterConfigOpType.DELETE),
])
wait(admin.incremental_alter_configs([change]))
configs = list(wait(admin.describe_configs([resource])).values())[0]
if configs["retention.bytes"].value != "1048576" or configs["retention.ms"].value != "604800000":
    fail(f"after alter: {configs['retention.bytes']} {configs['retention.ms']}")
unknown = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[
    ConfigEntry("no.such.config", "1", incremental_operation=AlterConfigOpType.SET)])
try:
    wait(admin.incremental_alter_configs([unknown]))
    fail("an unknown config was accepted")
except KafkaException as error:
    if "INVALID_CONFIG" not in str(error) and "no.such.config" not in str(error):
        fail(f"unexpected error for an unknown config: {error}")

wait(admin.create_partitions([NewPartitions(topic, 4)]))
if len(admin.list_topics(topic, timeout=10).topics[topic].partitions) != 4:
    fail("the topic did not grow to 4 partitions")
try:
    wait(admin.create_partitions([NewPartitions(topic, 2)]))
    fail("shrinking the topic was accepted")
except KafkaException as error:
    if "INVALID_PARTITIONS" not in str(error):
        fail(f"unexpected error shrinking: {error}")

producer = Producer({**common, "acks": "all"})
for i in range(10):
    producer.produce(topic, value=f"r{i}".encode(), partition=0)
producer.flush(15)
deleted = wait(admin.delete_records([TopicPartition(topic, 0, 5)]))
low = list(deleted.values())[0].low_watermark
if low != 5:
    fail(f"low watermark after DeleteRecords: {low}")
earliest = wait(admin.list_offsets({TopicPartition(topic, 0): OffsetSpec.earliest()}))
latest = wait(admin.list_offsets({TopicPartition(topic, 0): OffsetSpec.latest()}))
if list(earliest.values())[0].offset != 5 or list(latest.values())[0].offset != 10:
    fail(f"offsets after DeleteRecords: {earliest} {latest}")
consumer = Consumer({**common, "group.id": "unused", "auto.offset.reset": "earliest", "enable.auto.commit": False})
consumer.assign([TopicPartition(topic, 0, 0)])
first = None
for _ in range(40):
    message = consumer.poll(0.5)
    if message is not None and not message.error():
        first = message
        break
consumer.close()
if first is None or first.offset() != 5 or first.value() != b"r5":
    fail(f"first record after DeleteRecords: {first and (first.offset(), first.value())}")
print("kafka admin ok")
