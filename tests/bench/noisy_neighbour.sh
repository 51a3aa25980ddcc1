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
cd "$(dirname "$0")/../.."

rounds="${ROUNDS:-3}"
duration="${DURATION:-11}"
rate="${RATE:-5000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/omnibus-target}"
cargo build --release -q -p omnibus -p omnibus-tests --bin omnibus --bin mqtt-load
bin="$CARGO_TARGET_DIR/release"
work="$(mktemp -d /var/tmp/omnibus-noisy-bench.XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "${KEEP:-}" = 1 ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 300); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "nothing on port $1" >&2; return 1; }
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

http="$(free_port)"
mqtt="$(free_port)"
"$bin/omnibus" dev --data-dir "$work/omnibus" --http-listen "127.0.0.1:$http" \
  --mqtt-listen "127.0.0.1:$mqtt" --mqtt-ws-listen "127.0.0.1:$(free_port)" \
  --mqtt-tls-listen "127.0.0.1:$(free_port)" --mqtt-wss-listen "127.0.0.1:$(free_port)" \
  --kafka-listen "127.0.0.1:$(free_port)" --grpc-listen "127.0.0.1:$(free_port)" \
  >"$work/omnibus.log" 2>&1 &
broker=$!
pids+=("$broker")
wait_port "$http"
wait_port "$mqtt"
api="http://127.0.0.1:$http"
signup() {
  curl -sf "$api/v1/auth/signup" -H 'content-type: application/json' \
    -d "{\"email\":\"$1\",\"password\":\"correct horse battery\",\"organization_name\":\"Bench\"}" | json '["access_token"]'
}
token="$(signup bench@example.com)"
operator="$(signup operator@example.com)"
"$bin/omnibus" grant-operator --email operator@example.com --data-dir "$work/omnibus/control-plane" >/dev/null
call() { # token method path [body]
  curl -sf -X "$2" "$api$3" -H "authorization: Bearer $1" -H 'content-type: application/json' ${4:+-d "$4"}
}
declare -A user password
for name in quiet noisy; do
  instance="$(call "$token" POST /v1/instances "{\"name\":\"$name\",\"plan\":\"standard\"}" | json '["id"]')"
  for mapping in $(call "$token" GET "/v1/instances/$instance/mappings" \
    | python3 -c 'import json,sys; [print(m["id"]) for m in json.load(sys.stdin)["items"]]'); do
    call "$token" DELETE "/v1/instances/$instance/mappings/$mapping" >/dev/null
  done
  if [ "$name" = noisy ]; then
    call "$operator" PUT "/v1/operator/instances/$instance/quotas" '{"messages_in_per_second":10000}' >/dev/null
  fi
  credential="$(call "$token" POST "/v1/instances/$instance/credentials" '{"name":"bench"}')"
  user[$name]="$(echo "$credential" | json '["username"]')"
  password[$name]="$(echo "$credential" | json '["password"]')"
done

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
