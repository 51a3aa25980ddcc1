# Sourced by the quota and metering benchmarks (quota_overhead.sh,
# noisy_neighbour.sh, metering_overhead.sh): builds the release binaries,
# makes a fresh work directory, defines `start_omnibus BIN` (one `BIN dev` on
# free ports, a tenant and a platform operator signed up) and `stop_omnibus`,
# and `make_instance NAME PLAN [QUOTAS_JSON]`, which creates a pure-MQTT
# instance (its default mapping deleted), sets an operator's quota overrides
# when given, and fills user[NAME] and password[NAME] with a credential.
# Starts this build's omnibus unless BENCH_START=manual.
# Sets: bin, work, broker (pid), http, mqtt, kafka, api, token, operator.

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

# start_omnibus BIN: `BIN dev` on free ports with its state in a fresh
# directory under $work, a tenant and a platform operator signed up.
start_omnibus() {
  local state
  state="$(mktemp -d "$work/omnibus.XXXXXX")"
  http="$(free_port)"
  mqtt="$(free_port)"
  kafka="$(free_port)"
  "$1" dev --data-dir "$state" --http-listen "127.0.0.1:$http" \
    --mqtt-listen "127.0.0.1:$mqtt" --mqtt-ws-listen "127.0.0.1:$(free_port)" \
    --mqtt-tls-listen "127.0.0.1:$(free_port)" --mqtt-wss-listen "127.0.0.1:$(free_port)" \
    --kafka-listen "127.0.0.1:$kafka" --grpc-listen "127.0.0.1:$(free_port)" \
    >"$state.log" 2>&1 &
  broker=$!
  pids+=("$broker")
  wait_port "$http"
  wait_port "$mqtt"
  api="http://127.0.0.1:$http"
  token="$(signup bench@example.com)"
  operator="$(signup operator@example.com)"
  "$1" grant-operator --email operator@example.com --data-dir "$state/control-plane" >/dev/null
}
# stop_omnibus: stops the one start_omnibus started.
stop_omnibus() {
  kill "$broker"
  wait "$broker" 2>/dev/null || true
}
signup() {
  curl -sf "$api/v1/auth/signup" -H 'content-type: application/json' \
    -d "{\"email\":\"$1\",\"password\":\"correct horse battery\",\"organization_name\":\"Bench\"}" | json '["access_token"]'
}
call() { # token method path [body]
  curl -sf -X "$2" "$api$3" -H "authorization: Bearer $1" -H 'content-type: application/json' ${4:+-d "$4"}
}
declare -A user password
make_instance() { # name plan [quota overrides]
  local instance mapping credential
  instance="$(call "$token" POST /v1/instances "{\"name\":\"$1\",\"plan\":\"$2\"}" | json '["id"]')"
  for mapping in $(call "$token" GET "/v1/instances/$instance/mappings" \
    | python3 -c 'import json,sys; [print(m["id"]) for m in json.load(sys.stdin)["items"]]'); do
    call "$token" DELETE "/v1/instances/$instance/mappings/$mapping" >/dev/null
  done
  if [ -n "${3:-}" ]; then
    call "$operator" PUT "/v1/operator/instances/$instance/quotas" "$3" >/dev/null
  fi
  credential="$(call "$token" POST "/v1/instances/$instance/credentials" '{"name":"bench"}')"
  user[$1]="$(echo "$credential" | json '["username"]')"
  password[$1]="$(echo "$credential" | json '["password"]')"
}
if [ "${BENCH_START:-}" != manual ]; then
  start_omnibus "$bin/omnibus"
fi
