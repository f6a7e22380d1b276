# shellcheck shell=bash
# bench/lib.sh — sourced by the bench scripts (bench/*/run.sh): stopping a server the script
# started. The script keeps its servers' process ids in the associative array PID (side → pid).

# stop <side>: SIGTERM, then SIGKILL after 15 s; only the process this script started.
stop() {
  local p=${PID[$1]:-} _
  if [ -n "$p" ]; then
    kill -TERM "$p" 2>/dev/null || true
    for _ in $(seq 150); do
      kill -0 "$p" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
    PID[$1]=""
  fi
}
