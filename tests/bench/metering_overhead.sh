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
# ratio.
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
  [ -d "$src" ] || git worktree add --detach "$src" "$baseline" >/dev/null
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
  for name in without with; do
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
python3 - "$results" "$(git rev-parse --short HEAD)" "$baseline" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(f"commit {sys.argv[2]} against {sys.argv[3]}")
print("| QoS | with metering: delivered msg/s per round | without | median with / without |")
print("| --- | --- | --- | --- |")
for qos in (0, 1):
    on = [r["delivered_per_s"] for r in runs if r["qos"] == qos and r["metering"] == "with"]
    off = [r["delivered_per_s"] for r in runs if r["qos"] == qos and r["metering"] == "without"]
    ratio = statistics.median(on) / statistics.median(off)
    print(f"| {qos} | {', '.join(f'{x:,.0f}' for x in on)} | {', '.join(f'{x:,.0f}' for x in off)} | {ratio:.3f} |")
PY
