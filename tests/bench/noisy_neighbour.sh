#!/usr/bin/env bash
# A noisy neighbour on one broker, in one run:
#
#   tests/bench/noisy_neighbour.sh
#
#   ROUNDS=3      alternations of "alone" and "beside the flood"
#   DURATION=11   seconds of each latency run (the first not counted)
#   RATE=5000     the quiet instance's messages/s
#   KEEP=1        keep the work directory
#
# One `omnibus dev` (release), two `standard` instances with their default
# mapping deleted (pure MQTT). The quiet one runs mqtt-load's latency scenario
# (one QoS 1 publisher at RATE msg/s, one subscriber, 64-byte payloads) alone,
# then while the noisy one is flooded far past its rate quota (overridden to
# 10,000 messages/s): QoS 0 fan-in, 4 publishers writing as fast as the broker
# reads them. Prints the quiet instance's delivered rate and p50/p99 in each
# case and the ratios of the medians (beside / alone), and what the flood got.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../.."

rounds="${ROUNDS:-3}"
duration="${DURATION:-11}"
rate="${RATE:-5000}"
# shellcheck source=two_instances.sh
. "$here/two_instances.sh"
make_instance quiet standard
make_instance noisy standard '{"messages_in_per_second":10000}'

results="$work/results.jsonl"
: >"$results"
quiet() { # case
  MQTT_LOAD_PASSWORD="${password[quiet]}" "$bin/mqtt-load" latency --port "$mqtt" --username "${user[quiet]}" \
    --qos 1 --rate "$rate" --duration "$duration" --broker-pid "$broker" --label quiet \
    | python3 -c "import json,sys; d=json.loads(sys.stdin.read()); d['case']='$1'; print(json.dumps(d))" >>"$results"
}
for round in $(seq 1 "$rounds"); do
  quiet alone
  MQTT_LOAD_PASSWORD="${password[noisy]}" "$bin/mqtt-load" fan-in --port "$mqtt" --username "${user[noisy]}" \
    --qos 0 --duration "$((duration + 2))" --broker-pid "$broker" --label noisy \
    | python3 -c "import json,sys; d=json.loads(sys.stdin.read()); d['case']='flood'; print(json.dumps(d))" >>"$results" &
  flood=$!
  sleep 1
  quiet beside
  wait "$flood"
done
python3 - "$results" "$(git rev-parse --short HEAD)" "$rate" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(f"commit {sys.argv[2]}, quiet instance at {sys.argv[3]} msg/s QoS 1")
def of(case, key):
    return [r[key] for r in runs if r["case"] == case]
print("| quiet instance | alone (rounds) | beside the flood (rounds) | median beside / alone |")
print("| --- | --- | --- | --- |")
for key, label in (("achieved_rate", "sent msg/s"), ("delivered", "delivered"), ("p50_us", "p50 µs"), ("p99_us", "p99 µs")):
    alone, beside = of("alone", key), of("beside", key)
    ratio = statistics.median(beside) / statistics.median(alone)
    print(f"| {label} | {', '.join(f'{x:,.1f}' for x in alone)} | {', '.join(f'{x:,.1f}' for x in beside)} | {ratio:.3f} |")
floods = [r for r in runs if r["case"] == "flood"]
print("flood (noisy instance, held to 10,000 msg/s): delivered/s " + ", ".join(f"{r['delivered_per_s']:,.0f}" for r in floods)
      + "; missing " + ", ".join(str(r.get("missing", "?")) for r in floods))
PY
