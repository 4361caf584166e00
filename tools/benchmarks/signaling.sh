#!/usr/bin/env bash
# Signaling: duet-server vs the seed's Socket.IO 4 relay: msgs/s, latency, memory, connections.
#
# Run as `tools/bench signaling`; docs/benchmarks.md explains every phase and every key of the
# JSON object this prints as its last line. In short, for each stack (duet-server, and a
# Socket.IO 4.x relay of the same events, tools/benchmarks/socketio-relay.mjs) it starts the
# server pinned to one core, drives it from the other core with tools/loadgen (N WebSocket
# connections in caller/callee pairs exchanging ~300-byte call:ice-candidate messages), and
# measures closed-loop messages/s, paced one-way latency, server CPU, and server memory per
# idle authenticated connection, at BENCH_CONNS (2,000) and BENCH_CONNS_LARGE (20,000, or as
# many as the file-descriptor limit allows) connections. Then it opens as many authenticated
# Duet connections as it can, up to BENCH_MAX_CONNS (50,000), from several 127.x addresses.
#
# Settings (environment): BENCH_CONNS, BENCH_CONNS_LARGE, BENCH_MAX_CONNS, BENCH_SECS (each
# measured window, 10), BENCH_WARMUP (2), BENCH_RATE (paced msgs/s in all, 5000), BENCH_IDLE_SECS
# (how long the large run's connections sit idle before the memory sample, 30), BENCH_WINDOW
# (messages in flight per pair in the closed loop, 1), BENCH_SKIP_SOCKETIO=1, BENCH_SKIP_MAX=1,
# BENCH_SERVER_CPU (0) and BENCH_LOADGEN_CPU (1): the cores for taskset; BENCH_KEEP=1 keeps the
# temporary directory (server logs, raw load generator results).
# Everything listens on and connects to 127.0.0.0/8 only, and every server it starts is
# stopped when it exits, however it exits.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
t_start=$(date +%s)
exec 3>&1  # progress of the load generator goes here, whatever its stdout is redirected to

say() { printf '[signaling] %s\n' "$*"; }
fail() {
  local m=$*
  say "FAILED: $m"
  m=${m//\\/\\\\}; m=${m//\"/\\\"}; m=$(printf '%s' "$m" | tr '\n\r\t' '   ')
  printf '{"benchmark":"signaling","error":"%s"}\n' "$m"
  exit 1
}

# Long steps run in the background so an interrupt is handled at once; their process trees
# are stopped on exit (only these processes, by their ids).
children=()
kill_tree() {
  local c
  for c in $(pgrep -P "$1" 2>/dev/null); do kill_tree "$c"; done
  kill -TERM "$1" 2>/dev/null || true
}
run_bg() {  # run_bg COMMAND...: runs it in the background and waits; its status
  "$@" &
  local p=$!
  children+=("$p")
  wait "$p"
}
pids=()  # servers
tmp=""
cleanup() {
  local pid
  for pid in "${children[@]}"; do kill_tree "$pid"; done
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  [ -n "$tmp" ] || return 0
  if [ "${BENCH_KEEP:-0}" = 1 ]; then say "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

SMALL=${BENCH_CONNS:-2000}
LARGE=${BENCH_CONNS_LARGE:-20000}
MAX_TARGET=${BENCH_MAX_CONNS:-50000}
SECS=${BENCH_SECS:-10}
WARMUP=${BENCH_WARMUP:-2}
RATE=${BENCH_RATE:-5000}
# The large run's connections sit idle this long before the memory sample; the server's CPU
# meanwhile is its idle cost (Socket.IO pings every socket every 25 s).
IDLE_SECS=${BENCH_IDLE_SECS:-30}
WINDOW=${BENCH_WINDOW:-1}
SKIP_SIO=${BENCH_SKIP_SOCKETIO:-0}
SKIP_MAX=${BENCH_SKIP_MAX:-0}
SERVER_CPU=${BENCH_SERVER_CPU:-0}
LOADGEN_CPU=${BENCH_LOADGEN_CPU:-1}
# duet-server allows 200 messages at once, then 50/s, per connection (HubConfig); the load
# generator stays under it so no connection is closed for flooding (cap_deferred counts waits).
DUET_CAP_RATE=45

command -v node >/dev/null || fail "node is missing (tools/setup installs it)"
command -v taskset >/dev/null || fail "taskset is missing (util-linux)"
cores=$(nproc)
if [ "$cores" -lt 2 ]; then
  say "WARNING: $cores core(s): the server and the load generator share it; figures are not comparable"
  pin_server=(); pin_loadgen=()
else
  pin_server=(taskset -c "$SERVER_CPU"); pin_loadgen=(taskset -c "$LOADGEN_CPU")
fi

# ----- file descriptors ---------------------------------------------------------------------
# Every connection is a descriptor in the server and one in the load generator. Raise the soft
# limit to the hard one; no process may go past the hard one.
fd_limit=$(ulimit -Hn)
[ "$fd_limit" = unlimited ] && fd_limit=1048576
ulimit -n "$fd_limit" 2>/dev/null || true
per_process=$(( (fd_limit - 200) / 2 * 2 ))  # room for the server's own files and sockets
if [ "$LARGE" -gt "$per_process" ]; then
  say "the file-descriptor hard limit is $fd_limit: the large run uses $per_process connections, not $LARGE"
  LARGE=$per_process
fi
SMALL=$(( SMALL / 2 * 2 )); LARGE=$(( LARGE / 2 * 2 ))

# ----- build --------------------------------------------------------------------------------
# Both come from the native preset (tools/loadgen is part of the root CMakeLists.txt).
mkdir -p build/bench
if [ ! -f build/native/build.ninja ] && [ ! -f build/native/Makefile ]; then
  say "configuring the native preset (cmake --preset native; log: build/bench/configure.log)"
  cmake --preset native >build/bench/configure.log 2>&1 || fail "cmake --preset native failed; see build/bench/configure.log"
fi
say "building duet-server and duet_loadgen (cmake --build --preset native; log: build/bench/build.log)"
run_bg cmake --build --preset native --target duet-server duet_loadgen --parallel 2 >build/bench/build.log 2>&1 ||
  fail "the build failed; see build/bench/build.log"
server_bin="$root/build/native/duet-server"
loadgen_bin="$root/build/native/tools/loadgen/duet_loadgen"
[ -x "$server_bin" ] && [ -x "$loadgen_bin" ] || fail "no duet-server or duet_loadgen binary after the build"
if [ "$SKIP_SIO" != 1 ] && [ ! -d node_modules/socket.io ]; then
  say "npm install (socket.io for the relay)"
  npm install --no-audit --no-fund --loglevel=error >build/bench/npm.log 2>&1 || fail "npm install failed; see build/bench/npm.log"
fi

# ----- servers ------------------------------------------------------------------------------
base=/dev/shm; [ -w "$base" ] || base=${TMPDIR:-/tmp}
tmp=$(mktemp -d "$base/duet-bench.XXXXXX")
secret=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')

stop_server() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# wait_port LOG REGEX: the port a server printed, within 15 s.
wait_port() {
  local i port
  for i in $(seq 150); do
    port=$(sed -n "$2" "$1" | head -n 1)
    [ -n "$port" ] && { echo "$port"; return 0; }
    sleep 0.1
  done
  return 1
}

start_duet() {  # sets pid and port
  local dir="$tmp/duet-$1"
  mkdir -p "$dir"
  cp "$tmp/seed.db" "$dir/duet.db"
  # Its own directory as the working directory, so no .env of the checkout is read.
  ( cd "$dir" && exec env JWT_SECRET="$secret" PORT=0 HOST=127.0.0.1 DUET_DATA_DIR="$dir" \
      MAX_CONNECTIONS=1000000 "${pin_server[@]}" "$server_bin" ) >"$dir/server.log" 2>&1 &
  pid=$!; pids+=("$pid")
  port=$(wait_port "$dir/server.log" 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p') ||
    fail "duet-server did not start; its log: $(tail -n 5 "$dir/server.log")"
}

start_sio() {
  local log="$tmp/sio-$1.log"
  ( exec env JWT_SECRET="$secret" PORT=0 HOST=127.0.0.1 "${pin_server[@]}" \
      node --expose-gc tools/benchmarks/socketio-relay.mjs ) >"$log" 2>&1 &
  pid=$!; pids+=("$pid")
  port=$(wait_port "$log" 's/^listening \([0-9]*\)$/\1/p') ||
    fail "the Socket.IO relay did not start; its log: $(tail -n 5 "$log")"
}

# loadgen NAME ARGS...: one load generator run on the other core; its JSON goes to NAME.json.
loadgen() {
  local name=$1
  shift
  run_bg timeout 600 "${pin_loadgen[@]}" "$loadgen_bin" run --secret "$secret" "$@" \
    >"$tmp/$name.json" 2> >(tee "$tmp/$name.log" | grep --line-buffered -E 'connected|calls set up|closed loop:|RSS with|no connection|server error|measuring again' | sed 's/^/    /' >&3) ||
    fail "the load generator failed in $name; its log: $(tail -n 5 "$tmp/$name.log")"
  sleep 0.2  # let the tee above finish printing
}

measure() {  # measure STACK NAME CONNS IDLE_SECS: one full run against a fresh server
  local stack=$1 name=$2 n=$3 idle=$4 extra=()
  if [ "$stack" = duet ]; then
    start_duet "$name"; extra=(--dialect duet --cap-rate "$DUET_CAP_RATE")
  else
    start_sio "$name"; extra=(--dialect sio --gc-signal 1)
  fi
  say "$stack, $n connections (server pid $pid on core $SERVER_CPU, port $port)"
  loadgen "$name" "${extra[@]}" --port "$port" --server-pid "$pid" --conns "$n" --settle "$idle" --warmup "$WARMUP" \
    --closed "$SECS" --paced "$SECS" --rate "$RATE" --window "$WINDOW"
  stop_server "$pid"
}

# ----- the run ------------------------------------------------------------------------------
say "machine: $cores cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), fd limit $fd_limit; binaries from cmake --preset native"
users=$(( MAX_TARGET > LARGE ? MAX_TARGET : LARGE ))
users=$(( (users + 1) / 2 * 2 ))
say "seeding $users users in contact pairs"
"$loadgen_bin" seed --db "$tmp/seed.db" --users "$users" >"$tmp/seed.log" 2>&1 || fail "seeding failed: $(tail -n 3 "$tmp/seed.log")"

measure duet duet-small "$SMALL" 3
measure duet duet-large "$LARGE" "$IDLE_SECS"

if [ "$SKIP_MAX" != 1 ]; then
  start_duet max
  procs=$(( (MAX_TARGET + per_process - 1) / per_process ))
  share=$(( MAX_TARGET / procs / 2 * 2 ))
  say "duet, as many connections as possible up to $MAX_TARGET: $procs load generator(s) of $share (server pid $pid, port $port)"
  lg_pids=()
  for k in $(seq 0 $((procs - 1))); do
    timeout 600 "${pin_loadgen[@]}" "$loadgen_bin" run --secret "$secret" --dialect duet --port "$port" \
      --conns "$share" --first-user $((k * share)) --src-base "127.$((20 + k)).0.1" --src-count 32 \
      --retries 0 --connect-timeout 8 --connect-phase 90 --stall 10 --max-pending 1000 --settle 0 \
      --hold-file "$tmp/hold" --hold-timeout 120 \
      >"$tmp/max-$k.json" 2>"$tmp/max-$k.log" &
    lg_pids+=($!); children+=($!)
  done
  for i in $(seq 1200); do  # until every load generator holds what it could open (<= 120 s)
    ready=$(cat "$tmp"/max-*.log 2>/dev/null | grep -c '^READY' || true)
    [ "$ready" -ge "$procs" ] && break
    running=0
    for p in "${lg_pids[@]}"; do kill -0 "$p" 2>/dev/null && running=$((running + 1)); done
    [ "$running" -eq 0 ] && break
    sleep 0.1
  done
  server_fds=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)
  server_rss=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$pid/status")
  touch "$tmp/hold"
  for p in "${lg_pids[@]}"; do wait "$p" || fail "a load generator of the connection count failed"; done
  max_conns=$(cat "$tmp"/max-*.json | node -e '
    const lines = require("fs").readFileSync(0, "utf8").trim().split("\n");
    console.log(lines.reduce((sum, l) => sum + (JSON.parse(l).held || 0), 0));')
  say "    held $max_conns authenticated connections at once (server: $server_fds open descriptors, RSS $((server_rss / 1024)) MiB)"
  printf '{"max_conns":%s,"server_fds":%s,"server_rss_kib":%s,"procs":%s}\n' "$max_conns" "$server_fds" "$server_rss" "$procs" >"$tmp/max.json"
  stop_server "$pid"
fi

if [ "$SKIP_SIO" != 1 ]; then
  measure sio sio-small "$SMALL" 3
  measure sio sio-large "$LARGE" "$IDLE_SECS"
fi

# ----- results ------------------------------------------------------------------------------
t_end=$(date +%s)
node - "$tmp" <<JS
const fs = require('fs');
const dir = process.argv[2];
const read = (name) => {
  try { return JSON.parse(fs.readFileSync(dir + '/' + name + '.json', 'utf8')); } catch { return null; }
};
const ds = read('duet-small'), dl = read('duet-large'), ss = read('sio-small'), sl = read('sio-large'), mx = read('max');
const r = (x, d = 1) => (x === null || x === undefined || !Number.isFinite(x) || x < 0 ? null : Number(x.toFixed(d)));
const get = (o, path) => path.split('.').reduce((a, k) => (a == null ? null : a[k]), o);
const ratio = (a, b, d = 2) => (a == null || b == null || b === 0 ? null : r(a / b, d));
const out = {
  benchmark: 'signaling',
  conns: $SMALL, conns_large: $LARGE, window_s: $SECS, closed_window: $WINDOW, paced_rate: $RATE,
  msgs_per_s: r(get(ds, 'closed.msgs_per_s'), 0),
  socketio_msgs_per_s: r(get(ss, 'closed.msgs_per_s'), 0),
  msgs_per_s_large: r(get(dl, 'closed.msgs_per_s'), 0),
  socketio_msgs_per_s_large: r(get(sl, 'closed.msgs_per_s'), 0),
  p50_ms_closed: r(get(ds, 'closed.p50_ms'), 3), p99_ms_closed: r(get(ds, 'closed.p99_ms'), 3),
  socketio_p50_ms_closed: r(get(ss, 'closed.p50_ms'), 3), socketio_p99_ms_closed: r(get(ss, 'closed.p99_ms'), 3),
  p50_ms_paced: r(get(ds, 'paced.p50_ms'), 3), p99_ms_paced: r(get(ds, 'paced.p99_ms'), 3),
  socketio_p50_ms_paced: r(get(ss, 'paced.p50_ms'), 3), socketio_p99_ms_paced: r(get(ss, 'paced.p99_ms'), 3),
  p50_ms_paced_large: r(get(dl, 'paced.p50_ms'), 3), p99_ms_paced_large: r(get(dl, 'paced.p99_ms'), 3),
  socketio_p50_ms_paced_large: r(get(sl, 'paced.p50_ms'), 3), socketio_p99_ms_paced_large: r(get(sl, 'paced.p99_ms'), 3),
  p50_ms_closed_large: r(get(dl, 'closed.p50_ms'), 3), p99_ms_closed_large: r(get(dl, 'closed.p99_ms'), 3),
  socketio_p50_ms_closed_large: r(get(sl, 'closed.p50_ms'), 3), socketio_p99_ms_closed_large: r(get(sl, 'closed.p99_ms'), 3),
  server_cpu: r(get(ds, 'closed.server_cpu'), 3), socketio_server_cpu: r(get(ss, 'closed.server_cpu'), 3),
  cpu_us_per_msg: r(get(ds, 'closed.server_cpu_us_per_msg'), 1),
  socketio_cpu_us_per_msg: r(get(ss, 'closed.server_cpu_us_per_msg'), 1),
  server_cpu_large: r(get(dl, 'closed.server_cpu'), 3), socketio_server_cpu_large: r(get(sl, 'closed.server_cpu'), 3),
  cpu_us_per_msg_large: r(get(dl, 'closed.server_cpu_us_per_msg'), 1),
  socketio_cpu_us_per_msg_large: r(get(sl, 'closed.server_cpu_us_per_msg'), 1),
  cpu_us_per_msg_paced: r(get(ds, 'paced.server_cpu_us_per_msg'), 1),
  socketio_cpu_us_per_msg_paced: r(get(ss, 'paced.server_cpu_us_per_msg'), 1),
  idle_cpu_large: r(get(dl, 'idle_cpu'), 4), socketio_idle_cpu_large: r(get(sl, 'idle_cpu'), 4),
  kib_per_conn: r(get(dl, 'kib_per_conn'), 2), kib_per_conn_n: get(dl, 'ready'),
  socketio_kib_per_conn: r(get(sl, 'kib_per_conn'), 2), socketio_kib_per_conn_n: get(sl, 'ready'),
  kib_per_conn_small: r(get(ds, 'kib_per_conn'), 2), socketio_kib_per_conn_small: r(get(ss, 'kib_per_conn'), 2),
  conns_per_s: r(get(dl, 'conns_per_s'), 0), socketio_conns_per_s: r(get(sl, 'conns_per_s'), 0),
  max_conns: mx ? mx.max_conns : null, max_conns_target: $MAX_TARGET, fd_limit: $fd_limit,
  max_conns_server_fds: mx ? mx.server_fds : null,
  max_conns_kib_per_conn: mx && mx.max_conns ? r(mx.server_rss_kib / mx.max_conns, 2) : null,
};
// Messages one fully busy server core relays per second, from the CPU the server used: the
// same as msgs_per_s when the server saturates its core, and still right when other
// processes took part of that core.
const perCore = (us) => (us == null || us <= 0 ? null : r(1e6 / us, 0));
out.msgs_per_core_s = perCore(out.cpu_us_per_msg);
out.socketio_msgs_per_core_s = perCore(out.socketio_cpu_us_per_msg);
out.msgs_per_core_s_large = perCore(out.cpu_us_per_msg_large);
out.socketio_msgs_per_core_s_large = perCore(out.socketio_cpu_us_per_msg_large);
out.msgs_per_core_ratio = ratio(out.msgs_per_core_s, out.socketio_msgs_per_core_s);
out.msgs_per_core_ratio_large = ratio(out.msgs_per_core_s_large, out.socketio_msgs_per_core_s_large);
out.msgs_ratio = ratio(out.msgs_per_s, out.socketio_msgs_per_s);
out.msgs_ratio_large = ratio(out.msgs_per_s_large, out.socketio_msgs_per_s_large);
out.p99_ratio = ratio(out.socketio_p99_ms_paced, out.p99_ms_paced, 1);
out.mem_ratio = ratio(out.socketio_kib_per_conn, out.kib_per_conn);
const runs = [ds, dl, ss, sl].filter(Boolean);
const windows = runs.flatMap((x) => [x.closed, x.paced]).filter(Boolean);
out.loadgen_cpu_max = r(Math.max(...windows.map((w) => w.loadgen_cpu)), 3);
out.other_cpu_max = r(Math.max(...windows.map((w) => w.other_cpu)), 3);
out.windows_repeated = windows.reduce((n, w) => n + (w.attempts || 1) - 1, 0);
out.errors = runs.reduce((n, x) => n + Object.values(x.errors || {}).reduce((a, b) => a + b, 0), 0);
out.failed_conns = runs.reduce((n, x) => n + (x.failed || 0), 0);
out.cap_deferred = runs.reduce((n, x) => n + (x.cap_deferred || 0), 0);
out.meets_msgs_target = out.msgs_ratio == null ? null : out.msgs_ratio >= 8;
out.meets_p99_target = out.p99_ms_paced == null ? null : out.p99_ms_paced < 2;
out.meets_mem_target = out.kib_per_conn == null ? null : out.kib_per_conn <= 4;
out.meets_conns_target = out.max_conns == null ? null : out.max_conns >= 50000;
out.duration_s = $t_end - $t_start;
out.date = new Date().toISOString();

const f = (x, unit = '') => (x == null ? '-' : x.toLocaleString('en-US') + unit);
const rows = [
  ['closed loop msgs/s, ' + out.conns + ' conns', f(out.msgs_per_s), f(out.socketio_msgs_per_s), f(out.msgs_ratio, 'x'), '>= 8x'],
  ['closed loop msgs/s, ' + out.conns_large + ' conns', f(out.msgs_per_s_large), f(out.socketio_msgs_per_s_large), f(out.msgs_ratio_large, 'x'), ''],
  ['msgs/s per busy server core, ' + out.conns, f(out.msgs_per_core_s), f(out.socketio_msgs_per_core_s), f(out.msgs_per_core_ratio, 'x'), ''],
  ['msgs/s per busy server core, ' + out.conns_large, f(out.msgs_per_core_s_large), f(out.socketio_msgs_per_core_s_large), f(out.msgs_per_core_ratio_large, 'x'), ''],
  ['server CPU cores / us per msg, ' + out.conns, f(out.server_cpu) + ' / ' + f(out.cpu_us_per_msg), f(out.socketio_server_cpu) + ' / ' + f(out.socketio_cpu_us_per_msg), '', ''],
  ['server CPU cores / us per msg, ' + out.conns_large, f(out.server_cpu_large) + ' / ' + f(out.cpu_us_per_msg_large), f(out.socketio_server_cpu_large) + ' / ' + f(out.socketio_cpu_us_per_msg_large), '', ''],
  ['closed loop p50 / p99 ms, ' + out.conns, f(out.p50_ms_closed) + ' / ' + f(out.p99_ms_closed), f(out.socketio_p50_ms_closed) + ' / ' + f(out.socketio_p99_ms_closed), '', ''],
  ['closed loop p50 / p99 ms, ' + out.conns_large, f(out.p50_ms_closed_large) + ' / ' + f(out.p99_ms_closed_large), f(out.socketio_p50_ms_closed_large) + ' / ' + f(out.socketio_p99_ms_closed_large), '', ''],
  ['paced ' + out.paced_rate + '/s p50 / p99 ms, ' + out.conns, f(out.p50_ms_paced) + ' / ' + f(out.p99_ms_paced), f(out.socketio_p50_ms_paced) + ' / ' + f(out.socketio_p99_ms_paced), f(out.p99_ratio, 'x'), 'p99 < 2 ms'],
  ['paced p50 / p99 ms, ' + out.conns_large, f(out.p50_ms_paced_large) + ' / ' + f(out.p99_ms_paced_large), f(out.socketio_p50_ms_paced_large) + ' / ' + f(out.socketio_p99_ms_paced_large), '', ''],
  ['KiB per idle authed conn (' + out.kib_per_conn_n + ')', f(out.kib_per_conn), f(out.socketio_kib_per_conn), f(out.mem_ratio, 'x'), '<= 4 KiB'],
  ['KiB per idle authed conn (' + out.conns + ')', f(out.kib_per_conn_small), f(out.socketio_kib_per_conn_small), '', ''],
  ['server CPU, ' + out.conns_large + ' idle conns (cores)', f(out.idle_cpu_large), f(out.socketio_idle_cpu_large), '', ''],
  ['connections set up per s', f(out.conns_per_s), f(out.socketio_conns_per_s), '', ''],
  ['max authenticated conns', f(out.max_conns), '', '', '>= ' + f(out.max_conns_target)],
];
const w = [38, 17, 17, 8, 12];
const line = (c) => console.log('  ' + c.map((x, i) => String(x).padEnd(w[i])).join(' '));
console.log('');
line(['', 'duet-server', 'Socket.IO 4', 'ratio', 'target']);
rows.forEach(line);
console.log('');
if (out.other_cpu_max > 0.1) console.log('[signaling] WARNING: other processes used up to ' + out.other_cpu_max + ' cores during a measured window: the figures are disturbed; run again on a quiet machine');
if (out.loadgen_cpu_max > 0.9) console.log('[signaling] NOTE: the load generator used ' + out.loadgen_cpu_max + ' of its core in a window: that window may measure the load generator');
if (out.max_conns != null && out.max_conns < out.max_conns_target && out.max_conns_server_fds >= out.fd_limit - 100) console.log('[signaling] NOTE: max_conns stopped at the file-descriptor hard limit (' + out.fd_limit + ') of this machine, not at the server');
if (out.cap_deferred > 0) console.log('[signaling] NOTE: the load generator held back ' + out.cap_deferred + ' messages to stay under duet-server\'s 50 messages/s per connection: the closed loop was limited by it');
console.log('[signaling] done in ' + out.duration_s + ' s');
console.log(JSON.stringify(out));
JS
