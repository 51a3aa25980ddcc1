"""Produce numbered records with acks=all for a while, printing each one the
broker acknowledged ("acked N"), so a test can kill the broker meanwhile and
check afterwards that every acknowledged record survived, exactly once.

Retries are off: a record is sent once, so a duplicate can only come from the
broker. usage: kafka_crash_producer.py BOOTSTRAP USERNAME PASSWORD TOPIC SECONDS [NAME=VALUE,...]
(the optional last argument: configs of the topic it creates)
"""
import sys
import time

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

bootstrap, username, password, topic, seconds = sys.argv[1:5] + [float(sys.argv[5])]
configs = dict(pair.split("=", 1) for pair in sys.argv[6].split(",")) if len(sys.argv) > 6 else {}
common = {
    "bootstrap.servers": bootstrap,
    "security.protocol": "SASL_PLAINTEXT",
    "sasl.mechanisms": "SCRAM-SHA-256",
    "sasl.username": username,
    "sasl.password": password,
}
admin = AdminClient(common)
for future in admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1, config=configs)]).values():
    future.result(timeout=15)
print("ready", flush=True)

producer = Producer({
    **common,
    "acks": "all",
    "enable.idempotence": False,
    "message.send.max.retries": 0,
    "linger.ms": 2,
    "message.timeout.ms": 5000,
    "reconnect.backoff.ms": 50,
    "reconnect.backoff.max.ms": 200,
})


def delivered(err, msg):
    if err is None:
        print(f"acked {msg.value().decode()}", flush=True)


deadline = time.monotonic() + seconds
n = 0
while time.monotonic() < deadline:
    try:
        producer.produce(topic, value=str(n).encode(), partition=0, on_delivery=delivered)
        n += 1
    except BufferError:
        producer.poll(0.05)
        continue
    producer.poll(0)
    if n % 200 == 0:
        time.sleep(0.001)
producer.flush(15)
print(f"done {n}", flush=True)
