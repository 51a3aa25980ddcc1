"""A persistent MQTT session and QoS 2 through a broker crash, with paho-mqtt 2
(MQTT 3.1.1, CleanSession = 0 for both clients).

usage: mqtt_persistent.py HOST PORT USERNAME PASSWORD TOPIC COUNT

A subscriber (client id e2e-durable-sub) subscribes to TOPIC at QoS 2 once,
then only reconnects. A publisher (e2e-durable-pub) publishes the numbers
0..COUNT-1 at QoS 2, one at a time, and prints "acked N" when the handshake of
N is complete. Both reconnect on their own whenever the broker goes away; the
test kills and restarts the broker meanwhile. At the end the script waits until
the subscriber has every acknowledged number and prints one line:
"done acked A received R duplicates D missing M"
(a duplicate: a number delivered more than once; missing: acknowledged, never
delivered).
"""
import sys
import threading
import time

import paho.mqtt.client as mqtt

host, port, username, password, topic, count = sys.argv[1], int(sys.argv[2]), *sys.argv[3:6], int(sys.argv[6])
lock = threading.Lock()
received = {}


def client(client_id):
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311, clean_session=False)
    c.username_pw_set(username, password)
    c.reconnect_delay_set(min_delay=0.1, max_delay=0.5)
    return c


subscribed = threading.Event()
subscriber = client("e2e-durable-sub")


def on_sub_connect(c, userdata, flags, reason_code, properties):
    if reason_code != 0:
        print(f"subscriber refused: {reason_code}", flush=True)
    elif flags.session_present:
        subscribed.set()
    else:
        c.subscribe(topic, qos=2)


def on_subscribe(c, userdata, mid, reason_codes, properties):
    if any(rc.is_failure for rc in reason_codes):
        print(f"subscribe refused: {reason_codes}", flush=True)
        sys.exit(1)
    subscribed.set()


def on_message(c, userdata, message):
    n = int(message.payload)
    with lock:
        received[n] = received.get(n, 0) + 1


subscriber.on_connect = on_sub_connect
subscriber.on_subscribe = on_subscribe
subscriber.on_message = on_message
subscriber.connect(host, port, keepalive=5)
subscriber.loop_start()
if not subscribed.wait(10):
    print("no SUBACK", flush=True)
    sys.exit(1)

published = set()
publisher = client("e2e-durable-pub")
publisher.on_publish = lambda c, userdata, mid, reason_code, properties: published.add(mid)
publisher.connect(host, port, keepalive=5)
publisher.loop_start()

acked = []
for n in range(count):
    # paho keeps a QoS 2 message it could not send and sends it once reconnected.
    info = publisher.publish(topic, str(n).encode(), qos=2)
    deadline = time.time() + 60
    while info.mid not in published:
        if time.time() > deadline:
            print(f"no PUBCOMP for {n}", flush=True)
            sys.exit(1)
        time.sleep(0.001)
    acked.append(n)
    print(f"acked {n}", flush=True)

deadline = time.time() + 30
while time.time() < deadline:
    with lock:
        if all(n in received for n in acked):
            break
    time.sleep(0.05)
time.sleep(1)  # anything delivered twice arrives now
with lock:
    duplicates = sum(1 for times in received.values() if times > 1)
    missing = sum(1 for n in acked if n not in received)
    print(f"done acked {len(acked)} received {len(received)} duplicates {duplicates} missing {missing}", flush=True)
publisher.loop_stop()
subscriber.loop_stop()
