"""Two tenants over one transport with paho-mqtt 2: each gets its own messages only.

usage: paho_transport.py HOST PORT TRANSPORT CAFILE PROTOCOL TOPIC ALICE_USER ALICE_PASS BOB_USER BOB_PASS
  TRANSPORT: tcp or websockets (path /mqtt); CAFILE: a PEM CA file for TLS, or - for none;
  PROTOCOL: 3.1 or 3.1.1.
Alice subscribes to TOPIC/#, Bob (another instance) to #. Alice publishes a small
message at QoS 0 and a 200 kB one at QoS 1 (many TLS records, and more than one
read on every transport) and gets both back intact; Bob gets neither. Bob
publishes on Alice's topic name and gets it back; Alice does not.
Prints "transport ok" and exits 0 when all of that holds.
"""
import os
import queue
import sys
import threading
import time

import paho.mqtt.client as mqtt

host, port, transport, cafile, protocol, topic = sys.argv[1:7]
alice_user, alice_pass, bob_user, bob_pass = sys.argv[7:11]
protocol = {"3.1": mqtt.MQTTv31, "3.1.1": mqtt.MQTTv311}[protocol]
WAIT = 10


def fail(why):
    print(f"FAIL ({transport}, cafile={cafile}): {why}")
    sys.exit(1)


def client(name, username, password, subscription):
    received = queue.Queue()
    ready = threading.Event()
    c = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=f"{name}-{os.getpid()}",
        protocol=protocol,
        transport=transport,
    )
    if transport == "websockets":
        c.ws_set_options(path="/mqtt")
    if cafile != "-":
        c.tls_set(ca_certs=cafile)
    c.username_pw_set(username, password)

    def on_connect(client, userdata, flags, reason_code, properties):
        if reason_code != 0:
            fail(f"{name}: connect refused: {reason_code}")
        client.subscribe(subscription, qos=1)

    def on_subscribe(client, userdata, mid, reason_codes, properties):
        if any(rc.is_failure for rc in reason_codes):
            fail(f"{name}: subscribe refused: {reason_codes}")
        ready.set()

    c.on_connect = on_connect
    c.on_subscribe = on_subscribe
    c.on_message = lambda client, userdata, message: received.put(message)
    c.connect(host, int(port), keepalive=30)
    c.loop_start()
    if not ready.wait(WAIT):
        fail(f"{name}: no CONNACK and SUBACK within {WAIT} s")
    return c, received


def publish(c, name, topic, payload, qos):
    info = c.publish(topic, payload, qos=qos)
    info.wait_for_publish(WAIT)
    if not info.is_published():
        fail(f"{name}: publish to {topic} not sent (QoS {qos})")


def expect(received, name, topic, payload):
    try:
        message = received.get(timeout=WAIT)
    except queue.Empty:
        fail(f"{name}: nothing arrived on {topic}")
    if message.topic != topic or message.payload != payload:
        fail(f"{name}: wrong message {message.topic} ({len(message.payload)} bytes), wanted {topic}")


def expect_nothing(received, name):
    time.sleep(0.5)
    if not received.empty():
        message = received.get()
        fail(f"{name} saw another instance's message on {message.topic}")


alice, alice_got = client("alice", alice_user, alice_pass, f"{topic}/#")
bob, bob_got = client("bob", bob_user, bob_pass, "#")

small, big = b"hello \x00\xff", os.urandom(200_000)
publish(alice, "alice", f"{topic}/small", small, 0)
expect(alice_got, "alice", f"{topic}/small", small)
publish(alice, "alice", f"{topic}/big", big, 1)
expect(alice_got, "alice", f"{topic}/big", big)
expect_nothing(bob_got, "bob")

publish(bob, "bob", f"{topic}/small", b"from bob", 1)
expect(bob_got, "bob", f"{topic}/small", b"from bob")
expect_nothing(alice_got, "alice")

for c in (alice, bob):
    c.disconnect()
    c.loop_stop()
print("transport ok")
