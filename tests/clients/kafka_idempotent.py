"""Produce numbered records with an idempotent producer (enable.idempotence,
acks=all) for a while, printing each one the broker acknowledged ("acked N"),
so a test can kill the broker meanwhile and check afterwards that every
acknowledged record is stored exactly once, in order, and nothing twice.

librdkafka keeps retrying the batches in flight when the broker dies, with
their original sequence numbers; the broker must store each only once.
usage: kafka_idempotent.py BOOTSTRAP USERNAME PASSWORD TOPIC SECONDS
"""
import sys
import time

from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

bootstrap, username, password, topic, seconds = sys.argv[1:5] + [float(sys.argv[5])]
common = {
    "bootstrap.servers": bootstrap,
    "security.protocol": "SASL_PLAINTEXT",
    "sasl.mechanisms": "SCRAM-SHA-256",
    "sasl.username": username,
    "sasl.password": password,
}
admin = AdminClient(common)
for future in admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)]).values():
    future.result(timeout=15)
print("ready", flush=True)


def fatal(err):
    print(f"client error {err}", file=sys.stderr, flush=True)


producer = Producer({
    **common,
    "acks": "all",
    "enable.idempotence": True,
    "linger.ms": 2,
    "message.timeout.ms": 20000,
    "reconnect.backoff.ms": 50,
    "reconnect.backoff.max.ms": 200,
    "error_cb": fatal,
})
failed = 0


def delivered(err, msg):
    global failed
    if err is None:
        print(f"acked {msg.value().decode()}", flush=True)
    else:
        failed += 1
        print(f"failed {msg.value().decode()}: {err}", file=sys.stderr, flush=True)


deadline = time.monotonic() + seconds
n = 0
while time.monotonic() < deadline:
    try:
        producer.produce(topic, value=str(n).encode(), partition=0, on_delivery=delivered)
        n += 1
    except BufferError:
        producer.poll(0.05)
        continue
    except KafkaException as e:
        print(f"produce failed: {e}", file=sys.stderr, flush=True)
        break
    producer.poll(0)
    if n % 200 == 0:
        time.sleep(0.001)
left = producer.flush(25)
print(f"done {n} failed {failed} unflushed {left}", flush=True)
