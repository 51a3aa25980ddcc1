#!/usr/bin/env bash
# Tiered-storage replay benchmark: a full replay of one partition from the
# remote tier (moto's S3 server on loopback) beside the same replay from local
# disk, in ONE run. A benchmark, not a test: it prints figures and checks nothing.
#
# What it measures
#   one `omnibus dev` (release build) with OMNIBUS_OBJECT_STORE=s3://... on moto,
#   one standard-plan instance and two topics of one partition, segment.bytes 16 MiB:
#     local   no tiering: every segment on local disk
#     remote  remote.storage.enable=true, local.retention.ms=0: once copied, the
#             local segments are deleted, so a replay reads the bucket
#   both get BENCH_MB MiB of RECORD_SIZE-byte records (confluent-kafka, acks=all);
#   then ROUNDS times, alternating: a confluent-kafka consumer assigned to
#   partition 0 at offset 0 reads to the end -> MB/s of record payload; then kcat
#   does the same, printing nothing per record -> MB/s (record payload, wall clock
#   including its connect).
#   The broker's remote cache is REMOTE_CACHE_MB (default 64, below BENCH_MB), so
#   every remote replay fetches from the bucket; with DROP_CACHES=1 (root) the page
#   cache is dropped before each replay, so local replays read the disk too.
#
# How to run (about 3 minutes; needs python3 with the test venv, cargo, curl):
#   tests/bench/tiered_replay.sh
#   BENCH_MB=512 ROUNDS=5 DROP_CACHES=1 tests/bench/tiered_replay.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
repo="$(pwd)"

mb="${BENCH_MB:-256}"
size="${RECORD_SIZE:-1024}"
rounds="${ROUNDS:-3}"
cache_mb="${REMOTE_CACHE_MB:-64}"
drop_caches="${DROP_CACHES:-0}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/omnibus-target}"
python="${OMNIBUS_PYTHON:-/var/tmp/omnibus-cache/venv/bin/python}"
"$python" -c 'import confluent_kafka, moto.server' || { echo "needs confluent-kafka and moto[server] for $python (scripts/test installs them)" >&2; exit 1; }

work="$(mktemp -d /var/tmp/omnibus-tiered-bench.XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 600); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "nothing on port $1" >&2; return 1; }
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

cargo build --release -q -p omnibus
s3="$(free_port)"
"$python" -m moto.server -H 127.0.0.1 -p "$s3" >"$work/moto.log" 2>&1 &
pids+=("$!")
wait_port "$s3"
curl -sf -X PUT "http://127.0.0.1:$s3/bench" >/dev/null

http="$(free_port)" mqtt="$(free_port)" kafka="$(free_port)" grpc="$(free_port)"
printf '[broker]\nremote_cache_bytes = %d\n' "$((cache_mb << 20))" >"$work/omnibus.toml"
OMNIBUS_OBJECT_STORE="s3://bench/fleet" AWS_ENDPOINT_URL="http://127.0.0.1:$s3" AWS_REGION=us-east-1 \
  AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench \
  "$CARGO_TARGET_DIR/release/omnibus" dev --config "$work/omnibus.toml" --data-dir "$work/omnibus" \
  --http-listen "127.0.0.1:$http" --mqtt-listen "127.0.0.1:$mqtt" --kafka-listen "127.0.0.1:$kafka" \
  --grpc-listen "127.0.0.1:$grpc" >"$work/omnibus.log" 2>&1 &
pids+=("$!")
wait_port "$http"; wait_port "$kafka"
api="http://127.0.0.1:$http"
token="$(curl -sf "$api/v1/auth/signup" -H 'content-type: application/json' \
  -d '{"email":"bench@example.com","password":"correct horse battery","organization_name":"Bench"}' | json '["access_token"]')"
instance="$(curl -sf "$api/v1/instances" -H "authorization: Bearer $token" -H 'content-type: application/json' \
  -d '{"name":"bench","plan":"standard"}' | json '["id"]')"
credential="$(curl -sf "$api/v1/instances/$instance/credentials" -H "authorization: Bearer $token" \
  -H 'content-type: application/json' -d '{"name":"bench"}')"
user="$(echo "$credential" | json '["username"]')" pass="$(echo "$credential" | json '["password"]')"

cat >"$work/client.py" <<'PY'
"""produce TOPIC MB SIZE | replay TOPIC: the benchmark's Kafka client (confluent-kafka)."""
import sys, time
from confluent_kafka import Consumer, Producer, TopicPartition, OFFSET_BEGINNING
from confluent_kafka.admin import AdminClient, NewTopic

bootstrap, user, password, command, topic = sys.argv[1:6]
common = {"bootstrap.servers": bootstrap, "security.protocol": "SASL_PLAINTEXT",
          "sasl.mechanisms": "SCRAM-SHA-256", "sasl.username": user, "sasl.password": password}
if command == "produce":
    mb, size = int(sys.argv[6]), int(sys.argv[7])
    configs = {"segment.bytes": str(16 << 20)}
    if topic == "remote":
        configs.update({"remote.storage.enable": "true", "local.retention.ms": "0"})
    admin = AdminClient(common)
    for f in admin.create_topics([NewTopic(topic, 1, 1, config=configs)]).values():
        f.result(timeout=15)
    producer = Producer({**common, "acks": "all", "linger.ms": 5, "batch.size": 1 << 20,
                         "compression.type": "none", "queue.buffering.max.kbytes": 1 << 20})
    value = b"x" * size
    for _ in range((mb << 20) // size):
        while True:
            try:
                producer.produce(topic, value=value, partition=0)
                break
            except BufferError:
                producer.poll(0.01)
        producer.poll(0)
    assert producer.flush(120) == 0, "unacknowledged records"
else:
    consumer = Consumer({**common, "group.id": "bench", "enable.auto.commit": False,
                         "fetch.max.bytes": 50 << 20, "max.partition.fetch.bytes": 16 << 20})
    low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    started, count, payload = time.monotonic(), 0, 0
    while count < high - low:
        for message in consumer.consume(num_messages=10000, timeout=5):
            if message.error():
                raise SystemExit(f"consume: {message.error()}")
            count += 1
            payload += len(message.value())
    seconds = time.monotonic() - started
    print(f"{topic} {count} {payload} {seconds:.3f} {payload / seconds / 1e6:.1f}")
PY
client() { "$python" "$work/client.py" "127.0.0.1:$kafka" "$user" "$pass" "$@"; }
# The same replay with kcat (librdkafka in C, printing nothing per record): "TOPIC RECORDS BYTES SECONDS MB/s".
kcat_replay() {
  local start end
  start="$(date +%s.%N)"
  kcat -b "127.0.0.1:$kafka" -X security.protocol=SASL_PLAINTEXT -X sasl.mechanisms=SCRAM-SHA-256 \
    -X sasl.username="$user" -X sasl.password="$pass" -X fetch.max.bytes=52428800 \
    -X max.partition.fetch.bytes=16777216 -C -t "$1" -p 0 -o beginning -e -q -f '' 2>/dev/null
  end="$(date +%s.%N)"
  python3 -c "import sys; s=float(sys.argv[2])-float(sys.argv[1]); b=$mb*1048576; print(f'kcat-$1 - {b} {s:.3f} {b/s/1e6:.1f}')" "$start" "$end"
}

echo "producing $mb MiB to each topic"
client produce local "$mb" "$size"
client produce remote "$mb" "$size"
# Wait until the remote topic's closed segments are all in the bucket and gone from the disk.
for _ in $(seq 1 600); do
  lag="$(curl -sf "http://127.0.0.1:$grpc/metrics" | awk '/^omnibus_tier_upload_lag_bytes\{.*topic="remote"/ {print $2}')"
  remote_id="$(json "['namespaces']['$instance']['remote']['id']" <"$work/omnibus/broker/catalog.json")"
  local_files="$(ls "$work/omnibus/broker/logs/$instance/$remote_id-0/" | grep -c '\.log$' || true)"
  [ "$lag" = "0" ] && [ "$local_files" = "1" ] && break
  sleep 0.5
done
echo "remote topic: upload lag $lag bytes, $local_files local segment file(s), bucket: $(curl -sf "http://127.0.0.1:$s3/bench?list-type=2" | grep -o '<Key>[^<]*\.log</Key>' | wc -l) segments"

rev="$(git -C "$repo" log -1 --format=%h -- . ':!docs' ':!tests/bench')"
git -C "$repo" diff --quiet HEAD -- . ':!docs' ':!tests/bench' || rev="$rev+uncommitted"
echo "== omnibus $rev, $mb MiB of $size-byte records per topic, remote cache $cache_mb MiB, drop caches: $drop_caches"
for round in $(seq 1 "$rounds"); do
  for topic in local remote; do
    [ "$drop_caches" = 1 ] && sync && echo 3 >/proc/sys/vm/drop_caches
    client replay "$topic" | tee -a "$work/replays"
    [ "$drop_caches" = 1 ] && sync && echo 3 >/proc/sys/vm/drop_caches
    kcat_replay "$topic" | tee -a "$work/replays"
  done
done
python3 - "$work/replays" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
kinds = ("local", "remote", "kcat-local", "kcat-remote")
speed = {t: [float(r[4]) for r in rows if r[0] == t] for t in kinds}
med = {t: statistics.median(v) for t, v in speed.items()}
print("| replay | MB/s per round | median MB/s |")
print("|---|---|---|")
for t in kinds:
    print(f"| {t} | {', '.join(f'{v:.1f}' for v in speed[t])} | {med[t]:.1f} |")
print(f"\nremote / local (medians): confluent-kafka {med['remote'] / med['local']:.2f}, kcat {med['kcat-remote'] / med['kcat-local']:.2f}")
PY
