#!/usr/bin/env bash
# The management API under load, on SQLite and on PostgreSQL, in one run:
#
#   tests/bench/rest_api.sh
#
#   RATE=1000      requests per second of the fixed-rate read run
#   DURATION=20    seconds of each oha run
#   CREATES=200    instances created one after another (create -> ready)
#   KEEP=1         keep the work directory
#
# For each database it starts `omnibus dev` (release) on free ports with a
# fresh data dir (and, for PostgreSQL, a private server like scripts/test's),
# signs up, creates an instance, then measures with oha (installed once into
# /var/tmp/omnibus-cache/oha with `cargo install oha --locked`):
#   read-rate   authenticated GET /v1/instances/{id} at RATE/s for DURATION s,
#               latency corrected for coordinated omission: p50/p99/p99.9
#   read-max    the same GET, unthrottled, 32 connections: requests/s
#   list        GET /v1/instances (a page of 50) at RATE/2/s
# and with a Python client (one connection, sequential) CREATES instance
# creations: the latency of POST /v1/instances p50/p99, and the share of them
# answered `ready` (the fleet applied them before the answer). Prints one
# markdown table; the raw oha JSON stays in the work directory with KEEP=1.
set -euo pipefail
cd "$(dirname "$0")/../.."

rate="${RATE:-1000}"
duration="${DURATION:-20}"
creates="${CREATES:-200}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/omnibus-target}"
oha_root=/var/tmp/omnibus-cache/oha
oha="$oha_root/bin/oha"
if [ ! -x "$oha" ]; then
  echo "installing oha (once)" >&2
  cargo install oha --locked --root "$oha_root" -q
fi
cargo build --release -q -p omnibus --bin omnibus
bin="$CARGO_TARGET_DIR/release/omnibus"

work="$(mktemp -d /tmp/omnibus-rest-bench.XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "${pg_dir:-}" ]; then pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1 || true; fi
  if [ -z "${KEEP:-}" ]; then rm -rf "$work" "${pg_dir:-/nonexistent}"; else echo "kept $work" >&2; fi
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
wait_http() { for _ in $(seq 200); do curl -sf "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "nothing at $1" >&2; exit 1; }

# A private PostgreSQL, as scripts/test starts one.
pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
start_postgres() {
  pg_dir="$(mktemp -d /tmp/omnibus-rest-bench-pg.XXXXXX)"
  pg_port="$(free_port)"
  if [ "$(id -u)" = 0 ]; then chown postgres: "$pg_dir"; pg() { runuser -u postgres -- "$@"; }; else pg() { "$@"; }; fi
  pg "$pg_bin/initdb" -A trust -U postgres -D "$pg_dir/data" >/dev/null
  pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w \
    -o "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
  echo "postgres://postgres@127.0.0.1:$pg_port/postgres"
}

results="$work/results.jsonl"
for db in sqlite postgres; do
  http="$(free_port)"
  db_args=()
  if [ "$db" = postgres ]; then db_args=(--database-url "$(start_postgres)"); fi
  "$bin" dev --data-dir "$work/$db" --http-listen "127.0.0.1:$http" \
    --mqtt-listen "127.0.0.1:$(free_port)" --mqtt-ws-listen "127.0.0.1:$(free_port)" \
    --mqtt-tls-listen "127.0.0.1:$(free_port)" --mqtt-wss-listen "127.0.0.1:$(free_port)" \
    --kafka-listen "127.0.0.1:$(free_port)" --grpc-listen "127.0.0.1:$(free_port)" \
    "${db_args[@]}" >"$work/omnibus-$db.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  api="http://127.0.0.1:$http"
  wait_http "$api/healthz"
  token="$(curl -sf "$api/v1/auth/signup" -H 'content-type: application/json' \
    -d '{"email":"bench@example.com","password":"correct horse battery","organization_name":"Bench"}' | json '["access_token"]')"
  instance="$(curl -sf "$api/v1/instances" -H "authorization: Bearer $token" -H 'content-type: application/json' \
    -d '{"name":"bench","plan":"developer"}' | json '["id"]')"
  auth=(-H "authorization: Bearer $token")

  "$oha" -z "${duration}s" -q "$rate" -c 32 --latency-correction --no-tui --output-format json "${auth[@]}" \
    "$api/v1/instances/$instance" >"$work/$db-read-rate.json"
  "$oha" -z 10s -c 32 --no-tui --output-format json "${auth[@]}" "$api/v1/instances/$instance" >"$work/$db-read-max.json"
  "$oha" -z "${duration}s" -q "$((rate / 2))" -c 32 --latency-correction --no-tui --output-format json "${auth[@]}" \
    "$api/v1/instances" >"$work/$db-list.json"
  python3 - "$api" "$token" "$creates" >"$work/$db-create.json" <<'PY'
import json, sys, time, urllib.request
api, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
latencies, ready = [], 0
for i in range(n):
    body = json.dumps({"name": f"c{i}", "plan": "developer"}).encode()
    request = urllib.request.Request(f"{api}/v1/instances", data=body, method="POST",
        headers={"authorization": f"Bearer {token}", "content-type": "application/json"})
    started = time.perf_counter()
    with urllib.request.urlopen(request) as response:
        answer = json.load(response)
    latencies.append((time.perf_counter() - started) * 1000)
    ready += answer["status"] == "ready"
latencies.sort()
pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]
print(json.dumps({"count": n, "p50_ms": pick(0.5), "p99_ms": pick(0.99), "max_ms": latencies[-1], "ready": ready}))
PY
  cpu="$(awk '{print ($14 + $15) / 100}' "/proc/$pid/stat")"
  python3 - "$db" "$work" "$cpu" >>"$results" <<'PY'
import json, sys
db, work, cpu = sys.argv[1], sys.argv[2], float(sys.argv[3])
load = lambda name: json.load(open(f"{work}/{db}-{name}.json"))
def run(name):
    r = load(name)
    p = r["latencyPercentiles"]
    codes = r.get("statusCodeDistribution", {})
    return {"rps": r["summary"]["requestsPerSec"], "p50_ms": p["p50"] * 1000, "p99_ms": p["p99"] * 1000,
            "p999_ms": p["p99.9"] * 1000, "ok": codes.get("200", 0), "other": sum(v for k, v in codes.items() if k != "200")}
print(json.dumps({"db": db, "read_rate": run("read-rate"), "read_max": run("read-max"), "list": run("list"),
                  "create": load("create"), "broker_and_control_plane_cpu_seconds": cpu}))
PY
  kill "$pid"; wait "$pid" 2>/dev/null || true
done

python3 - "$results" "$rate" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
rate = int(sys.argv[2])
print(f"\n| what | " + " | ".join(r["db"] for r in rows) + " |")
print("| --- |" + " --- |" * len(rows))
line = lambda label, f: print(f"| {label} | " + " | ".join(f(r) for r in rows) + " |")
line(f"GET /v1/instances/{{id}} at {rate}/s: p50 / p99 / p99.9 ms", lambda r: "{p50_ms:.2f} / {p99_ms:.2f} / {p999_ms:.2f}".format(**r["read_rate"]))
line(f"GET /v1/instances/{{id}} at {rate}/s: achieved req/s (non-200)", lambda r: "{rps:.0f} ({other})".format(**r["read_rate"]))
line("GET /v1/instances/{id} unthrottled, 32 connections: req/s, p99 ms", lambda r: "{rps:.0f}, {p99_ms:.2f}".format(**r["read_max"]))
line(f"GET /v1/instances (a page) at {rate // 2}/s: p50 / p99 ms", lambda r: "{p50_ms:.2f} / {p99_ms:.2f}".format(**r["list"]))
line("POST /v1/instances, one after another: p50 / p99 ms", lambda r: "{p50_ms:.1f} / {p99_ms:.1f}".format(**r["create"]))
line("creations answered `ready` (applied on the fleet before the answer)", lambda r: "{ready} of {count}".format(**r["create"]))
line("target: p99 of reads at the fixed rate < 10 ms", lambda r: "met" if r["read_rate"]["p99_ms"] < 10 else "**not met**")
PY
