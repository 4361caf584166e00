#!/usr/bin/env bash
# Call set-up time (callee's accept to first remote frame), Duet vs simple-peer; page weight.
#
# Run as `tools/bench setup`; docs/benchmarks.md#setup explains the method and every key of the
# JSON object this prints as its last line. This script makes sure the pieces exist (duet-server,
# the duet-core module, Chromium, the npm packages) and runs tools/benchmarks/setup.mjs, which
# does the measuring: 20 calls per stack (after 2 warm-up calls) in headless Chromium on
# loopback, Duet through its SDK and the real duet-server, the seed through simple-peer over a
# Socket.IO relay, alternating.
#
# Settings (environment): BENCH_CALLS (20), BENCH_WARMUP (2), BENCH_RING_MS (how long the callee
# lets it ring before accepting, 1500), BENCH_GAP_MS (pause between calls, 300), BENCH_DEADLINE_S
# (the measuring part's time limit, 290), BENCH_BUILD=1 (build duet-server and the module even
# when they exist; otherwise only missing ones are built).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

say() { printf '[setup] %s\n' "$*"; }
fail() {
  local m=$*
  say "FAILED: $m"
  m=${m//\\/\\\\}; m=${m//\"/\\\"}; m=$(printf '%s' "$m" | tr '\n\r\t' '   ')
  printf '{"benchmark":"setup","error":"%s"}\n' "$m"
  exit 1
}

command -v node >/dev/null || fail "node is missing (tools/setup installs it)"
mkdir -p build/bench
[ -x /usr/bin/chromium ] || fail "/usr/bin/chromium is missing (tools/setup installs it)"
if [ ! -d node_modules/playwright-core ] || [ ! -f node_modules/simple-peer/simplepeer.min.js ] || [ ! -d node_modules/socket.io ]; then
  say "npm install (playwright-core, socket.io, simple-peer from package-lock.json)"
  npm install --no-audit --no-fund >build/bench/setup-npm.log 2>&1 || fail "npm install failed; see build/bench/setup-npm.log"
fi

# The build directories are shared with tools/test: build only what is missing unless asked, so a
# benchmark run does not rebuild (or race a test run's build) behind someone's back.
build_target() {  # build_target PRESET TARGET WHAT
  say "building $3 (cmake --build --preset $1 --target $2; log: build/bench/setup-build-$1.log)"
  { [ -f "build/$1/build.ninja" ] || cmake --preset "$1"; } >"build/bench/setup-build-$1.log" 2>&1 &&
    cmake --build --preset "$1" --target "$2" --parallel 2 >>"build/bench/setup-build-$1.log" 2>&1 ||
    fail "building $3 failed; see build/bench/setup-build-$1.log"
}
if [ "${BENCH_BUILD:-0}" = 1 ] || [ ! -x build/native/duet-server ]; then
  build_target native duet-server duet-server
fi
if [ "${BENCH_BUILD:-0}" = 1 ] || [ ! -f build/wasm/module/duet-core.mjs ] || [ ! -f build/wasm/module/duet-core.wasm ]; then
  build_target wasm duet_module "the duet-core module"
fi
newer=$(find src include wasm -newer build/native/duet-server \( -name '*.cpp' -o -name '*.hpp' \) 2>/dev/null | head -n 3 | tr '\n' ' ')
[ -z "$newer" ] || say "note: sources are newer than build/native/duet-server ($newer...); BENCH_BUILD=1 rebuilds"
say "duet-server and duet-core as built at $(date -u -r build/native/duet-server +%FT%TZ) / $(date -u -r build/wasm/module/duet-core.wasm +%FT%TZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"

# setup.mjs keeps its own time limit and handles INT and TERM itself (it stops what it started and
# prints the error line); `timeout` is the last resort. It runs in the background so that this
# script can pass a signal on at once: a script waiting for a foreground command would not.
limit=$(( ${BENCH_DEADLINE_S:-290} + 40 ))
timeout --foreground --kill-after=20 "$limit" node tools/benchmarks/setup.mjs &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null || true' INT TERM
while kill -0 "$pid" 2>/dev/null; do
  wait "$pid" || true  # returns early when a signal was trapped
done
status=0
wait "$pid" || status=$?
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  fail "setup.mjs did not finish within ${limit} s"
fi
exit "$status"
