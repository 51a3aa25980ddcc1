"""A consumer group with confluent-kafka (librdkafka 2.x), in phases the
end-to-end test runs around a broker restart.

usage: kafka_group.py BOOTSTRAP USERNAME PASSWORD PHASE TOPIC GROUP
  rebalance: create TOPIC (6 partitions), produce 60 records; three consumers
             subscribe in GROUP and share the partitions; one leaves and the
             other two take all six; 12 more records are consumed; offsets are
             committed (12 per partition).
  resume:    (after a restart) 6 new records; a new consumer in GROUP reads
             exactly those; ListGroups/DescribeGroups show GROUP.
  static:    two static members (group.instance.id) of GROUP-static share
             TOPIC; one restarts under the same instance id and gets its
             partitions back with no rebalance of the other; DescribeGroups
             shows the instance ids; a second process claiming a live
             member's instance id fences it.
  isolated:  (another instance's credential) GROUP is not listed and has no
             committed offsets here.
Prints "kafka group PHASE ok" and exits 0 when everything is as expected.
"""
import sys
import threading
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

bootstrap, username, password, phase, topic, group = sys.argv[1:7]
common = {
    "bootstrap.servers": bootstrap,
    "security.protocol": "SASL_PLAINTEXT",
    "sasl.mechanisms": "SCRAM-SHA-256",
    "sasl.username": username,
    "sasl.password": password,
}
consumer_config = {
    **common,
    "group.id": group,
    "enable.auto.commit": False,
    "auto.offset.reset": "earliest",
    "session.timeout.ms": 6000,
    "heartbeat.interval.ms": 300,
}
PARTITIONS = 6


def fail(message):
    print(message, flush=True)
    sys.exit(1)


def wait_until(condition, what, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.1)
    fail(f"timed out waiting for {what}")


def produce(prefix, per_partition):
    producer = Producer({**common, "acks": "all", "linger.ms": 5})
    errors = []
    for p in range(PARTITIONS):
        for i in range(per_partition):
            producer.produce(topic, value=f"{prefix}-{p}-{i}".encode(), partition=p,
                             on_delivery=lambda err, msg: err and errors.append(err))
    if producer.flush(20) != 0 or errors:
        fail(f"produce failed: {errors}")


class Worker(threading.Thread):
    """One group member: polls, records what it sees, commits after each record."""

    def __init__(self, name, seen, **config):
        super().__init__(daemon=True)
        self.fatal = None
        self.consumer = Consumer({**consumer_config, "client.id": name, "error_cb": self.on_error, **config})
        self.name, self.seen, self.assigned = name, seen, set()
        self.assignments = 0
        self.stopping = threading.Event()
        self.error = None

    def run(self):
        def on_assign(consumer, partitions):
            self.assigned = {p.partition for p in partitions}
            self.assignments += 1

        def on_revoke(consumer, partitions):
            self.assigned = set()

        try:
            self.consumer.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
            uncommitted = False
            while True:
                message = self.consumer.poll(0.1)
                if message is not None and message.error():
                    self.on_error(message.error())
                if self.fatal is not None:
                    return
                if message is not None and not message.error():
                    self.seen.add(message.value().decode())
                    uncommitted = True
                if uncommitted:
                    try:
                        self.consumer.commit(asynchronous=False)
                        uncommitted = False
                    except KafkaException:
                        pass  # e.g. REBALANCE_IN_PROGRESS: commit again after the next poll
                if self.stopping.is_set() and not uncommitted:
                    break
            self.consumer.close()  # LeaveGroup
        except Exception as error:  # reported by the main thread
            self.error = error

    def on_error(self, error):
        if error.fatal() or error.code() == KafkaError._FATAL:
            self.fatal = error

    def stop(self):
        self.stopping.set()
        self.join(15)
        if self.is_alive() or self.error:
            fail(f"{self.name} did not stop cleanly: {self.error}")


def committed_offsets():
    checker = Consumer(consumer_config)
    offsets = checker.committed([TopicPartition(topic, p) for p in range(PARTITIONS)], timeout=10)
    checker.close()
    return {tp.partition: tp.offset for tp in offsets}


def balanced(workers):
    sets = [w.assigned for w in workers]
    return all(sets) and sum(len(s) for s in sets) == PARTITIONS and set().union(*sets) == set(range(PARTITIONS))


def rebalance():
    admin = AdminClient(common)
    admin.create_topics([NewTopic(topic, num_partitions=PARTITIONS, replication_factor=1)])[topic].result(timeout=15)
    produce("first", 10)
    seen = set()
    workers = [Worker(f"worker-{i}", seen) for i in range(3)]
    for worker in workers:
        worker.start()
    wait_until(lambda: balanced(workers), "three members to share six partitions")
    wait_until(lambda: len(seen) == 60, "the first 60 records")
    workers[2].stop()
    wait_until(lambda: balanced(workers[:2]), "two members to take all six partitions")
    produce("second", 2)
    wait_until(lambda: len(seen) == 72, "12 more records after the rebalance")
    for worker in workers[:2]:
        worker.stop()
    offsets = committed_offsets()
    if offsets != {p: 12 for p in range(PARTITIONS)}:
        fail(f"committed offsets {offsets}")


def resume():
    produce("after", 1)
    consumer = Consumer({**consumer_config, "client.id": "resumer"})
    consumer.subscribe([topic])
    got = []
    deadline = time.time() + 20
    while time.time() < deadline and len(got) < PARTITIONS:
        message = consumer.poll(0.2)
        if message is not None and not message.error():
            got.append(message.value().decode())
    extra_until = time.time() + 1
    while time.time() < extra_until:
        message = consumer.poll(0.2)
        if message is not None and not message.error():
            got.append(message.value().decode())
    if sorted(got) != sorted(f"after-{p}-0" for p in range(PARTITIONS)):
        fail(f"the resumed consumer read {got}")
    admin = AdminClient(common)
    listed = admin.list_consumer_groups().result(timeout=15)
    if group not in {g.group_id for g in listed.valid}:
        fail(f"{group} is not listed: {listed.valid}")
    described = admin.describe_consumer_groups([group])[group].result(timeout=15)
    if len(described.members) != 1 or len(described.members[0].assignment.topic_partitions) != PARTITIONS:
        fail(f"described {described}")
    consumer.commit(asynchronous=False)
    consumer.close()
    offsets = committed_offsets()
    if offsets != {p: 13 for p in range(PARTITIONS)}:
        fail(f"committed offsets after resuming {offsets}")


def static():
    static_group = f"{group}-static"
    seen = set()

    def member(name, instance_id):
        worker = Worker(name, seen, **{"group.id": static_group, "group.instance.id": instance_id})
        worker.start()
        return worker

    a, b = member("static-a", "instance-a"), member("static-b", "instance-b")
    wait_until(lambda: balanced([a, b]), "two static members to share six partitions")
    wait_until(lambda: len(seen) == 78, "every record so far")
    a_partitions, b_partitions, a_assignments = set(a.assigned), set(b.assigned), a.assignments
    # A static member's close sends no LeaveGroup: the coordinator keeps its place.
    b.stop()
    b2 = member("static-b-restarted", "instance-b")
    wait_until(lambda: b2.assigned == b_partitions, "the restarted member to get its partitions back")
    time.sleep(2)  # several heartbeat intervals: a rebalance would have reached a by now
    if a.assignments != a_assignments or a.assigned != a_partitions:
        fail(f"the other static member was rebalanced: {a.assignments} assignments, {a.assigned}")
    admin = AdminClient(common)
    described = admin.describe_consumer_groups([static_group])[static_group].result(timeout=15)
    instances = sorted(m.group_instance_id for m in described.members)
    if instances != ["instance-a", "instance-b"] or described.state.name != "STABLE":
        fail(f"described {described}")
    # A second live process with b's instance id fences the one running.
    b3 = member("static-b-duplicate", "instance-b")
    wait_until(lambda: b2.fatal is not None, "the fenced member to get a fatal error")
    if "fenced" not in b2.fatal.str().lower():
        fail(f"the fenced member got {b2.fatal}")
    wait_until(lambda: b3.assigned == b_partitions, "the newest member to hold the instance's partitions")
    for worker in (a, b3):
        worker.stop()


def isolated():
    admin = AdminClient(common)
    listed = admin.list_consumer_groups().result(timeout=15)
    if group in {g.group_id for g in listed.valid}:
        fail(f"another instance's group is listed: {listed.valid}")
    offsets = committed_offsets()
    if any(offset >= 0 for offset in offsets.values()):
        fail(f"another instance's offsets are visible: {offsets}")


{"rebalance": rebalance, "resume": resume, "static": static, "isolated": isolated}[phase]()
print(f"kafka group {phase} ok", flush=True)
