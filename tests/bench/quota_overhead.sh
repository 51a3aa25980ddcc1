#!/usr/bin/env bash
# What the rate-quota check costs on the MQTT hot path, in one run:
#
#   tests/bench/quota_overhead.sh
#
#   ROUNDS=3      alternations of the two instances
#   DURATION=5    seconds of each fan-in run
#   KEEP=1        keep the work directory
#
# One `omnibus dev` (release), two `business` instances with their default
# mapping deleted (pure MQTT): "on" keeps the plan's rates (3,000,000 messages/s,
# far above what this machine reaches, so every publish is checked and none
# waits), "off" has its rates overridden to 0 (no limit: the check returns at
# once). mqtt-load runs QoS 0 and QoS 1 fan-in (4 publishers -> 1 wildcard
# subscriber, 64-byte payloads) against each in turn, ROUNDS times; prints the
# delivered messages/s of each run and the median on/off ratio.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../.."

rounds="${ROUNDS:-3}"
duration="${DURATION:-5}"
# shellcheck source=two_instances.sh
. "$here/two_instances.sh"
make_instance on business
make_instance off business \
  '{"bytes_in_per_second":0,"bytes_out_per_second":0,"messages_in_per_second":0,"connections_per_second":0}'

results="$work/results.jsonl"
: >"$results"
for round in $(seq 1 "$rounds"); do
  for qos in 0 1; do
    for name in on off; do
      MQTT_LOAD_PASSWORD="${password[$name]}" "$bin/mqtt-load" fan-in --port "$mqtt" --username "${user[$name]}" \
        --qos "$qos" --duration "$duration" --broker-pid "$broker" --label "$name" \
        | python3 -c "import json,sys; d=json.loads(sys.stdin.read()); d['round']=$round; d['quotas']='$name'; d['qos']=$qos; print(json.dumps(d))" \
        >>"$results"
    done
  done
done
python3 - "$results" "$(git rev-parse --short HEAD)" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def rate(r):
    for key in ("delivered_per_s",):
        if key in r:
            return r[key]
    raise SystemExit(f"no delivered rate in {sorted(r)}")
print(f"commit {sys.argv[2]}")
print("| QoS | quotas on: delivered msg/s per round | quotas off | median on / off |")
print("| --- | --- | --- | --- |")
for qos in (0, 1):
    on = [rate(r) for r in runs if r["qos"] == qos and r["quotas"] == "on"]
    off = [rate(r) for r in runs if r["qos"] == qos and r["quotas"] == "off"]
    ratio = statistics.median(on) / statistics.median(off)
    print(f"| {qos} | {', '.join(f'{x:,.0f}' for x in on)} | {', '.join(f'{x:,.0f}' for x in off)} | {ratio:.3f} |")
PY
