"""Subscribe, publish and receive at QoS 1 with paho-mqtt 2 (MQTT 3.1.1).

usage: paho_roundtrip.py HOST PORT USERNAME PASSWORD TOPIC
Prints "roundtrip ok" and exits 0 when the message comes back intact.
"""
import sys
import threading

import paho.mqtt.client as mqtt

host, port, username, password, topic = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
payload = b"hello from paho \x00\xff"
subscribed = threading.Event()
received = []
got = threading.Event()


def on_connect(client, userdata, flags, reason_code, properties):
    if reason_code != 0:
        print(f"connect refused: {reason_code}")
        sys.exit(1)
    client.subscribe(topic, qos=1)


def on_subscribe(client, userdata, mid, reason_codes, properties):
    if any(rc.is_failure for rc in reason_codes):
        print(f"subscribe refused: {reason_codes}")
        sys.exit(1)
    subscribed.set()


def on_message(client, userdata, message):
    received.append(message)
    got.set()


client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="paho-e2e", protocol=mqtt.MQTTv311)
client.username_pw_set(username, password)
client.on_connect = on_connect
client.on_subscribe = on_subscribe
client.on_message = on_message
client.connect(host, port, keepalive=30)
client.loop_start()
if not subscribed.wait(10):
    print("no SUBACK")
    sys.exit(1)
info = client.publish(topic, payload, qos=1)
info.wait_for_publish(10)
if not info.is_published():
    print("no PUBACK")
    sys.exit(1)
if not got.wait(10):
    print("message not delivered")
    sys.exit(1)
message = received[0]
client.disconnect()
client.loop_stop()
if message.payload != payload or message.qos != 1 or message.topic != topic:
    print(f"wrong message: {message.topic} {message.qos} {message.payload!r}")
    sys.exit(1)
print("roundtrip ok")
