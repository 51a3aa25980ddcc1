#!/usr/bin/env bash
# What metering costs on the MQTT hot path: this build against the commit
# before metering existed, in one run:
#
#   tests/bench/metering_overhead.sh
#
#   BASELINE=57aaf7c  the build without metering (built once, kept in
#                     /var/tmp/omnibus-cache/omnibus-BASELINE)
#   ROUNDS=3          alternations of the two builds
#   DURATION=5        seconds of each fan-in run
#   KEEP=1            keep the work directory
#
# Metering cannot be switched off (a broker that does not meter is not one we
# ship), so "off" is the same code without it: the commit before metering,
# which has the quota checks too. Each round starts `omnibus dev` (release)
# from each build in turn, creates one `business` instance with its default
# mapping deleted (pure MQTT), runs mqtt-load's QoS 0 and QoS 1 fan-in
# (4 publishers -> 1 wildcard subscriber, 64-byte payloads) and stops it;
# prints the delivered messages/s of each run and the median with / without
# ratio. Then the Kafka path: each round and build, Apache Kafka's
# kafka-producer-perf-test (kafka-tools, one JVM on the same cores) sends
# KAFKA_RECORDS (200,000) records of 1 KiB, acks=all, unthrottled, to a
# 3-partition topic of a `standard` instance over SCRAM-SHA-256; prints
# records/s and the median ratio. Needs java 17+ and the jars scripts/test
# fetches into /var/tmp/omnibus-cache/kafka-java-lib (OMNIBUS_KAFKA_JAVA_LIB).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../.."

rounds="${ROUNDS:-3}"
duration="${DURATION:-5}"
baseline="${BASELINE:-57aaf7c}"
cache=/var/tmp/omnibus-cache
without="$cache/omnibus-$baseline"
if [ ! -x "$without" ]; then
  src="$cache/baseline-src-$baseline"
  if [ ! -d "$src" ]; then
    mkdir -p "$src"
    git archive "$baseline" | tar -x -C "$src"
  fi
  (cd "$src" && CARGO_TARGET_DIR="$cache/baseline-target" cargo build --release -q -p omnibus --bin omnibus)
  cp "$cache/baseline-target/release/omnibus" "$without"
fi
BENCH_START=manual
# shellcheck source=two_instances.sh
. "$here/two_instances.sh"
declare -A build=([without]="$without" [with]="$bin/omnibus")

results="$work/results.jsonl"
: >"$results"
for round in $(seq 1 "$rounds"); do
  # Alternate which build goes first, so a drift of the machine favours neither.
  order="without with"; [ $((round % 2)) = 0 ] && order="with without"
  for name in $order; do
    start_omnibus "${build[$name]}"
    make_instance "$name" business
    for qos in 0 1; do
      MQTT_LOAD_PASSWORD="${password[$name]}" "$bin/mqtt-load" fan-in --port "$mqtt" --username "${user[$name]}" \
        --qos "$qos" --duration "$duration" --broker-pid "$broker" --label "$name" \
        | python3 -c "import json,sys; d=json.loads(sys.stdin.read()); d['round']=$round; d['metering']='$name'; d['qos']=$qos; print(json.dumps(d))" \
        >>"$results"
    done
    stop_omnibus
  done
done
lib="${OMNIBUS_KAFKA_JAVA_LIB:-$cache/kafka-java-lib}"
records="${KAFKA_RECORDS:-200000}"
for round in $(seq 1 "$rounds"); do
  # Alternate which build goes first, so a drift of the machine favours neither.
  order="without with"; [ $((round % 2)) = 0 ] && order="with without"
  for name in $order; do
    start_omnibus "${build[$name]}"
    instance="$(call "$token" POST /v1/instances '{"name":"kafka","plan":"standard"}' | json '["id"]')"
    call "$token" POST "/v1/instances/$instance/topics" '{"name":"bench","partitions":3}' >/dev/null
    credential="$(call "$token" POST "/v1/instances/$instance/credentials" '{"name":"bench"}')"
    {
      echo "security.protocol=SASL_PLAINTEXT"
      echo "sasl.mechanism=SCRAM-SHA-256"
      echo "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required" \
        "username=\"$(echo "$credential" | json '["username"]')\"" \
        "password=\"$(echo "$credential" | json '["password"]')\";"
    } >"$work/client.properties"
    java -Xms1g -Xmx1g -cp "$lib/*" org.apache.kafka.tools.ProducerPerformance \
      --bootstrap-server "127.0.0.1:$kafka" --topic bench --record-size 1024 --num-records "$records" \
      --throughput -1 --command-property acks=all --command-config "$work/client.properties" 2>/dev/null \
      | tail -n 1 \
      | python3 -c "import json,re,sys; line=sys.stdin.read(); rate=float(re.search(r'([0-9.]+) records/sec', line).group(1)); print(json.dumps({'round': $round, 'metering': '$name', 'kafka_records_per_s': rate}))" \
      >>"$results"
    stop_omnibus
  done
done
python3 - "$results" "$(git rev-parse --short HEAD)" "$baseline" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(f"commit {sys.argv[2]} against {sys.argv[3]}")
print("| QoS | with metering: delivered msg/s per round | without | median with / without |")
print("| --- | --- | --- | --- |")
for qos in (0, 1):
    on = [r["delivered_per_s"] for r in runs if r.get("qos") == qos and r["metering"] == "with"]
    off = [r["delivered_per_s"] for r in runs if r.get("qos") == qos and r["metering"] == "without"]
    ratio = statistics.median(on) / statistics.median(off)
    print(f"| {qos} | {', '.join(f'{x:,.0f}' for x in on)} | {', '.join(f'{x:,.0f}' for x in off)} | {ratio:.3f} |")
on = [r["kafka_records_per_s"] for r in runs if r["metering"] == "with" and "kafka_records_per_s" in r]
off = [r["kafka_records_per_s"] for r in runs if r["metering"] == "without" and "kafka_records_per_s" in r]
print()
print("| Kafka produce, 1 KiB, acks=all | with metering: records/s per round | without | median with / without |")
print("| --- | --- | --- | --- |")
ratio = statistics.median(on) / statistics.median(off)
print(f"| kafka-producer-perf-test | {', '.join(f'{x:,.0f}' for x in on)} | {', '.join(f'{x:,.0f}' for x in off)} | {ratio:.3f} |")
PY
