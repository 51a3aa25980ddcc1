"""Rate quotas as librdkafka meets them: with its bytes in and out held to
RATE_IN and RATE_OUT bytes/s, an instance's producer and consumer are told
`throttle_time_ms` (throttle_cb) and slowed to the rate, and every record
still arrives once.

usage: kafka_throttle.py BOOTSTRAP USERNAME PASSWORD TOPIC RECORDS
Prints one JSON line: produce and consume seconds, throttle events each way,
records delivered and consumed.
"""
import json
import sys
import time

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

bootstrap, username, password, topic, records = sys.argv[1:6]
records = int(records)
common = {
    "bootstrap.servers": bootstrap,
    "security.protocol": "SASL_PLAINTEXT",
    "sasl.mechanisms": "SCRAM-SHA-256",
    "sasl.username": username,
    "sasl.password": password,
}
throttled = {"produce": 0, "fetch": 0}


def on_throttle(kind):
    def callback(event):
        if event.throttle_time > 0:
            throttled[kind] += 1
    return callback


admin = AdminClient(common)
for future in admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)]).values():
    future.result(timeout=15)

delivered = []
# Small requests, so the time to the last acknowledgement shows the rate
# (a throttle follows the answer it comes with).
producer = Producer({**common, "linger.ms": 5, "batch.size": 65536, "throttle_cb": on_throttle("produce")})
payload = b"x" * 1024
started = time.monotonic()
for i in range(records):
    while True:
        try:
            producer.produce(topic, payload, key=str(i).encode(), on_delivery=lambda err, msg: delivered.append(err))
            break
        except BufferError:
            producer.poll(0.05)
    producer.poll(0)
producer.flush(60)
produce_seconds = time.monotonic() - started

consumer = Consumer({**common, "group.id": "throttle", "auto.offset.reset": "earliest",
                     "enable.auto.commit": False, "max.partition.fetch.bytes": 65536,
                     "throttle_cb": on_throttle("fetch")})
consumer.subscribe([topic])
keys = set()
started = time.monotonic()
deadline = started + 60
while len(keys) < records and time.monotonic() < deadline:
    message = consumer.poll(0.5)
    if message is not None and message.error() is None:
        keys.add(message.key())
consume_seconds = time.monotonic() - started
consumer.close()
print(json.dumps({
    "produce_seconds": produce_seconds,
    "consume_seconds": consume_seconds,
    "produce_throttled": throttled["produce"],
    "fetch_throttled": throttled["fetch"],
    "delivered": sum(1 for err in delivered if err is None),
    "failed": sum(1 for err in delivered if err is not None),
    "consumed": len(keys),
}))
