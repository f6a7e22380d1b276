#!/usr/bin/env bash
# bench/ldap/run.sh — `make bench-ldap`: loads the same users into a private slapd (Debian's
# slapd, back-mdb, indexed uid/cn/member/objectClass, argon2 module) and into Tessera, runs the
# same LDAP workloads against each with tools/ldapbench, and prints one side-by-side table with
# ops/s, p50/p99, RSS, the ratio and the issue's targets (PASS/FAIL).
#
# Both servers are loaded and started for a size, then measured in turn: the search cases
# alternate slapd and Tessera round by round (A/B/A/B…), so a change in the machine's background
# load hits both alike, and the median round of each side is reported. Only one of them is ever
# under load. Beside the rate, every measured run records the server's CPU time per operation
# (/proc/<pid>/stat), which background load disturbs far less. Both servers' memory is read the
# same way (VmRSS, VmHWM, RssAnon, RssFile of the server process from /proc/<pid>/status) after
# loading, after a one-connection warm-up (one bind each: the data, not argon2 buffers), after the
# searches and after every run. Everything runs on 127.0.0.1 from a private temporary directory,
# and both servers are stopped (and the directory removed) on any exit. The system's slapd
# (/etc/ldap/slapd.d, port 389, its ldapi socket) is neither used nor touched.
#
# Needs: slapd and ldap-utils (Debian), the release binaries ldapbench and tessera
# (`make bench-ldap` installs and builds them). Settings (environment, with defaults):
#   BENCH_SIZES="10000 100000"   dataset sizes (users), one full round each
#   BENCH_PASSWORD_USERS=1500    users with a password (each costs one argon2id hash to set up,
#                                on each side); all users exist and are searched
#   BENCH_SIDES="slapd tessera"  which servers to run
#   BENCH_SEARCH_OPS=30000       operations of a uid-search round
#   BENCH_GROUP_OPS=10000        operations of a group-search round
#   BENCH_SEARCH_SECS=20         time limit of each search round (a slow side reports the rate
#                                it reached, marked *, instead of running for ever)
#   BENCH_OP_TIMEOUT_SECS=120    one operation's time limit (past it the connection counts an
#                                error and stops): a slow answer is reported as slow, not lost
#   BENCH_ROUNDS=3               rounds of each search case per side; the median is reported
#   BENCH_REPEAT_OPS=30000       operations of the same-user re-bind case
#   BENCH_BIND_SECS=15           time limit of each bind case (slapd verifies argon2 every time)
#   BENCH_BIND_CONNS=            connections of the argon2 bind case (default 4 × cores:
#                                Tessera's per-tenant hashing queue admits 4 waiting binds per
#                                worker and answers "busy" beyond that, by design)
#   BENCH_WARMUP_OPS=5000        uid searches before measuring, on one connection (pages the
#                                data in), then up to 200 group searches (10 s at most)
#   BENCH_CLIENT_THREADS=        ldapbench runtime threads (default: the number of cores).
#                                The client shares the machine: with one thread it tops out
#                                near 34k uid searches/s here and both servers hit that same
#                                ceiling, which hides the difference the bench is for
#   BENCH_SLAPD_THREADS=16       slapd's worker threads (its default)
#   BENCH_SLAPD_PORT=13389 BENCH_TESSERA_PORT=13390 BENCH_TESSERA_LDAPS_PORT=13636
#   BENCH_TESSERA_HTTP_PORT=13443  (all on 127.0.0.1; each must be free)
#   BENCH_TESSERA_CONFIG_EXTRA=  extra TOML lines for the [ldap] section of Tessera's config
#   BENCH_OUT=…/bench-ldap       where results.jsonl and report.txt are kept (default: under
#                                ${CARGO_TARGET_DIR:-target})
#   BENCH_KEEP=0                 1: keep the temporary directory (stores, logs)
#   BENCH_STRICT=0               1: exit 3 when a target that could be checked fails
#   LDAPBENCH, TESSERA           the binaries (default ${CARGO_TARGET_DIR:-target}/release/…)
#   BENCH_TESSERA_BUILD=ok       `failed` when make could not build tessera (reported as such)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CORES=$(nproc)
SIZES=${BENCH_SIZES:-"10000 100000"}
PASSWORD_USERS=${BENCH_PASSWORD_USERS:-1500}
SIDES=${BENCH_SIDES:-"slapd tessera"}
SEARCH_OPS=${BENCH_SEARCH_OPS:-30000}
GROUP_OPS=${BENCH_GROUP_OPS:-10000}
SEARCH_SECS=${BENCH_SEARCH_SECS:-20}
OP_TIMEOUT=${BENCH_OP_TIMEOUT_SECS:-120}
ROUNDS=${BENCH_ROUNDS:-3}
REPEAT_OPS=${BENCH_REPEAT_OPS:-30000}
BIND_SECS=${BENCH_BIND_SECS:-15}
BIND_CONNS=${BENCH_BIND_CONNS:-$((4 * CORES))}
WARMUP_OPS=${BENCH_WARMUP_OPS:-5000}
CLIENT_THREADS=${BENCH_CLIENT_THREADS:-$CORES}
SLAPD_THREADS=${BENCH_SLAPD_THREADS:-16}
SLAPD_PORT=${BENCH_SLAPD_PORT:-13389}
TESSERA_PORT=${BENCH_TESSERA_PORT:-13390}
TESSERA_LDAPS_PORT=${BENCH_TESSERA_LDAPS_PORT:-13636}
TESSERA_HTTP_PORT=${BENCH_TESSERA_HTTP_PORT:-13443}
CONFIG_EXTRA=${BENCH_TESSERA_CONFIG_EXTRA:-}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
case $TARGET_DIR in /*) ;; *) TARGET_DIR=$PWD/$TARGET_DIR ;; esac
OUT=${BENCH_OUT:-$TARGET_DIR/bench-ldap}
KEEP=${BENCH_KEEP:-0}
STRICT=${BENCH_STRICT:-0}
LDAPBENCH=${LDAPBENCH:-$TARGET_DIR/release/ldapbench}
TESSERA=${TESSERA:-$TARGET_DIR/release/tessera}
TESSERA_BUILD=${BENCH_TESSERA_BUILD:-ok}
# Users of the bind cases: 0..ARGON2_WARMUP-1 warm up, then the measured argon2 binds take each
# user once (a repeated user would be a cache hit in Tessera); the last one re-binds (after one
# bind that fills Tessera's verified-credential cache: the case measures cached re-binds).
ARGON2_WARMUP=20
REPEAT_USER=$((PASSWORD_USERS - 1))
ARGON2_OPS=$((PASSWORD_USERS - 1 - ARGON2_WARMUP))

# Tessera reads TESSERA_* from the environment over its config file: none of the caller's.
for v in $(compgen -e | grep '^TESSERA_' || true); do unset "$v"; done

die() { echo "bench-ldap: $*" >&2; exit 1; }
say() { echo "bench-ldap [$(printf '%4d' "$SECONDS") s]: $*"; }

[ -x "$LDAPBENCH" ] || die "$LDAPBENCH not found: cargo build --release -p ldapbench"
[ "$ARGON2_OPS" -ge 100 ] || die "BENCH_PASSWORD_USERS=$PASSWORD_USERS is too small (at least 121)"
for s in $SIZES; do
  [ "$s" -ge "$PASSWORD_USERS" ] || die "size $s is smaller than BENCH_PASSWORD_USERS=$PASSWORD_USERS"
done
export PATH="$PATH:/usr/sbin"
case " $SIDES " in *" slapd "*)
  for t in slapd slapadd; do
    command -v "$t" >/dev/null || die "$t not found: apt-get install slapd ldap-utils (make bench-ldap does)"
  done
  [ -f /usr/lib/ldap/argon2.so ] || die "slapd's argon2 module /usr/lib/ldap/argon2.so is missing"
  [ -f /etc/ldap/schema/nis.schema ] || die "/etc/ldap/schema/nis.schema is missing (package slapd)"
;; esac

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tessera-bench-ldap.XXXXXX")
mkdir -p "$OUT"
RESULTS=$WORK/results.jsonl
: >"$RESULTS"
declare -A PID=()

# stop <side>
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  local rc=$?
  stop slapd
  stop tessera
  if [ "$KEEP" = 1 ]; then
    say "kept $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# A port already answering would be measured instead of the server started here.
port_free() { # port
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
ports=()
case " $SIDES " in *" slapd "*) ports+=("$SLAPD_PORT") ;; esac
case " $SIDES " in *" tessera "*) ports+=("$TESSERA_PORT" "$TESSERA_LDAPS_PORT" "$TESSERA_HTTP_PORT") ;; esac
for port in "${ports[@]}"; do
  port_free "$port" || die "127.0.0.1:$port is in use (a server left from another run?): free it or set BENCH_*_PORT"
done

url_of() {
  case $1 in
    slapd) echo "ldap://127.0.0.1:$SLAPD_PORT" ;;
    tessera) echo "ldap://127.0.0.1:$TESSERA_PORT" ;;
  esac
}
# ldapbench run with the common arguments. A measured run (`--case`) is recorded; a failed one
# is recorded by ldapbench as failed and the bench goes on.
bench() { # side users label workload connections ops [more ldapbench args]
  local side=$1 users=$2 label=$3 workload=$4 conns=$5 ops=$6
  shift 6
  if ! "$LDAPBENCH" run --url "$(url_of "$side")" --workload "$workload" --connections "$conns" \
      --ops "$ops" --users "$users" --password-users "$PASSWORD_USERS" \
      --threads "$CLIENT_THREADS" --op-timeout-secs "$OP_TIMEOUT" --side "$side" "$@" 2>&1 | sed "s/^/  $side $label: /"; then
    say "$side $label failed (recorded; the bench goes on)"
  fi
}
measure() { # side users case workload connections ops [more]
  local side=$1 users=$2 case=$3
  shift 3
  bench "$side" "$users" "$case" "$@" --case "$case" --record "$RESULTS" --server-pid "${PID[$side]}"
}
rss() { # side users phase
  if ! "$LDAPBENCH" rss --pid "${PID[$1]}" --side "$1" --users "$2" --phase "$3" \
      --record "$RESULTS" 2>&1 | sed "s/^/  /"; then
    say "$1: no memory sample $3 (has the server exited?)"
  fi
}

# --- slapd -------------------------------------------------------------------------------
slapd_start() { # users
  local users=$1 dir=$WORK/slapd-$1
  mkdir -p "$dir/db"
  say "slapd, $users users: LDIF (argon2id hashes for $PASSWORD_USERS users) and slapadd"
  "$LDAPBENCH" gen-ldif --users "$users" --password-users "$PASSWORD_USERS" --out "$dir/data.ldif" \
    --hash-cache "$WORK/argon2-hashes.txt" | sed "s/^/  /"
  # Debian's nis.schema has posixGroup STRUCTURAL, which cannot sit beside groupOfNames; the
  # rfc2307bis definition (AUXILIARY) can, and it is what Tessera's groups look like.
  sed "/NAME 'posixGroup'/,/MAY/ s/STRUCTURAL/AUXILIARY/" /etc/ldap/schema/nis.schema >"$dir/nis-bis.schema"
  cat >"$dir/slapd.conf" <<EOF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include $dir/nis-bis.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload argon2 m=19456 t=2 p=1
pidfile $dir/slapd.pid
argsfile $dir/slapd.args
# (New passwords set through slapd would be argon2i with these parameters; the bench's are
# argon2id hashes in the LDIF, the ones both servers verify.)
password-hash {ARGON2}
threads $SLAPD_THREADS
tool-threads $CORES
loglevel 0
sizelimit unlimited

database mdb
suffix "dc=tessera,dc=local"
rootdn "cn=admin,dc=tessera,dc=local"
directory $dir/db
maxsize 8589934592
index objectClass eq
index uid eq
index cn eq
index member eq
access to attrs=userPassword by anonymous auth by * none
access to * by users read by * none
EOF
  local t0=$SECONDS
  slapadd -q -f "$dir/slapd.conf" -l "$dir/data.ldif"
  say "slapadd: $((SECONDS - t0)) s; $(du -sh "$dir/db" | cut -f1) on disk"
  slapd -h "$(url_of slapd)/" -f "$dir/slapd.conf" -d 0 >"$dir/slapd.log" 2>&1 &
  PID[slapd]=$!
  if ! "$LDAPBENCH" wait --url "$(url_of slapd)" --pid "${PID[slapd]}" --timeout-secs 30; then
    tail -n 20 "$dir/slapd.log" >&2 || true
    die "slapd did not start (log above)"
  fi
}

# --- Tessera -----------------------------------------------------------------------------
TESSERA_OK=1
tessera_unavailable() { # reason [users]
  say "Tessera: NOT AVAILABLE YET — $1"
  "$LDAPBENCH" unavailable --side tessera --reason "$1" ${2:+--users "$2"} --record "$RESULTS"
  TESSERA_OK=0
}
tessera_config() { # dir
  cat <<EOF
data_dir = "$1/data"
master_key_file = "$1/master.key"

[http]
listen = "127.0.0.1:$TESSERA_HTTP_PORT"

[log]
level = "warn"

[ldap]
listen = "127.0.0.1:$TESSERA_PORT"
ldaps_listen = "127.0.0.1:$TESSERA_LDAPS_PORT"
allow_plain_binds = true
$CONFIG_EXTRA
EOF
}
tessera_preflight() {
  if [ "$TESSERA_BUILD" = failed ]; then
    tessera_unavailable "the tessera binary did not build (see the cargo output above)"
    return
  fi
  if [ ! -x "$TESSERA" ]; then
    tessera_unavailable "$TESSERA not found (cargo build --release -p tessera)"
    return
  fi
  local dir=$WORK/tessera-preflight out
  mkdir -p "$dir"
  tessera_config "$dir" >"$dir/tessera.toml"
  # `check` parses the configuration (unknown keys are errors) and opens an empty store.
  if ! out=$(cd "$dir" && RUST_BACKTRACE=0 "$TESSERA" --config "$dir/tessera.toml" check 2>&1); then
    out=$(echo "$out" | grep -v '^WARNING' | sed '/Stack backtrace/,$d' | tr -s ' \n' ' ' | cut -c1-300)
    tessera_unavailable "tessera check refused the bench's configuration: $out"
  fi
}
tessera_start() { # users
  local users=$1 dir=$WORK/tessera-$1
  mkdir -p "$dir"
  say "Tessera, $users users: seeding a new store (argon2id passwords for $PASSWORD_USERS users)"
  # Called in an `if`, so errexit is off in here: every step that matters is checked.
  if ! "$LDAPBENCH" seed-tessera --users "$users" --password-users "$PASSWORD_USERS" \
      --data-dir "$dir/data" --master-key-file "$dir/master.key" 2>&1 | sed "s/^/  /"; then
    tessera_unavailable "seeding the store failed (output above)" "$users"
    return 1
  fi
  tessera_config "$dir" >"$dir/tessera.toml" || return 1
  (cd "$dir" && RUST_BACKTRACE=0 exec "$TESSERA" --config "$dir/tessera.toml" serve) >"$dir/tessera.log" 2>&1 &
  PID[tessera]=$!
  if ! "$LDAPBENCH" wait --url "$(url_of tessera)" --pid "${PID[tessera]}" --timeout-secs 60 2>"$dir/wait.err"; then
    local why
    why="no LDAP answer on $(url_of tessera): $(tr -s ' \n' ' ' <"$dir/wait.err" | cut -c1-200); server log: $(tail -n 5 "$dir/tessera.log" | tr -s ' \n' ' ' | cut -c1-300)"
    stop tessera
    tessera_unavailable "$why" "$users"
    return 1
  fi
}

# --- one size ----------------------------------------------------------------------------
size_round() { # users
  local users=$1 sides=() side warm_ops=$WARMUP_OPS r
  case " $SIDES " in *" slapd "*)
    slapd_start "$users"
    sides+=(slapd)
  ;; esac
  if [ "$TESSERA_OK" = 1 ] && tessera_start "$users"; then
    sides+=(tessera)
  fi
  [ "${#sides[@]}" -gt 0 ] || return 0
  [ "$warm_ops" -le "$users" ] || warm_ops=$users
  # One connection, so one bind: the after-warmup sample is the data read, not argon2 buffers.
  for side in "${sides[@]}"; do
    rss "$side" "$users" after-load
    bench "$side" "$users" warm-up search-uid 1 "$warm_ops" --seed 99 --max-secs 60
    bench "$side" "$users" warm-up search-group 1 200 --seed 99 --max-secs 10
    rss "$side" "$users" after-warmup
  done
  # Searches: the sides take turns, round by round.
  for r in $(seq 1 "$ROUNDS"); do
    for side in "${sides[@]}"; do
      measure "$side" "$users" uid-16 search-uid 16 "$SEARCH_OPS" --seed $((100 + r)) \
        --max-secs "$SEARCH_SECS"
    done
  done
  for r in $(seq 1 "$ROUNDS"); do
    for side in "${sides[@]}"; do
      measure "$side" "$users" uid-64 search-uid 64 "$SEARCH_OPS" --seed $((200 + r)) \
        --max-secs "$SEARCH_SECS"
    done
  done
  for r in $(seq 1 "$ROUNDS"); do
    for side in "${sides[@]}"; do
      measure "$side" "$users" group-16 search-group 16 "$GROUP_OPS" --seed $((300 + r)) \
        --max-secs "$SEARCH_SECS"
    done
  done
  for side in "${sides[@]}"; do
    rss "$side" "$users" after-searches
  done
  # Binds: each user once for argon2 (no second round), then one user over and over.
  for side in "${sides[@]}"; do
    bench "$side" "$users" warm-up bind-argon2 "$BIND_CONNS" "$ARGON2_WARMUP" --first-user 0
    measure "$side" "$users" argon2 bind-argon2 "$BIND_CONNS" "$ARGON2_OPS" \
      --first-user "$ARGON2_WARMUP" --max-secs "$BIND_SECS"
  done
  for side in "${sides[@]}"; do
    bench "$side" "$users" warm-up bind-repeat 1 1 --first-user "$REPEAT_USER"
    measure "$side" "$users" repeat bind-repeat 16 "$REPEAT_OPS" \
      --first-user "$REPEAT_USER" --max-secs "$BIND_SECS"
  done
  for side in "${sides[@]}"; do
    rss "$side" "$users" after-runs
    stop "$side"
  done
}

# --- the run -----------------------------------------------------------------------------
say "work dir $WORK; sizes: $SIZES; sides: $SIDES; $CORES cores"
"$LDAPBENCH" hash-time --record "$RESULTS" | sed "s/^/  /"
case " $SIDES " in *" tessera "*) tessera_preflight ;; *) TESSERA_OK=0 ;; esac
for users in $SIZES; do
  size_round "$users"
done

cp "$RESULTS" "$OUT/results.jsonl"
report_args=("$RESULTS")
[ "$STRICT" = 1 ] && report_args+=(--strict)
status=0
"$LDAPBENCH" report "${report_args[@]}" | tee "$OUT/report.txt" || status=$?
say "results: $OUT/results.jsonl, $OUT/report.txt"
exit "$status"
