"""A message-rate quota as paho-mqtt 2 meets it: a QoS 1 publisher sends
COUNT messages as fast as it may while one subscriber of the same instance
receives them. Past the instance's messages_in_per_second the broker reads
the publisher more slowly (back pressure); every message still arrives once.

usage: paho_rate.py HOST PORT USERNAME PASSWORD TOPIC COUNT VERSION(3|5)
Prints one JSON line: seconds until every PUBACK and until every message was
received, messages acknowledged and received, and whether the connection was
ever closed.
"""
import json
import sys
import threading
import time

import paho.mqtt.client as mqtt

host, port, username, password, topic = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
count, version = int(sys.argv[6]), sys.argv[7]
protocol = mqtt.MQTTv5 if version == "5" else mqtt.MQTTv311
received = set()
everything = threading.Event()
subscribed = threading.Event()
acked = []
disconnects = []


def client(name):
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=name, protocol=protocol)
    c.username_pw_set(username, password)
    c.max_inflight_messages_set(20)
    c.max_queued_messages_set(0)
    c.on_disconnect = lambda c, u, flags, reason, props: disconnects.append(str(reason))
    return c


def on_message(c, userdata, message):
    received.add(message.payload)
    if len(received) == count:
        everything.set()


subscriber = client("rate-sub")
subscriber.on_message = on_message
subscriber.on_subscribe = lambda c, u, mid, codes, props: subscribed.set()
subscriber.connect(host, port, keepalive=5)
subscriber.loop_start()
subscriber.subscribe(topic, qos=1)
subscribed.wait(10)

publisher = client("rate-pub")
publisher.on_publish = lambda c, u, mid, reason, props: acked.append(mid)
publisher.connect(host, port, keepalive=5)
publisher.loop_start()
started = time.monotonic()
for i in range(count):
    publisher.publish(topic, f"m{i}".encode(), qos=1)
deadline = started + 60
while len(acked) < count and time.monotonic() < deadline:
    time.sleep(0.01)
seconds = time.monotonic() - started
everything.wait(max(0.1, deadline - time.monotonic()))
received_seconds = time.monotonic() - started
closed_by_broker = list(disconnects)
publisher.disconnect()
subscriber.disconnect()
print(json.dumps({"seconds": seconds, "received_seconds": received_seconds, "acked": len(acked),
                  "received": len(received), "disconnects": closed_by_broker}))
