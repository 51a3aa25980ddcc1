"""MQTT 5.0 with paho-mqtt 2: what a 5.0 client checks of a broker.

usage: paho_v5.py HOST PORT USERNAME PASSWORD PREFIX
Checks, under topics starting with PREFIX:
- request/response: response topic, correlation data, user properties and
  content type reach the subscriber, with its subscription identifier;
- no local: a client's own publish does not come back to it;
- a persistent session (Session Expiry Interval 60) resumes with session
  present and gets what was published while it was away;
- a publish nobody receives is acknowledged with reason code 0x10.
Prints "paho v5 ok" and exits 0 when all hold.
"""
import sys
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

host, port, username, password, prefix = sys.argv[1], int(sys.argv[2]), *sys.argv[3:6]


def fail(message):
    print(message, flush=True)
    sys.exit(1)


class Client:
    def __init__(self, client_id, expiry=None, clean=True):
        self.messages, self.connected, self.subscribed = [], threading.Event(), threading.Event()
        self.session_present, self.acks = None, {}
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        self.c.username_pw_set(username, password)
        self.c.on_connect = self.on_connect
        self.c.on_message = lambda c, u, m: self.messages.append(m)
        self.c.on_subscribe = lambda c, u, mid, codes, props: self.subscribed.set()
        self.c.on_publish = lambda c, u, mid, reason, props: self.acks.__setitem__(mid, reason)
        properties = Properties(PacketTypes.CONNECT)
        if expiry is not None:
            properties.SessionExpiryInterval = expiry
        self.c.connect(host, port, keepalive=30, clean_start=clean, properties=properties)
        self.c.loop_start()
        if not self.connected.wait(10):
            fail(f"{client_id}: no CONNACK")

    def on_connect(self, c, userdata, flags, reason_code, properties):
        if reason_code != 0:
            fail(f"connect refused: {reason_code}")
        self.session_present = flags.session_present
        self.connected.set()

    def subscribe(self, topic, qos=1, no_local=False, identifier=None):
        properties = None
        if identifier is not None:
            properties = Properties(PacketTypes.SUBSCRIBE)
            properties.SubscriptionIdentifier = identifier
        self.subscribed.clear()
        self.c.subscribe(topic, options=SubscribeOptions(qos=qos, noLocal=no_local), properties=properties)
        if not self.subscribed.wait(10):
            fail(f"no SUBACK for {topic}")

    def publish(self, topic, payload, properties=None, qos=1):
        info = self.c.publish(topic, payload, qos=qos, properties=properties)
        info.wait_for_publish(10)
        return self.acks.get(info.mid)

    def wait_for(self, count, timeout=10):
        deadline = time.time() + timeout
        while len(self.messages) < count and time.time() < deadline:
            time.sleep(0.02)
        return self.messages

    def stop(self):
        self.c.disconnect()
        self.c.loop_stop()


# Request/response with properties and a subscription identifier.
responder = Client(f"{prefix}-responder")
responder.subscribe(f"{prefix}/requests/#", identifier=7)
requester = Client(f"{prefix}-requester")
request = Properties(PacketTypes.PUBLISH)
request.ResponseTopic = f"{prefix}/replies/requester"
request.CorrelationData = b"req-1"
request.UserProperty = [("trace", "abc")]
request.ContentType = "text/plain"
requester.publish(f"{prefix}/requests/time", b"what time is it?", request)
got = responder.wait_for(1)
if not got:
    fail("the request was not delivered")
p = got[0].properties
if (p.ResponseTopic, p.CorrelationData, p.UserProperty, p.ContentType) != (
    f"{prefix}/replies/requester", b"req-1", [("trace", "abc")], "text/plain"
):
    fail(f"properties did not travel: {p}")
if getattr(p, "SubscriptionIdentifier", None) != [7]:
    fail(f"subscription identifier: {getattr(p, 'SubscriptionIdentifier', None)}")

# No local.
responder.subscribe(f"{prefix}/chat", no_local=True)
responder.publish(f"{prefix}/chat", b"mine")
requester.publish(f"{prefix}/chat", b"theirs")
time.sleep(0.5)
chat = [m.payload for m in responder.messages if m.topic == f"{prefix}/chat"]
if chat != [b"theirs"]:
    fail(f"no local: got {chat}")

# A publish nobody receives: reason code 0x10 No matching subscribers.
reason = requester.publish(f"{prefix}/void", b"x")
if reason is None or reason.value != 0x10:
    fail(f"a publish nobody receives: {reason}")

# A persistent session resumes and gets what it missed.
durable = Client(f"{prefix}-durable", expiry=60, clean=True)
durable.subscribe(f"{prefix}/news", qos=1)
durable.stop()
requester.publish(f"{prefix}/news", b"while away")
again = Client(f"{prefix}-durable", expiry=60, clean=False)
if not again.session_present:
    fail("the session was not resumed")
missed = again.wait_for(1)
if [m.payload for m in missed] != [b"while away"]:
    fail(f"missed messages: {[m.payload for m in missed]}")

for client in (responder, requester, again):
    client.stop()
print("paho v5 ok", flush=True)
