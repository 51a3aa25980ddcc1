"""A metered Kafka workload: a producer appends fixed-size records to
partition 0 of TOPIC for SECONDS, each record its own batch (so every stored
batch is the same size), while a consumer reads the partition from the start;
once the producer is done the consumer reads on to the end. Both ride out
broker restarts (the test kills the broker meanwhile). Prints "produced N"
(acknowledged) and "consumed M" (records delivered to the consumer,
duplicates included) and exits.

usage: kafka_metered.py BOOTSTRAP USERNAME PASSWORD TOPIC SECONDS
"""
import sys
import threading
import time

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

bootstrap, username, password, topic, seconds = sys.argv[1:5] + [float(sys.argv[5])]
common = {
    "bootstrap.servers": bootstrap,
    "security.protocol": "SASL_PLAINTEXT",
    "sasl.mechanisms": "PLAIN",
    "sasl.username": username,
    "sasl.password": password,
    "reconnect.backoff.ms": 50,
    "reconnect.backoff.max.ms": 500,
}
KEY = b"meter-01"
VALUE = b"v" * 200

acked = 0
producing = True


def delivered(err, _msg):
    global acked
    if err is None:
        acked += 1


def produce():
    global producing
    producer = Producer({
        **common,
        "acks": "all",
        "enable.idempotence": False,
        "compression.type": "none",
        "linger.ms": 0,
        "batch.num.messages": 1,
        "message.timeout.ms": 60000,
    })
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            producer.produce(topic, key=KEY, value=VALUE, partition=0, on_delivery=delivered)
        except BufferError:
            producer.poll(0.05)
        producer.poll(0)
        time.sleep(0.002)
    left = producer.flush(90)
    if left:
        print(f"unflushed {left}", flush=True)
    producing = False


thread = threading.Thread(target=produce)
thread.start()
consumer = Consumer({
    **common,
    "group.id": "metered-reader",
    "enable.auto.commit": False,
    "enable.partition.eof": True,
    "fetch.wait.max.ms": 100,
})
consumer.assign([TopicPartition(topic, 0, 0)])
consumed = 0
at_end_since = None
while True:
    message = consumer.poll(0.2)
    if message is not None and message.error() is None:
        consumed += 1
        at_end_since = None
    elif message is not None and message.error().code() == KafkaError._PARTITION_EOF:
        at_end_since = at_end_since or time.monotonic()
    if not producing and at_end_since is not None and time.monotonic() - at_end_since > 2:
        break
thread.join()
consumer.close()
print(f"produced {acked}", flush=True)
print(f"consumed {consumed}", flush=True)
