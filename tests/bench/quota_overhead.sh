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
cd "$(dirname "$0")/../.."

rounds="${ROUNDS:-3}"
duration="${DURATION:-5}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/omnibus-target}"
cargo build --release -q -p omnibus -p omnibus-tests --bin omnibus --bin mqtt-load
bin="$CARGO_TARGET_DIR/release"
work="$(mktemp -d /var/tmp/omnibus-quota-bench.XXXXXX)"
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
for name in on off; do
  instance="$(call "$token" POST /v1/instances "{\"name\":\"quota-$name\",\"plan\":\"business\"}" | json '["id"]')"
  for mapping in $(call "$token" GET "/v1/instances/$instance/mappings" \
    | python3 -c 'import json,sys; [print(m["id"]) for m in json.load(sys.stdin)["items"]]'); do
    call "$token" DELETE "/v1/instances/$instance/mappings/$mapping" >/dev/null
  done
  if [ "$name" = off ]; then
    call "$operator" PUT "/v1/operator/instances/$instance/quotas" \
      '{"bytes_in_per_second":0,"bytes_out_per_second":0,"messages_in_per_second":0,"connections_per_second":0}' >/dev/null
  fi
  credential="$(call "$token" POST "/v1/instances/$instance/credentials" '{"name":"bench"}')"
  user[$name]="$(echo "$credential" | json '["username"]')"
  password[$name]="$(echo "$credential" | json '["password"]')"
done

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
