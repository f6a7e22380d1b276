#!/usr/bin/env bash
# bench/radius/run.sh — `make bench-radius`: Tessera's RADIUS frontend beside a private
# FreeRADIUS (Debian's freeradius 3.2) holding the same users, driven by radclient and eapol_test,
# with one side-by-side table: ops/s, EAP wall-time percentiles, the server's CPU per operation,
# the ratio and the targets of issue 6 (PASS/FAIL).
#
# Cases, each in rounds that alternate the sides (A/B, then B/A …; only one server is under load
# at a time; the median round is reported):
#   pap-argon2  PAP for distinct users (each user once: Tessera verifies argon2id every time, no
#               cache hit); FreeRADIUS gets sha512-crypt hashes tuned to the same cost, since it
#               cannot verify argon2 (the tuning is printed). radclient -f <file> -p <parallel>,
#               at nice 19 for both sides (it polls while its window is full; target 1 counts
#               the cores the server gets).
#   pap-cached  PAP for one user over and over (Tessera: the verified-credential cache;
#               FreeRADIUS: that user's Cleartext-Password). radclient -c.
#   eap-seq     EAP-TTLS/PAP with eapol_test, one full authentication at a time, a fresh user each
#               (an argon2id / equal-cost verification each): wall time median and p90.
#   eap-par     the same, several eapol_test at once: authentications per second.
# Message-Authenticator is on every Access-Request (both servers require it). Beside the rate,
# every measured run records the server's CPU time per operation (/proc/<pid>/stat), which
# background load disturbs far less. Everything runs on 127.0.0.1 from a private temporary
# directory: FreeRADIUS from a configuration written there (`freeradius -f -d <dir>`), never the
# system's /etc/freeradius nor its service; both servers are stopped and the directory removed
# on any exit.
#
# Needs: freeradius, freeradius-utils (radclient), eapoltest (eapol_test), openssl, python3
# (Debian 12's, for its crypt module), the release binaries tessera and ldapbench
# (`make bench-radius` installs and builds them). Settings (environment, with defaults):
#   BENCH_ROUNDS=3               rounds of each case per side
#   BENCH_ARGON2_OPS=240         distinct users per pap-argon2 round
#   BENCH_PARALLEL=              requests in flight for pap-argon2 (default 4 × cores:
#                                Tessera's per-tenant hashing queue admits 4 waiting
#                                verifications per worker and drops beyond that, by design)
#   BENCH_REPEAT_OPS=20000       requests per pap-cached round
#   BENCH_REPEAT_PARALLEL=16     requests in flight for pap-cached
#   BENCH_EAP_RUNS=16            eapol_test runs per eap-seq round
#   BENCH_EAP_BATCH=32           eapol_test runs per eap-par round
#   BENCH_EAP_PARALLEL=          eapol_test runs at once in eap-par (default 4 × cores)
#   BENCH_EAP_TLS=1.2            TLS version of the EAP tunnel on both sides: 1.2 or 1.3
#   BENCH_USERS=                 users in Tessera's tenant (default: just the ones with passwords)
#   BENCH_SIDES="freeradius tessera"  which servers to run
#   BENCH_SECRET=bench-radius-shared-secret   the NAS's shared secret on both sides (≥ 16)
#   BENCH_FREERADIUS_PORT=11812 BENCH_TESSERA_PORT=11822 (its accounting port is the next one)
#   BENCH_TESSERA_HTTP_PORT=11443  (all on 127.0.0.1; each must be free)
#   BENCH_OUT=…/bench-radius     where results.jsonl and report.txt are kept (default: under
#                                ${CARGO_TARGET_DIR:-target})
#   BENCH_KEEP=0                 1: keep the temporary directory (stores, configs, logs)
#   BENCH_STRICT=0               1: exit 3 when a target that could be checked fails
#   LDAPBENCH, TESSERA           the binaries (default ${CARGO_TARGET_DIR:-target}/release/…)
#   BENCH_TESSERA_BUILD=ok       `failed` when make could not build tessera (reported as such)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/bench/radius
CORES=$(nproc)
ROUNDS=${BENCH_ROUNDS:-3}
ARGON2_OPS=${BENCH_ARGON2_OPS:-240}
PARALLEL=${BENCH_PARALLEL:-$((4 * CORES))}
REPEAT_OPS=${BENCH_REPEAT_OPS:-20000}
REPEAT_PARALLEL=${BENCH_REPEAT_PARALLEL:-16}
EAP_RUNS=${BENCH_EAP_RUNS:-16}
EAP_BATCH=${BENCH_EAP_BATCH:-32}
EAP_PARALLEL=${BENCH_EAP_PARALLEL:-$((4 * CORES))}
EAP_TLS=${BENCH_EAP_TLS:-1.2}
SIDES=${BENCH_SIDES:-"freeradius tessera"}
SECRET=${BENCH_SECRET:-bench-radius-shared-secret}
FR_PORT=${BENCH_FREERADIUS_PORT:-11812}
TESSERA_PORT=${BENCH_TESSERA_PORT:-11822}
TESSERA_ACCT_PORT=$((TESSERA_PORT + 1))
TESSERA_HTTP_PORT=${BENCH_TESSERA_HTTP_PORT:-11443}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
case $TARGET_DIR in /*) ;; *) TARGET_DIR=$PWD/$TARGET_DIR ;; esac
OUT=${BENCH_OUT:-$TARGET_DIR/bench-radius}
KEEP=${BENCH_KEEP:-0}
STRICT=${BENCH_STRICT:-0}
LDAPBENCH=${LDAPBENCH:-$TARGET_DIR/release/ldapbench}
TESSERA=${TESSERA:-$TARGET_DIR/release/tessera}
TESSERA_BUILD=${BENCH_TESSERA_BUILD:-ok}
CLK_TCK=$(getconf CLK_TCK)

# Users, by index (`user-NNNNN`, password `Dataset::password(i)`): a few warm up, then every
# measured argon2 PAP and EAP authentication takes a user of its own (a user seen before would be
# a cache hit in Tessera); the last one is the re-authenticated user (Cleartext-Password in
# FreeRADIUS). Round r of a case uses the same users on both sides.
WARM=8
EAP_WARM_USER=$WARM
PAP_FIRST=$((WARM + 1))
EAP_SEQ_FIRST=$((PAP_FIRST + ROUNDS * ARGON2_OPS))
EAP_PAR_FIRST=$((EAP_SEQ_FIRST + ROUNDS * EAP_RUNS))
REPEAT_USER=$((EAP_PAR_FIRST + ROUNDS * EAP_BATCH))
PASSWORD_USERS=$((REPEAT_USER + 1))
USERS=${BENCH_USERS:-$PASSWORD_USERS}

# Tessera reads TESSERA_* from the environment over its config file: none of the caller's.
for v in $(compgen -e | grep '^TESSERA_' || true); do unset "$v"; done

die() { echo "bench-radius: $*" >&2; exit 1; }
say() { echo "bench-radius [$(printf '%4d' "$SECONDS") s]: $*"; }

[ "$USERS" -ge "$PASSWORD_USERS" ] || die "BENCH_USERS=$USERS is below the $PASSWORD_USERS users the cases need"
[ "${#SECRET}" -ge 16 ] || die "BENCH_SECRET must have 16 characters or more"
case $EAP_TLS in 1.2 | 1.3) ;; *) die "BENCH_EAP_TLS is 1.2 or 1.3" ;; esac
for n in ROUNDS ARGON2_OPS PARALLEL REPEAT_OPS REPEAT_PARALLEL EAP_RUNS EAP_BATCH EAP_PARALLEL; do
  [[ ${!n} =~ ^[1-9][0-9]*$ ]] || die "BENCH_$n must be a positive number"
done
export PATH="$PATH:/usr/sbin"
[ -x "$LDAPBENCH" ] || die "$LDAPBENCH not found: cargo build --release -p ldapbench"
for t in radclient eapol_test openssl python3; do
  command -v "$t" >/dev/null || die "$t not found: apt-get install freeradius-utils eapoltest openssl python3 (make bench-radius does)"
done
case " $SIDES " in *" freeradius "*)
  command -v freeradius >/dev/null || die "freeradius not found: apt-get install freeradius (make bench-radius does, without starting the system service)"
  [ -d /usr/share/freeradius ] || die "FreeRADIUS's dictionaries (/usr/share/freeradius) are missing"
;; esac
python3 -W ignore -c 'import crypt' 2>/dev/null || die "python3 has no crypt module (Debian 12's python3 has)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tessera-bench-radius.XXXXXX")
mkdir -p "$OUT"
RESULTS=$WORK/results.jsonl
: >"$RESULTS"
declare -A PID=() PORT=([freeradius]=$FR_PORT [tessera]=$TESSERA_PORT)

# stop <side>
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  local rc=$? j
  # eapol_test runs of an interrupted parallel batch (started here; each ends by itself in 30 s).
  for j in $(jobs -pr); do
    kill -TERM "$j" 2>/dev/null || true
  done
  stop freeradius
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

# A port already bound would be measured instead of the server started here.
udp_free() { # port
  python3 -c 'import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null
}
tcp_free() { # port
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
case " $SIDES " in *" freeradius "*)
  udp_free "$FR_PORT" || die "udp 127.0.0.1:$FR_PORT is in use: free it or set BENCH_FREERADIUS_PORT"
;; esac
case " $SIDES " in *" tessera "*)
  for port in "$TESSERA_PORT" "$TESSERA_ACCT_PORT"; do
    udp_free "$port" || die "udp 127.0.0.1:$port is in use: free it or set BENCH_TESSERA_PORT"
  done
  tcp_free "$TESSERA_HTTP_PORT" || die "tcp 127.0.0.1:$TESSERA_HTTP_PORT is in use: free it or set BENCH_TESSERA_HTTP_PORT"
;; esac

record() { # JSON object
  echo "$1" >>"$RESULTS"
}
now_us() {
  echo "${EPOCHREALTIME/./}"
}
cpu_us() { # pid: CPU time (user + system, all threads) so far, in µs; fields 14 and 15 of stat
  local f
  read -r -a f < <(sed 's/^.*) //' "/proc/$1/stat")
  echo $(((f[11] + f[12]) * 1000000 / CLK_TCK))
}
alive() { # side
  [ -n "${PID[$1]:-}" ] && kill -0 "${PID[$1]}" 2>/dev/null
}
# Waits until the server answers Status-Server (with Message-Authenticator) on its port.
wait_ready() { # side log
  local i
  for i in $(seq 120); do
    alive "$1" || { tail -n 20 "$2" >&2 || true; return 1; }
    if echo "Message-Authenticator = 0x00" | radclient -q -r 1 -t 1 "127.0.0.1:${PORT[$1]}" status "$SECRET" >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.5
  done
  tail -n 20 "$2" >&2 || true
  return 1
}

# --- the users and their requests -------------------------------------------------------------
PASSWORDS=$WORK/passwords.txt
pap_file() { # first count out: one Access-Request per user, blank-line separated
  awk -v first="$1" -v count="$2" 'NR > first && NR <= first + count {
      printf "User-Name = \"%s\"\nUser-Password = \"%s\"\nMessage-Authenticator = 0x00\n\n", $1, $2
    }' "$PASSWORDS" >"$3"
}
user_at() { # index: "username password"
  sed -n "$(($1 + 1))p" "$PASSWORDS"
}

# --- FreeRADIUS -------------------------------------------------------------------------------
freeradius_start() {
  local dir=$WORK/freeradius tls_max=$EAP_TLS
  mkdir -p "$dir/log" "$dir/run"
  say "FreeRADIUS: users file (sha512-crypt, rounds=$SHA_ROUNDS) for $PASSWORD_USERS users"
  python3 "$HERE/radbench.py" users --passwords "$PASSWORDS" --rounds "$SHA_ROUNDS" \
    --cleartext-user "$(user_at "$REPEAT_USER" | cut -d' ' -f1)" --out "$dir/users" | sed "s/^/  /"
  # One file, nothing from /etc/freeradius: the default site's PAP and EAP, the inner tunnel's
  # PAP, the users file, one client (127.0.0.1, Message-Authenticator required), TLS on the
  # bench's certificate without session caching (every eapol_test run is a full handshake).
  cat >"$dir/radiusd.conf" <<EOF
prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = $dir
sbindir = /usr/sbin
logdir = $dir/log
raddbdir = $dir
radacctdir = $dir/log
name = freeradius
confdir = $dir
modconfdir = $dir
certdir = $dir
cadir = $dir
run_dir = $dir/run
db_dir = $dir
libdir = /usr/lib/freeradius
pidfile = $dir/run/freeradius.pid
max_request_time = 30
cleanup_delay = 5
max_requests = 65536
hostname_lookups = no
log {
	destination = stdout
	colourise = no
	auth = no
	auth_badpass = no
	auth_goodpass = no
}
security {
	allow_core_dumps = no
	max_attributes = 200
	reject_delay = 0
	status_server = yes
}
proxy_requests = no
client bench {
	ipaddr = 127.0.0.1
	secret = $SECRET
	require_message_authenticator = yes
}
thread pool {
	start_servers = 8
	max_servers = 32
	min_spare_servers = 3
	max_spare_servers = 16
	max_requests_per_server = 0
	auto_limit_acct = no
}
modules {
	pap {
		normalise = yes
	}
	files {
		filename = $dir/users
	}
	eap {
		default_eap_type = ttls
		timer_expire = 60
		ignore_unknown_eap_types = no
		max_sessions = 16384
		tls-config tls-common {
			private_key_file = $WORK/eap.key
			certificate_file = $WORK/eap.crt
			ca_file = $WORK/eap.crt
			cipher_list = "DEFAULT"
			tls_min_version = "1.2"
			tls_max_version = "$tls_max"
			cache {
				enable = no
			}
			ocsp {
				enable = no
			}
		}
		ttls {
			tls = tls-common
			default_eap_type = md5
			copy_request_to_tunnel = no
			use_tunneled_reply = no
			virtual_server = "inner-tunnel"
		}
	}
}
server default {
	listen {
		type = auth
		ipaddr = 127.0.0.1
		port = $FR_PORT
	}
	authorize {
		eap {
			ok = return
		}
		files
		pap
	}
	authenticate {
		Auth-Type PAP {
			pap
		}
		eap
	}
}
server inner-tunnel {
	authorize {
		files
		pap
	}
	authenticate {
		Auth-Type PAP {
			pap
		}
	}
}
EOF
  freeradius -f -d "$dir" -l stdout >"$dir/freeradius.log" 2>&1 &
  PID[freeradius]=$!
  wait_ready freeradius "$dir/freeradius.log" || die "FreeRADIUS did not start (log above)"
  say "FreeRADIUS ready (pid ${PID[freeradius]}, udp 127.0.0.1:$FR_PORT)"
}

# --- Tessera ----------------------------------------------------------------------------------
TESSERA_OK=1
tessera_unavailable() { # reason
  say "Tessera: NOT AVAILABLE — $1"
  record "$(python3 -c 'import json,sys; print(json.dumps({"kind": "unavailable", "side": "tessera", "reason": sys.argv[1]}))' "$1")"
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
enabled = false

[radius]
auth_listen = ["127.0.0.1:$TESSERA_PORT"]
acct_listen = ["127.0.0.1:$TESSERA_ACCT_PORT"]
EOF
}
tessera_start() {
  local dir=$WORK/tessera
  mkdir -p "$dir"
  if [ "$TESSERA_BUILD" = failed ]; then
    tessera_unavailable "the tessera binary did not build (see the cargo output above)"
    return 1
  fi
  [ -x "$TESSERA" ] || { tessera_unavailable "$TESSERA not found (cargo build --release -p tessera)"; return 1; }
  say "Tessera: seeding a new store ($USERS users, argon2id passwords for $PASSWORD_USERS, a RADIUS client)"
  if ! "$LDAPBENCH" seed-tessera --users "$USERS" --password-users "$PASSWORD_USERS" \
      --data-dir "$dir/data" --master-key-file "$dir/master.key" --radius-secret "$SECRET" \
      --eap-cert "$WORK/eap.crt" --eap-key "$WORK/eap.key" 2>&1 | sed "s/^/  /"; then
    tessera_unavailable "seeding the store failed (output above)"
    return 1
  fi
  tessera_config "$dir" >"$dir/tessera.toml"
  (cd "$dir" && RUST_BACKTRACE=0 exec "$TESSERA" --config "$dir/tessera.toml" serve) >"$dir/tessera.log" 2>&1 &
  PID[tessera]=$!
  if ! wait_ready tessera "$dir/tessera.log"; then
    local why
    why="no Status-Server answer on udp 127.0.0.1:$TESSERA_PORT; server log: $(tail -n 5 "$dir/tessera.log" | tr -s ' \n' ' ' | cut -c1-300)"
    stop tessera
    tessera_unavailable "$why"
    return 1
  fi
  say "Tessera ready (pid ${PID[tessera]}, udp 127.0.0.1:$TESSERA_PORT)"
}

# --- measuring ----------------------------------------------------------------------------------
# radclient over a request file; records ok (accepts), errors (rejects + lost), the rate and the
# server's CPU per answered request.
radclient_run() { # side case round file parallel count
  local side=$1 case=$2 round=$3 file=$4 par=$5 count=$6 out=$WORK/radclient.out
  local c0 c1 t0 t1 acc rej lost err
  local nice=()
  [ -z "${RADCLIENT_NICE:-}" ] || nice=(nice -n "$RADCLIENT_NICE")
  c0=$(cpu_us "${PID[$side]}")
  t0=$(now_us)
  "${nice[@]}" radclient -f "$file" -p "$par" -c "$count" -r 2 -t 10 -s -q "127.0.0.1:${PORT[$side]}" auth "$SECRET" >"$out" 2>&1 || true
  t1=$(now_us)
  if alive "$side"; then c1=$(cpu_us "${PID[$side]}"); else c1=$c0; fi
  acc=$(awk -F: '/Accepted/ {gsub(/ /, "", $2); print $2}' "$out")
  rej=$(awk -F: '/Rejected/ {gsub(/ /, "", $2); print $2}' "$out")
  lost=$(awk -F: '/Lost/ {gsub(/ /, "", $2); print $2}' "$out")
  acc=${acc:-0} rej=${rej:-0} lost=${lost:-0}
  err=$(grep -v -e '^Packet summary' -e '^[[:space:]]' "$out" | head -n 1 || true)
  alive "$side" || err="the server exited during the run: ${err}"
  [ $((rej + lost)) -eq 0 ] || [ -n "$err" ] || err="$rej rejected, $lost lost"
  python3 - "$side" "$case" "$round" "$acc" "$((rej + lost))" "$t0" "$t1" "$c0" "$c1" "$err" >>"$RESULTS" <<'EOF'
import json, sys
side, case, rnd, ok, errors, t0, t1, c0, c1, err = sys.argv[1:]
ok, errors, secs = int(ok), int(errors), (int(t1) - int(t0)) / 1e6
cpu = int(c1) - int(c0)
r = {"kind": "run", "side": side, "case": case, "round": int(rnd), "ok": ok, "errors": errors,
     "secs": secs, "ops_per_sec": ok / secs if secs > 0 else 0.0,
     "cpu_us_per_op": cpu / ok if ok else None, "cores_busy": cpu / 1e6 / secs if secs > 0 else None}
if err:
    r["first_error"] = err
print(json.dumps(r))
EOF
  say "  $side $case round $round: $acc accepted, $rej rejected, $lost lost in $(((t1 - t0) / 1000)) ms"
}

eap_conf() { # index out
  local u p phase1
  read -r u p < <(user_at "$1")
  if [ "$EAP_TLS" = 1.3 ]; then
    phase1="tls_disable_tlsv1_0=1 tls_disable_tlsv1_1=1 tls_disable_tlsv1_2=1 tls_disable_tlsv1_3=0"
  else
    phase1="tls_disable_tlsv1_3=1"
  fi
  cat >"$2" <<EOF
network={
  key_mgmt=WPA-EAP
  eap=TTLS
  identity="$u"
  anonymous_identity="anonymous@bench"
  password="$p"
  ca_cert="$WORK/eap.crt"
  phase1="$phase1"
  phase2="auth=PAP"
}
EOF
}
# One eapol_test run; its wall time (ms) goes to <dir>/<index>.ms, and <dir>/<index>.err when it
# did not end in SUCCESS with the MPPE keys and the expected TLS version.
eap_one() { # side index dir
  local side=$1 i=$2 dir=$3 t0 t1 rc=0 want
  eap_conf "$i" "$dir/$i.conf"
  t0=$(now_us)
  eapol_test -c "$dir/$i.conf" -a 127.0.0.1 -p "${PORT[$side]}" -s "$SECRET" -r 0 -t 30 >"$dir/$i.out" 2>&1 || rc=$?
  t1=$(now_us)
  echo "$(((t1 - t0) / 1000)).$(((t1 - t0) % 1000 / 100))" >"$dir/$i.ms"
  want="Using TLS version TLSv$EAP_TLS"
  if [ "$rc" -ne 0 ] || ! grep -q '^MPPE keys OK: 1' "$dir/$i.out" || ! grep -q "$want" "$dir/$i.out"; then
    echo "user $i: eapol_test exit $rc; $(grep -E 'FAILURE|TLSv|MPPE|EAP-Failure|timed out|Timeout' "$dir/$i.out" | tail -n 3 | tr -s ' \n' ' ' | cut -c1-200)" >"$dir/$i.err"
  fi
}
eap_run() { # side case round first count parallel
  local side=$1 case=$2 round=$3 first=$4 count=$5 par=$6 dir i c0 c1 t0 t1 p pids=() live
  dir=$WORK/eap-$side-$case-$round
  mkdir -p "$dir"
  c0=$(cpu_us "${PID[$side]}")
  t0=$(now_us)
  for i in $(seq "$first" $((first + count - 1))); do
    if [ "$par" -le 1 ]; then
      eap_one "$side" "$i" "$dir"
    else
      eap_one "$side" "$i" "$dir" &
      pids+=("$!")
      if [ "${#pids[@]}" -ge "$par" ]; then
        # Only these runs: a bare `wait` would wait for the servers too.
        wait -n "${pids[@]}" || true
        live=()
        for p in "${pids[@]}"; do
          if kill -0 "$p" 2>/dev/null; then live+=("$p"); fi
        done
        pids=("${live[@]}")
      fi
    fi
  done
  [ "${#pids[@]}" -eq 0 ] || wait "${pids[@]}" || true
  t1=$(now_us)
  if alive "$side"; then c1=$(cpu_us "${PID[$side]}"); else c1=$c0; fi
  python3 - "$side" "$case" "$round" "$first" "$count" "$dir" "$t0" "$t1" "$c0" "$c1" >>"$RESULTS" <<'EOF'
import json, os, sys
side, case, rnd, first, count, d, t0, t1, c0, c1 = sys.argv[1:]
lat, errs = [], []
for i in range(int(first), int(first) + int(count)):
    with open(os.path.join(d, f"{i}.ms")) as f:
        ms = float(f.read())
    e = os.path.join(d, f"{i}.err")
    if os.path.exists(e):
        with open(e) as f:
            errs.append(f.read().strip())
    else:
        lat.append(ms)
secs, cpu, ok = (int(t1) - int(t0)) / 1e6, int(c1) - int(c0), len(lat)
r = {"kind": "run", "side": side, "case": case, "round": int(rnd), "ok": ok, "errors": len(errs),
     "secs": secs, "ops_per_sec": ok / secs if secs > 0 else 0.0, "lat_ms": lat,
     "cpu_us_per_op": cpu / ok if ok else None, "cores_busy": cpu / 1e6 / secs if secs > 0 else None}
if errs:
    r["first_error"] = errs[0]
print(json.dumps(r))
EOF
  say "  $side $case round $round: $count eapol_test runs ($par at once) in $(((t1 - t0) / 1000)) ms, $(find "$dir" -name '*.err' | wc -l) failed"
  [ "$KEEP" = 1 ] || rm -rf "$dir"
}

# Round r: the sides in turn, the order swapped every round.
order() { # round
  local sides=()
  alive freeradius && sides+=(freeradius)
  alive tessera && sides+=(tessera)
  if [ $(($1 % 2)) -eq 0 ] && [ "${#sides[@]}" -eq 2 ]; then
    echo "${sides[1]} ${sides[0]}"
  else
    echo "${sides[*]}"
  fi
}

# --- the run ----------------------------------------------------------------------------------
say "work dir $WORK; sides: $SIDES; $CORES cores; $PASSWORD_USERS users with passwords"
"$LDAPBENCH" passwords --count "$PASSWORD_USERS" >"$PASSWORDS"
# The machine's argon2id capacity both ways, with the server's parameters: one thread alone, and
# one thread per core at once. Target 1 ("both cores busy") uses the latter (radbench.py report
# prints both and says why).
"$LDAPBENCH" hash-time --rounds 40 --record "$RESULTS" | sed "s/^/  /"
# Equal cost is tuned on CPU time per verification (the thread's own; wall time on a shared
# machine counts the other load too).
ARGON2_CPU_MS=$(python3 -c 'import json,sys
h = [json.loads(l) for l in open(sys.argv[1]) if "hash-time" in l][-1]
print(h.get("single_hash_cpu_ms") or h.get("fastest_hash_ms") or h["single_hash_ms"])' "$RESULTS")
python3 "$HERE/radbench.py" tune --argon2-cpu-ms "$ARGON2_CPU_MS" --record "$RESULTS" | sed "s/^/  /"
SHA_ROUNDS=$(python3 -c 'import json,sys; print([json.loads(l) for l in open(sys.argv[1]) if "\"tune\"" in l][-1]["sha512_rounds"])' "$RESULTS")
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/eap.key" -out "$WORK/eap.crt" -days 2 \
  -subj "/CN=bench-radius.invalid" 2>/dev/null
FR_VERSION=$(freeradius -v 2>/dev/null | sed -n 's/.*Version \([0-9.]*\).*/\1/p' | head -n 1 || true)
# Whether FreeRADIUS verifies Crypt-Password with crypt_r, or with crypt() under its one lock
# (one verification at a time, whatever the threads): Debian 12's 3.2.1 binary imports crypt only.
FR_CRYPT=unknown
if command -v nm >/dev/null && command -v freeradius >/dev/null; then
  syms=$(nm -D "$(command -v freeradius)" 2>/dev/null || true)
  if [[ $syms == *" U crypt_r"* ]]; then FR_CRYPT=crypt_r
  elif [[ $syms == *" U crypt@"* ]]; then FR_CRYPT=crypt; fi
fi
record "{\"kind\": \"meta\", \"cores\": $CORES, \"rounds\": $ROUNDS, \"parallel\": $PARALLEL, \"repeat_parallel\": $REPEAT_PARALLEL, \"eap_parallel\": $EAP_PARALLEL, \"eap_tls\": \"$EAP_TLS\", \"freeradius_version\": \"${FR_VERSION:-?}\", \"freeradius_crypt\": \"$FR_CRYPT\"}"

case " $SIDES " in *" freeradius "*) freeradius_start ;; esac
case " $SIDES " in *" tessera "*) tessera_start || true ;; *) TESSERA_OK=0 ;; esac
[ -n "$(order 1)" ] || die "no server to measure"

# Warm-up, not recorded: a few argon2 PAP users and one EAP run per side.
pap_file 0 "$WARM" "$WORK/warm.txt"
for side in $(order 1); do
  { radclient -f "$WORK/warm.txt" -p "$PARALLEL" -r 2 -t 10 -s -q "127.0.0.1:${PORT[$side]}" auth "$SECRET" || true; } \
    | tr -s '\t\n' '  ' | sed "s/^/  $side warm-up: /"
  echo
  mkdir -p "$WORK/eap-warm-$side"
  eap_one "$side" "$EAP_WARM_USER" "$WORK/eap-warm-$side"
  if [ -f "$WORK/eap-warm-$side/$EAP_WARM_USER.err" ]; then
    say "  $side warm-up EAP failed: $(cat "$WORK/eap-warm-$side/$EAP_WARM_USER.err")"
  fi
done

say "pap-argon2: $ROUNDS rounds of $ARGON2_OPS distinct users, $PARALLEL in flight"
# The machine's argon2id capacity again right before and after these rounds (the target is
# judged against the mean of every measurement: on a shared machine one can fall in a quiet or a
# busy moment).
"$LDAPBENCH" hash-time --rounds 40 --record "$RESULTS" | sed "s/^/  /"
for r in $(seq "$ROUNDS"); do
  pap_file $((PAP_FIRST + (r - 1) * ARGON2_OPS)) "$ARGON2_OPS" "$WORK/pap-$r.txt"
  for side in $(order "$r"); do
    # radclient at the lowest priority here (both sides): while its window of requests is
    # full it polls, some half a core at 8 in flight, which target 1 ("both cores busy")
    # would otherwise count against the server; niced, it still runs whenever a core is free.
    RADCLIENT_NICE=19 radclient_run "$side" pap-argon2 "$r" "$WORK/pap-$r.txt" "$PARALLEL" 1
  done
done
"$LDAPBENCH" hash-time --rounds 40 --record "$RESULTS" | sed "s/^/  /"

say "pap-cached: $ROUNDS rounds of $REPEAT_OPS requests for one user, $REPEAT_PARALLEL in flight"
pap_file "$REPEAT_USER" 1 "$WORK/repeat-1.txt"
for i in $(seq "$REPEAT_PARALLEL"); do cat "$WORK/repeat-1.txt"; done >"$WORK/repeat.txt"
for side in $(order 1); do # fills Tessera's verified-credential cache
  radclient -f "$WORK/repeat-1.txt" -r 2 -t 10 -q "127.0.0.1:${PORT[$side]}" auth "$SECRET" || say "  $side: the re-auth user was not accepted"
done
for r in $(seq "$ROUNDS"); do
  for side in $(order "$r"); do
    radclient_run "$side" pap-cached "$r" "$WORK/repeat.txt" "$REPEAT_PARALLEL" $((REPEAT_OPS / REPEAT_PARALLEL))
  done
done

say "eap-seq: $ROUNDS rounds of $EAP_RUNS EAP-TTLS/PAP authentications (TLS $EAP_TLS), one at a time"
for r in $(seq "$ROUNDS"); do
  for side in $(order "$r"); do
    eap_run "$side" eap-seq "$r" $((EAP_SEQ_FIRST + (r - 1) * EAP_RUNS)) "$EAP_RUNS" 1
  done
done

say "eap-par: $ROUNDS rounds of $EAP_BATCH EAP-TTLS/PAP authentications, $EAP_PARALLEL at once"
for r in $(seq "$ROUNDS"); do
  for side in $(order "$r"); do
    eap_run "$side" eap-par "$r" $((EAP_PAR_FIRST + (r - 1) * EAP_BATCH)) "$EAP_BATCH" "$EAP_PARALLEL"
  done
done

for side in freeradius tessera; do
  if [ -n "${PID[$side]:-}" ] && ! alive "$side"; then
    say "$side exited during the bench; its log ends:"
    tail -n 20 "$WORK/$side/$side.log" || true
  fi
  stop "$side"
done
if [ "$TESSERA_OK" = 1 ] && grep -qiE 'panick|error' "$WORK/tessera/tessera.log" 2>/dev/null; then
  say "Tessera's log holds errors (first lines):"
  grep -iE 'panick|error' "$WORK/tessera/tessera.log" | head -n 5 | cut -c1-300
fi

cp "$RESULTS" "$OUT/results.jsonl"
report_args=("$RESULTS")
[ "$STRICT" = 1 ] && report_args+=(--strict)
status=0
python3 "$HERE/radbench.py" report "${report_args[@]}" | tee "$OUT/report.txt" || status=$?
say "results: $OUT/results.jsonl, $OUT/report.txt"
exit "$status"
