#!/usr/bin/env bash
# MQTT: Omnibus beside Mosquitto, the same load generator and the same
# workload against each in one run, and one markdown table with the ratios.
#
#   tests/bench/mqtt_compare.sh
#
#   DURATION=10      seconds of publishing per throughput run
#   LATENCY_RATE=5000  messages per second of the latency runs
#   LATENCY_RUNS=3   latency runs per broker and QoS, taking turns (medians shown)
#   CONNECTIONS=N    idle connections to hold (default: the fd hard limit less
#                    the brokers' own descriptors and a margin, ~19,950)
#   LG_PROCS=4       load-generator processes holding them, one source address
#                    each (127.0.0.2, 127.0.0.3, ...)
#   SCENARIOS="connections connect-rate fan-in fan-out latency"  which to run
#   KEEP=1           keep the work directory (logs, results.jsonl)
#
# What it does: builds `omnibus` and the load generator `mqtt-load`
# (tests/src/loadgen) in release; starts `omnibus dev` on free ports with a
# fresh data dir, signs up, creates an instance on plan "business" and a
# credential over REST, and deletes the instance's default MQTT<->Kafka
# mapping so Omnibus does pure MQTT; starts Debian's /usr/sbin/mosquitto
# (installed with apt when missing) with its compiled-in defaults plus a
# listener on a free port and a password file holding the same user name and
# password; then runs each scenario against Omnibus and then Mosquitto:
#   connections   N idle connections (keep-alive 60 s) over LG_PROCS processes,
#                 broker RSS before and with them held, a PINGREQ on each
#   connect-rate  32 clients connecting, CONNECT/CONNACK/DISCONNECT, 5 s
#   fan-in        4 publishers -> 1 subscriber on a wildcard, QoS 0 and QoS 1
#   fan-out       1 publisher -> 100 subscribers, QoS 0 and QoS 1
#   latency       1 publisher -> 1 subscriber at LATENCY_RATE msg/s, QoS 0 and 1,
#                 11 s (the first second not counted), LATENCY_RUNS times each
# For a QoS 1 run in which a broker acknowledged messages it never delivered,
# the run is repeated at lower fixed rates to find the highest lossless one.
# Broker CPU is utime+stime from /proc/PID/stat over each measured window;
# memory is VmRSS from /proc/PID/status. Both brokers and the load generator
# share the machine's cores. Needs cargo, python3, curl, and root or sudo
# only to install mosquitto. Results: one JSON line per run in
# $work/results.jsonl, then the table on stdout.
set -euo pipefail
cd "$(dirname "$0")/../.."

duration="${DURATION:-10}"
latency_rate="${LATENCY_RATE:-5000}"
latency_runs="${LATENCY_RUNS:-3}"
lg_procs="${LG_PROCS:-4}"
scenarios="${SCENARIOS:-connections connect-rate fan-in fan-out latency}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/omnibus-target}"
unset OTEL_EXPORTER_OTLP_ENDPOINT
# The brokers and the load generator inherit this; the hard limit (20,000
# here) cannot be raised.
ulimit -n "$(ulimit -Hn)"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if [ ! -x /usr/sbin/mosquitto ]; then
  echo "installing mosquitto" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mosquitto >/dev/null
fi

cargo build --release -q -p omnibus -p omnibus-tests --bin omnibus --bin mqtt-load
bin="$CARGO_TARGET_DIR/release"

work="$(mktemp -d /var/tmp/omnibus-mqtt-bench.XXXXXX)"
chmod 755 "$work" # mosquitto drops root for its own user and must read its files
results="$work/results.jsonl"
: >"$results"
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
rss() { awk '/^VmRSS:/ {print $2 * 1024}' "/proc/$1/status"; }
fds() { ls "/proc/$1/fd" | wc -l; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

echo "load average at start: $(load)" >&2
commit="$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . 2>/dev/null || echo '+dirty')"

# --- Omnibus ------------------------------------------------------------------
http="$(free_port)"
declare -A port pid
port[omnibus]="$(free_port)"
"$bin/omnibus" dev --data-dir "$work/omnibus" --http-listen "127.0.0.1:$http" \
  --mqtt-listen "127.0.0.1:${port[omnibus]}" --mqtt-ws-listen "127.0.0.1:$(free_port)" \
  --mqtt-tls-listen "127.0.0.1:$(free_port)" --mqtt-wss-listen "127.0.0.1:$(free_port)" \
  --kafka-listen "127.0.0.1:$(free_port)" --grpc-listen "127.0.0.1:$(free_port)" \
  >"$work/omnibus.log" 2>&1 &
pid[omnibus]=$!
pids+=("${pid[omnibus]}")
wait_port "$http"
wait_port "${port[omnibus]}"
api="http://127.0.0.1:$http"
call() { # method path [body]
  curl -sf -X "$1" "$api$2" -H "authorization: Bearer $token" -H 'content-type: application/json' ${3:+-d "$3"}
}
token="$(curl -sf "$api/v1/auth/signup" -H 'content-type: application/json' \
  -d '{"email":"bench@example.com","password":"correct horse battery","organization_name":"Bench"}' | json '["access_token"]')"
instance="$(call POST /v1/instances '{"name":"mqtt-bench","plan":"business"}' | json '["id"]')"
credential="$(call POST "/v1/instances/$instance/credentials" '{"name":"bench"}')"
user="$(echo "$credential" | json '["username"]')"
export MQTT_LOAD_PASSWORD
MQTT_LOAD_PASSWORD="$(echo "$credential" | json '["password"]')"
# Pure MQTT: without the default `#` <-> Kafka `mqtt` mapping nothing goes to a log.
for mapping in $(call GET "/v1/instances/$instance/mappings" \
  | python3 -c 'import json,sys; [print(m["id"]) for m in json.load(sys.stdin)["items"]]'); do
  call DELETE "/v1/instances/$instance/mappings/$mapping" >/dev/null
done
left="$(call GET "/v1/instances/$instance/mappings" | json '["items"].__len__()')"
[ "$left" = 0 ] || { echo "the instance still has $left mappings" >&2; exit 1; }

# --- Mosquitto ----------------------------------------------------------------
port[mosquitto]="$(free_port)"
mkdir -p "$work/mosquitto"
mosquitto_passwd -b -c "$work/mosquitto/passwd" "$user" "$MQTT_LOAD_PASSWORD" 2>/dev/null
chmod 644 "$work/mosquitto/passwd"
cat >"$work/mosquitto/mosquitto.conf" <<EOF
listener ${port[mosquitto]} 127.0.0.1
allow_anonymous false
password_file $work/mosquitto/passwd
EOF
/usr/sbin/mosquitto -c "$work/mosquitto/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
pid[mosquitto]=$!
pids+=("${pid[mosquitto]}")
wait_port "${port[mosquitto]}"
mosquitto_version="$({ /usr/sbin/mosquitto -h 2>&1 || true; } | sed -n 's/^mosquitto version \([^ ]*\).*/\1/p' | head -n 1)"

brokers=(omnibus mosquitto)
lg() { # broker scenario [args]: one run, its JSON line appended to the results
  local broker="$1" scenario="$2"; shift 2
  local out
  if out="$("$bin/mqtt-load" "$scenario" --port "${port[$broker]}" --username "$user" \
    --broker-pid "${pid[$broker]}" --label "$broker" "$@")"; then
    echo "$out" >>"$results"
    echo "$out"
  else
    echo "{\"scenario\":\"$scenario\",\"broker\":\"$broker\",\"errors\":[\"mqtt-load exited with an error\"]}" >>"$results"
    echo "{}"
  fi
  sleep 1
}
field() { python3 -c "import json,sys; d=json.loads(sys.stdin.read() or '{}'); print(d.get('$1', 0) or 0)"; }

# --- connections: first, while both brokers are fresh ---------------------------
if [[ " $scenarios " == *" connections "* ]]; then
  hard="$(ulimit -Hn)"
  used=$(( $(fds "${pid[omnibus]}") > $(fds "${pid[mosquitto]}") ? $(fds "${pid[omnibus]}") : $(fds "${pid[mosquitto]}") ))
  total="${CONNECTIONS:-$(( hard - used - 10 ))}"
  for broker in "${brokers[@]}"; do
    sleep 2
    idle_rss="$(rss "${pid[$broker]}")" idle_fds="$(fds "${pid[$broker]}")"
    procs=()
    for i in $(seq 0 $((lg_procs - 1))); do
      count=$(( total / lg_procs + (i < total % lg_procs ? 1 : 0) ))
      "$bin/mqtt-load" connections --port "${port[$broker]}" --username "$user" --label "$broker" \
        --count "$count" --source "127.0.0.$((2 + i))" >"$work/conn-$broker-$i.jsonl" 2>"$work/conn-$broker-$i.err" &
      procs+=($!)
      pids+=($!)
    done
    for i in "${!procs[@]}"; do
      until grep -q '"event":"connected"' "$work/conn-$broker-$i.jsonl"; do
        kill -0 "${procs[$i]}" 2>/dev/null || { cat "$work/conn-$broker-$i.err" >&2; break; }
        sleep 0.2
      done
    done
    # Idle: let handshake-time threads and buffers go (tokio's blocking threads
    # linger 10 s), then read the broker's memory.
    sleep 12
    held_rss="$(rss "${pid[$broker]}")" held_fds="$(fds "${pid[$broker]}")"
    for p in "${procs[@]}"; do kill -USR1 "$p" 2>/dev/null || true; done
    for p in "${procs[@]}"; do wait "$p" || true; done
    python3 - "$broker" "$total" "$idle_rss" "$held_rss" "$idle_fds" "$held_fds" "$work"/conn-"$broker"-*.jsonl <<'EOF' | tee -a "$results"
import json, sys
broker, total, idle, held, idle_fds, held_fds = sys.argv[1], *map(int, sys.argv[2:7])
lines = [json.loads(l) for f in sys.argv[7:] for l in open(f) if l.strip()]
connected = [l for l in lines if l["event"] == "connected"]
pinged = [l for l in lines if l["event"] == "pinged"]
held_n = sum(l["connected"] for l in connected)
seconds = max((l["seconds"] for l in connected), default=0)
print(json.dumps({
    "scenario": "connections", "broker": broker, "requested": total, "processes": len(connected),
    "connected": held_n, "failed": sum(l["failed"] for l in connected),
    "answered": sum(l["answered"] for l in pinged), "closed_by_broker": sum(l["closed_by_broker"] for l in pinged),
    "connect_seconds": seconds, "connect_per_s": held_n / seconds if seconds else 0,
    "rss_idle_bytes": idle, "rss_held_bytes": held, "fds_idle": idle_fds, "fds_held": held_fds,
    "rss_per_connection_bytes": (held - idle) / held_n if held_n else 0,
    "errors": [e for l in connected for e in l["errors"]][:5],
}))
EOF
    sleep 3
  done
fi

if [[ " $scenarios " == *" connect-rate "* ]]; then
  for broker in "${brokers[@]}"; do
    lg "$broker" connect-rate --duration 5 --concurrency 32 \
      --sources 127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5,127.0.0.6,127.0.0.7,127.0.0.8,127.0.0.9 >/dev/null
  done
fi

# A QoS 1 run in which `broker` acknowledged messages it did not deliver is
# repeated at fixed rates from 90% of what it delivered, 15% less each time,
# until one loses nothing (at most five tries).
lossless() { # broker scenario delivered_per_s [args]
  local broker="$1" scenario="$2" rate; rate="$(python3 -c "print(int($3 * 0.9 / 1000) * 1000)")"; shift 3
  for _ in 1 2 3 4 5; do
    [ "$rate" -gt 0 ] || return 0
    local out; out="$(lg "$broker" "$scenario" --qos 1 --duration "$duration" --rate "$rate" "$@")"
    if [ "$(echo "$out" | field missing_acked)" = 0 ] && [ "$(echo "$out" | field missing)" = 0 ]; then return 0; fi
    rate="$(python3 -c "print(int($rate * 0.85 / 1000) * 1000)")"
  done
}

for scenario in fan-in fan-out; do
  [[ " $scenarios " == *" $scenario "* ]] || continue
  for qos in 0 1; do
    for broker in "${brokers[@]}"; do
      out="$(lg "$broker" "$scenario" --qos "$qos" --duration "$duration")"
      if [ "$qos" = 1 ] && [ "$(echo "$out" | field missing_acked)" != 0 ]; then
        lossless "$broker" "$scenario" "$(echo "$out" | field delivered_per_s)"
      fi
    done
  done
done

# Latency is the figure other processes on the machine disturb most: the
# brokers take turns for LATENCY_RUNS runs each and the table shows medians.
if [[ " $scenarios " == *" latency "* ]]; then
  for qos in 0 1; do
    for _ in $(seq 1 "$latency_runs"); do
      for broker in "${brokers[@]}"; do
        lg "$broker" latency --qos "$qos" --rate "$latency_rate" --duration 11 --warmup 1 >/dev/null
      done
    done
  done
fi

grep -h ' ERROR ' "$work/omnibus.log" >&2 || true
echo "load average at end: $(load)" >&2

# --- the table ------------------------------------------------------------------
python3 - "$results" "$commit" "$(date -u +%Y-%m-%d)" "$mosquitto_version" "$(load)" <<'EOF'
import json, sys
path, commit, date, mosquitto_version, load_end = sys.argv[1:6]
runs = [json.loads(l) for l in open(path) if l.strip()]

def find(scenario, broker, qos=None, rated=False):
    for r in runs:
        if r.get("scenario") == scenario and r.get("broker") == broker and (qos is None or r.get("qos") == qos) \
                and bool(r.get("rate")) == rated and not r.get("errors"):
            yield r

def first(*args, **kw):
    return next(find(*args, **kw), None)

def k(x):
    return f"{x / 1000:,.0f}k" if x >= 10000 else f"{x:,.0f}"

rows = []
def row(what, o, m, fmt, target=None, higher_is_better=True, ratio=True):
    if o is None or m is None or not ratio:
        rows.append((what, "n/a" if o is None else fmt(o), "n/a" if m is None else fmt(m), "", ""))
        return
    ratio = f"{o / m:.2f}×" if m else "—"
    met = ""
    if target is not None:
        kind, bound = target
        value = o / m if m and kind == "ratio" else o
        ok = value >= bound if higher_is_better else value <= bound
        met = ("met" if ok else "**not met**") + f" (target {'≥' if higher_is_better else '≤'} {bound}{'×' if kind == 'ratio' else ''})"
    rows.append((what, fmt(o), fmt(m), ratio, met))

def cpu(r):
    return f"{r['broker_cores']:.2f} ({r['loadgen_cores']:.2f}, {r['others_cores']:.2f})"

def cpu_row(what, o, m):
    row(what, o, m, cpu, ratio=False)

def get(r, key):
    return None if r is None else r.get(key)

for scenario, shape in (("fan-in", "4 publishers → 1 wildcard subscriber"), ("fan-out", "1 publisher → 100 subscribers")):
    for qos in (0, 1):
        o, m = first(scenario, "omnibus", qos), first(scenario, "mosquitto", qos)
        if o is None and m is None:
            continue
        name = f"{scenario} QoS {qos} ({shape}, 64 B)"
        row(f"{name}: delivered msg/s", get(o, "delivered_per_s"), get(m, "delivered_per_s"), k, ("ratio", 1.5))
        row(f"{name}: missing / acknowledged-but-missing", o, m,
            lambda r: f"{r['missing']:,} / {r['missing_acked']:,}" if qos else f"{r['missing']:,} / —", ratio=False)
        cpu_row(f"{name}: CPU used, cores: broker (load generator, other processes)", o, m)
        row(f"{name}: delivered per broker CPU-second", get(o, "delivered_per_broker_cpu_s"),
            get(m, "delivered_per_broker_cpu_s"), k, ("ratio", 1.0))
        if qos == 1:
            def best_lossless(broker, plain):
                if plain is not None and plain["missing_acked"] == 0 and plain["missing"] == 0:
                    return plain["delivered_per_s"]
                ok = [r["delivered_per_s"] for r in find(scenario, broker, 1, rated=True)
                      if r["missing_acked"] == 0 and r["missing"] == 0]
                return max(ok) if ok else None
            lo, lm = best_lossless("omnibus", o), best_lossless("mosquitto", m)
            row(f"{name}: highest lossless delivered msg/s", lo, lm, k, ("ratio", 1.5))

def median(values):
    values = sorted(values)
    return values[len(values) // 2] if values else None

class Spread(float):
    """A median that also prints the range it came from."""
    def __new__(cls, values):
        self = super().__new__(cls, median(values))
        self.low, self.high, self.n = min(values), max(values), len(values)
        return self
    def __format__(self, spec):
        if self.n == 1:
            return format(float(self), spec)
        return f"{format(float(self), spec)} ({format(self.low, spec)}–{format(self.high, spec)})"

for qos in (0, 1):
    lo, lm = list(find("latency", "omnibus", qos, rated=True)), list(find("latency", "mosquitto", qos, rated=True))
    if not lo and not lm:
        continue
    rate = (lo or lm)[0]["rate"]
    runs_each = max(len(lo), len(lm))
    spread = lambda rs, key: Spread([r[key] for r in rs]) if rs else None
    for p, key in (("p50", "p50_us"), ("p99", "p99_us"), ("p99.9", "p999_us")):
        target = ("ratio", 1.0) if p == "p99" else None
        what = f"latency QoS {qos} at {rate:,} msg/s: {p} µs" + (f", median of {runs_each} (range)" if runs_each > 1 else "")
        row(what, spread(lo, key), spread(lm, key), lambda x: f"{x:.0f}", target, higher_is_better=False)
    row(f"latency QoS {qos}: missing, all runs", sum(r["missing"] for r in lo) if lo else None,
        sum(r["missing"] for r in lm) if lm else None, lambda x: f"{x:,}", ratio=False)
    for key, what in (("broker_cores", "broker"), ("loadgen_cores", "load generator"), ("others_cores", "other processes")):
        row(f"latency QoS {qos}: CPU used by the {what}, cores, median (range)", spread(lo, key), spread(lm, key),
            lambda x: f"{x:.2f}", ratio=False)

o, m = first("connections", "omnibus"), first("connections", "mosquitto")
if o or m:
    row("idle connections held / answering PINGREQ", o, m,
        lambda r: f"{r['connected']:,} of {r['requested']:,} / {r['answered']:,}", ratio=False)
    row("RSS per idle connection (bytes)", get(o, "rss_per_connection_bytes"), get(m, "rss_per_connection_bytes"),
        lambda x: f"{x:,.0f}", ("abs", 1024), higher_is_better=False)
    row("broker RSS idle → with them held (MiB)", o, m,
        lambda r: f"{r['rss_idle_bytes'] / 2**20:.1f} → {r['rss_held_bytes'] / 2**20:.1f}", ratio=False)
    row("connections opened per second (64 handshakes at once per process)", get(o, "connect_per_s"),
        get(m, "connect_per_s"), k)
o, m = first("connect-rate", "omnibus"), first("connect-rate", "mosquitto")
if o or m:
    row("connect rate: CONNECT→CONNACK→DISCONNECT cycles/s (32 at once)", get(o, "per_s"), get(m, "per_s"), k)
    row("connect rate: CONNACK p99 ms", get(o, "connack_p99_ms"), get(m, "connack_p99_ms"), lambda x: f"{x:.2f}")
    row("connect rate: cycles per broker CPU-second", get(o, "per_broker_cpu_s"), get(m, "per_broker_cpu_s"), k)
    cpu_row("connect rate: CPU used, cores: broker (load generator, other processes)", o, m)

print(f"\n{date}, commit {commit}, Mosquitto {mosquitto_version}, load average at end {load_end}\n")
print(f"| what | Omnibus | Mosquitto | Omnibus / Mosquitto | target |")
print(f"| --- | --- | --- | --- | --- |")
for r in rows:
    print("| " + " | ".join(r) + " |")
failed = [r for r in runs if r.get("errors")]
for r in failed:
    print(f"\nrun with errors: {json.dumps(r)}")
EOF
