"""Create a topic, produce with every compression codec, read it all back.

Uses confluent-kafka (librdkafka) with SASL over plaintext.
usage: kafka_roundtrip.py BOOTSTRAP USERNAME PASSWORD MECHANISM TOPIC
Prints "kafka roundtrip ok" and exits 0 when every record comes back intact.
"""
import sys

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

bootstrap, username, password, mechanism, topic = sys.argv[1:6]
common = {
    "bootstrap.servers": bootstrap,
    "security.protocol": "SASL_PLAINTEXT",
    "sasl.mechanisms": mechanism,
    "sasl.username": username,
    "sasl.password": password,
}
PARTITIONS = 3
CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
PER_CODEC = 40


def fail(message):
    print(message)
    sys.exit(1)


admin = AdminClient(common)
for future in admin.create_topics([NewTopic(topic, num_partitions=PARTITIONS, replication_factor=1)]).values():
    future.result(timeout=15)
again = admin.create_topics([NewTopic(topic, num_partitions=PARTITIONS, replication_factor=1)])
try:
    list(again.values())[0].result(timeout=15)
    fail("creating the topic twice succeeded")
except Exception as error:  # the KafkaException carries TOPIC_ALREADY_EXISTS
    if "TOPIC_ALREADY_EXISTS" not in str(error) and "already exists" not in str(error):
        fail(f"unexpected error creating the topic twice: {error}")
metadata = admin.list_topics(timeout=15)
if topic not in metadata.topics or len(metadata.topics[topic].partitions) != PARTITIONS:
    fail(f"metadata does not show {topic} with {PARTITIONS} partitions: {metadata.topics}")

sent = {}
for codec in CODECS:
    producer = Producer({**common, "compression.type": codec, "acks": "all", "linger.ms": 5})
    delivered = []
    for i in range(PER_CODEC):
        key = f"{codec}-{i}".encode()
        value = (f"{codec} record {i} " * 20).encode()
        headers = [("codec", codec.encode()), ("n", str(i).encode())]
        producer.produce(topic, value=value, key=key, headers=headers, partition=i % PARTITIONS,
                         on_delivery=lambda err, msg: delivered.append(err))
        sent[key] = (value, headers)
    producer.flush(30)
    if len(delivered) != PER_CODEC or any(delivered):
        fail(f"{codec}: deliveries {delivered}")

consumer = Consumer({**common, "group.id": "unused", "enable.auto.commit": False, "auto.offset.reset": "earliest"})
consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
received = {}
empty_polls = 0
while len(received) < len(sent) and empty_polls < 50:
    message = consumer.poll(0.5)
    if message is None:
        empty_polls += 1
        continue
    if message.error():
        if message.error().code() == KafkaError._PARTITION_EOF:
            continue
        fail(f"consume error: {message.error()}")
    if message.key() in received:
        fail(f"duplicate record {message.key()}")
    received[message.key()] = (message.value(), message.headers())
consumer.close()
if received.keys() != sent.keys():
    fail(f"received {len(received)} of {len(sent)} records")
for key, (value, headers) in sent.items():
    got_value, got_headers = received[key]
    if got_value != value or list(got_headers or []) != headers:
        fail(f"record {key} differs: {got_value[:40]!r} {got_headers}")

watermarks = Consumer({**common, "group.id": "unused"}).get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
expected = (0, sum(1 for i in range(PER_CODEC) if i % PARTITIONS == 0) * len(CODECS))
if watermarks != expected:
    fail(f"partition 0 watermarks {watermarks}, expected {expected}")
print("kafka roundtrip ok")
