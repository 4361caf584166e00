# Shared by tools/test and tools/run (sourced, not run). The caller sets `tag` first.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
logs="$root/build/logs"
jobs=2  # parallel build jobs

say() { printf '[%s] %s\n' "$tag" "$*"; }

# step <log name> <what> <command...>: runs the command with its output in build/logs/<name>.log;
# on failure says so, prints the log's last lines and returns the command's status.
step() {
  local name=$1 what=$2 status=0
  shift 2
  mkdir -p "$logs"
  say "$what (log: build/logs/$name.log)"
  "$@" >"$logs/$name.log" 2>&1 || status=$?
  if [ "$status" -ne 0 ]; then
    say "FAILED: $what (exit $status); the end of build/logs/$name.log:"
    tail -n 40 "$logs/$name.log" | sed 's/^/    /'
  fi
  return "$status"
}
