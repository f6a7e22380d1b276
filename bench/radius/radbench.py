#!/usr/bin/env python3
"""bench/radius/radbench.py — the helper of bench/radius/run.sh (`make bench-radius`).

  tune     times one sha512-crypt verification (libcrypt, the library FreeRADIUS's pap module
           calls) and picks the rounds whose cost equals one argon2id verification as Tessera
           does it (the time `ldapbench hash-time` measured); records the tuning
  users    writes FreeRADIUS's users file from `ldapbench passwords` lines: a sha512-crypt
           Crypt-Password of that cost for every user, Cleartext-Password for the re-auth user
  report   prints the side-by-side table and the targets from the results file (JSON lines)

Python 3.11's `crypt` module (Debian 12's python3) is the only dependency.
"""

import argparse
import json
import multiprocessing
import statistics
import sys
import time
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt  # noqa: E402  (deprecated in 3.11, still there; gone in 3.13)

PROBE_PASSWORD = "Lb-probePasswordAbc"


def sha512_hash(password, rounds):
    return crypt.crypt(password, crypt.mksalt(crypt.METHOD_SHA512, rounds=rounds))


def time_verify(rounds, samples):
    """Median wall time, fastest wall time and median CPU time (ms, this thread) of one
    verification at `rounds`."""
    stored = sha512_hash(PROBE_PASSWORD, rounds)
    crypt.crypt(PROBE_PASSWORD, stored)  # warm-up
    wall, cpu = [], []
    for _ in range(samples):
        t0, c0 = time.perf_counter(), time.thread_time()
        ok = crypt.crypt(PROBE_PASSWORD, stored) == stored
        cpu.append((time.thread_time() - c0) * 1000.0)
        wall.append((time.perf_counter() - t0) * 1000.0)
        if not ok:
            sys.exit("radbench: sha512-crypt does not verify its own hash")
    return statistics.median(wall), min(wall), statistics.median(cpu)


def record(path, value):
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(value) + "\n")


def cmd_tune(a):
    """Tunes on CPU time per verification (what other load on the machine disturbs least)."""
    rounds = a.probe_rounds
    for _ in range(3):  # proportional steps: the cost is linear in the rounds
        _, _, cpu = time_verify(rounds, a.samples)
        # In steps of 100 rounds (some 0.05 ms here): steps of 1000 left the two costs up to
        # half a step (0.2 ms) apart, and "equal hash cost" is what target 3 compares at.
        rounds = max(1000, int(round(rounds * a.argon2_cpu_ms / cpu / 100.0)) * 100)
    ms, fastest, cpu = time_verify(rounds, a.samples)
    print(
        f"sha512-crypt $6$rounds={rounds}$: one verification {cpu:.1f} ms of CPU ({ms:.1f} ms "
        f"wall, median of {a.samples}; fastest {fastest:.1f} ms) for argon2id's "
        f"{a.argon2_cpu_ms:.1f} ms of CPU: FreeRADIUS's users get hashes of that cost"
    )
    record(
        a.record,
        {
            "kind": "tune",
            "sha512_rounds": rounds,
            "sha512_ms": ms,
            "sha512_fastest_ms": fastest,
            "sha512_cpu_ms": cpu,
            "argon2_cpu_ms": a.argon2_cpu_ms,
        },
    )


def _hash_line(job):
    user, password, rounds = job
    return f'{user} Crypt-Password := "{sha512_hash(password, rounds)}"\n'


def cmd_users(a):
    jobs, clear = [], []
    with open(a.passwords, encoding="utf-8") as f:
        for line in f:
            user, password = line.split()
            if user == a.cleartext_user:
                clear.append(f'{user} Cleartext-Password := "{password}"\n')
            else:
                jobs.append((user, password, a.rounds))
    t0 = time.perf_counter()
    with multiprocessing.Pool(a.threads) as pool:
        lines = pool.map(_hash_line, jobs, chunksize=16)
    with open(a.out, "w", encoding="utf-8") as f:
        f.writelines(lines + clear)
    print(
        f"FreeRADIUS users: {len(lines)} sha512-crypt (rounds={a.rounds}) and {len(clear)} "
        f"Cleartext-Password in {time.perf_counter() - t0:.1f} s"
    )


# --- report -------------------------------------------------------------------------------

SIDES = ("freeradius", "tessera")
NAMES = {"freeradius": "FreeRADIUS", "tessera": "Tessera"}


def pct(values, p):
    """Nearest-rank percentile."""
    if not values:
        return None
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(-(-p * len(v) // 100)) - 1))
    return v[k]


def median_run(runs):
    """The run with the median rate (the lower middle one for an even count)."""
    if not runs:
        return None
    return sorted(runs, key=lambda r: r["ops_per_sec"])[(len(runs) - 1) // 2]


def ms(x):
    return "" if x is None else (f"{x:.0f}ms" if x >= 100 else f"{x:.1f}ms")


def us(x):
    if x is None:
        return ""
    return f"{x / 1000.0:.1f}ms" if x >= 1000 else f"{x:.0f}µs"


class Results:
    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            self.rows = [json.loads(line) for line in f if line.strip()]

    def one(self, kind):
        found = [r for r in self.rows if r.get("kind") == kind]
        return found[-1] if found else None

    def runs(self, side, case):
        return [
            r for r in self.rows if r.get("kind") == "run" and r["side"] == side and r["case"] == case
        ]

    def unavailable(self, side):
        found = [r for r in self.rows if r.get("kind") == "unavailable" and r["side"] == side]
        return found[-1]["reason"] if found else None


def summary(res, side, case):
    """One side's cell values for a case: rate (median round), latencies, cpu/op, cores."""
    runs = res.runs(side, case)
    if not runs:
        return None
    errors = sum(r["errors"] for r in runs)
    m = median_run(runs)
    lat = [x for r in runs for x in r.get("lat_ms", [])]
    return {
        "rate": m["ops_per_sec"],
        "errors": errors,
        "first_error": next((r.get("first_error") for r in runs if r["errors"]), None),
        "p50": pct(lat, 50),
        "p90": pct(lat, 90),
        "p99": pct(lat, 99),
        "n_lat": len(lat),
        "cpu": m.get("cpu_us_per_op"),
        "busy": m.get("cores_busy"),
        "rounds": [r["ops_per_sec"] for r in runs],
        "ok": sum(r["ok"] for r in runs),
    }


def cell(s):
    if s is None:
        return f"{'n/a':>10} {'':>7} {'':>7} {'':>7} {'':>7}"
    rate = f"{s['rate']:.1f}" if s["rate"] < 100 else f"{s['rate']:.0f}"
    if s["errors"]:
        rate += "!"
    return f"{rate:>10} {ms(s['p50']):>7} {ms(s['p90']):>7} {ms(s['p99']):>7} {us(s['cpu']):>7}"


def cmd_report(a):
    res = Results(a.results)
    meta = res.one("meta") or {}
    # The first hash-time row was taken before anything ran (the tuning uses it); the others
    # right before and after the argon2 PAP rounds, so the capacity is measured beside them.
    hash_rows = [r for r in res.rows if r.get("kind") == "hash-time"]
    hash_time = hash_rows[0] if hash_rows else {}
    capacities = [
        r["parallel_verifications_per_sec"]
        for r in hash_rows
        if r.get("parallel_verifications_per_sec")
    ]
    tune = res.one("tune") or {}
    cores = meta.get("cores", hash_time.get("cores", 1))
    tls = meta.get("eap_tls", "?")
    print()
    print(
        f"== RADIUS: Tessera vs FreeRADIUS {meta.get('freeradius_version', '?')} "
        f"(private instance), {cores} cores, {meta.get('rounds', '?')} rounds per case "
        "alternating the sides; rates are the median round =="
    )
    if hash_time and tune:
        print(
            "  equal hash cost, one verification on one thread, CPU (wall median): Tessera "
            f"argon2id m=19456 t=2 p=1 {tune.get('argon2_cpu_ms', 0):.1f} ms "
            f"({hash_time['single_hash_ms']:.1f} ms); FreeRADIUS sha512-crypt rounds="
            f"{tune['sha512_rounds']} {tune.get('sha512_cpu_ms', 0):.1f} ms "
            f"({tune['sha512_ms']:.1f} ms)"
        )
    print(
        f"  {'case (rate: requests or authentications/s)':<44} | {'FreeRADIUS':>10} {'p50':>7} {'p90':>7} {'p99':>7} {'cpu/op':>7} "
        f"| {'Tessera':>10} {'p50':>7} {'p90':>7} {'p99':>7} {'cpu/op':>7} | {'T / FR':>7}"
    )
    p = meta.get("parallel", "?")
    ep = meta.get("eap_parallel", "?")
    cases = [
        ("pap-argon2", f"PAP argon2, each user once, {p} in flight, client niced"),
        ("pap-cached", f"PAP cached, one user, {meta.get('repeat_parallel', '?')} in flight"),
        ("eap-seq", f"EAP-TTLS/PAP TLS {tls}, one at a time"),
        ("eap-par", f"EAP-TTLS/PAP TLS {tls}, {ep} at once"),
    ]
    got = {}
    for case, title in cases:
        f, t = summary(res, "freeradius", case), summary(res, "tessera", case)
        got[case] = (f, t)
        ratio = f"{t['rate'] / f['rate']:.2f}×" if f and t and f["rate"] > 0 else "n/a"
        print(f"  {title:<44} | {cell(f)} | {cell(t)} | {ratio:>7}")
    print(
        "  FreeRADIUS: sha512-crypt hashes of the same cost (it has no argon2), Cleartext-Password "
        "for the re-authenticated user; Tessera: argon2id, the verified-credential cache"
    )
    print(
        "  p50/p90/p99: EAP wall time of one whole eapol_test run (process start, TLS handshake, "
        "inner PAP, keys), over every round; radclient reports no latencies"
    )
    print(
        "  cpu/op: the server's CPU time (user + system, all threads, /proc/<pid>/stat) per "
        "answered request (PAP) or per authentication (EAP), median round; ! = errors"
    )
    for case, _ in cases:
        parts = []
        for side in SIDES:
            s = got[case][SIDES.index(side)]
            if s:
                rounds = " ".join(f"{x:.1f}" if x < 100 else f"{x:.0f}" for x in s["rounds"])
                busy = f", server busy {s['busy']:.2f} cores" if s.get("busy") is not None else ""
                parts.append(f"{NAMES[side]} {rounds}{busy}")
        if parts:
            print(f"  rounds of {case}: " + "; ".join(parts))
    for case, _ in cases:
        for side in SIDES:
            s = got[case][SIDES.index(side)]
            if s and s["errors"]:
                print(f"  ! {NAMES[side]} {case}: {s['errors']} errors; first: {s['first_error']}")
    for side in SIDES:
        why = res.unavailable(side)
        if why:
            print(f"  {NAMES[side]} not available: {why}")

    print()
    print("  targets (issue 6):")
    all_pass = True

    def verdict(ok):
        nonlocal all_pass
        all_pass &= ok
        return "PASS" if ok else "FAIL"

    f, t = got["pap-argon2"]
    # The hash time of target 1 ("both cores busy"): the time one verification takes while every
    # core verifies at once (cores / what `cores` threads at once sustain, same argon2id
    # parameters as the server). argon2id at m=19456 is memory-bound: concurrent hashes slow
    # each other, so the single-thread time would ask for more than the machine can do with both
    # cores hashing. The single-thread figure is printed beside it.
    single_ms = hash_time.get("single_hash_ms")
    # Their mean: one measurement on a shared machine can fall in a quiet or a busy moment.
    parallel = statistics.mean(capacities) if capacities else 0.0
    busy_ms = cores * 1000.0 / parallel if parallel > 0 else None
    target_ms = busy_ms or single_ms
    target = 0.95 * cores / (target_ms / 1000.0) if target_ms else 0.0
    if hash_time and t and not t["errors"]:
        line = f"{verdict(t['rate'] >= target)} ({t['rate']:.1f}/s"
        if t.get("busy") is not None:
            line += f", Tessera busy {t['busy']:.2f} of {cores} cores"
        line += ")"
    elif t:
        line = verdict(False) + " (Tessera answered with errors or lost requests)"
    else:
        target, line = 0.0, "n/a (Tessera did not run)"
    which = "both cores busy" if busy_ms else "one thread (no both-cores figure recorded)"
    print(
        f"  1. argon2 PAP ≥ 0.95 × {cores} cores / {target_ms or 0:.1f} ms ({which}) "
        f"= {target:.1f}/s: {line}"
    )
    if single_ms and busy_ms:
        print(
            f"     hash time: {single_ms:.1f} ms on one thread alone (0.95 × {cores} / that = "
            f"{0.95 * cores / (single_ms / 1000.0):.1f}/s), {busy_ms:.1f} ms each with {cores} "
            f"threads hashing at once ({parallel:.1f} verifications/s, the mean of "
            f"{' '.join(f'{c:.1f}' for c in capacities)} measured before the run and around the "
            "argon2 PAP rounds); the target uses the latter: \"both cores busy\" is the "
            "machine's capacity with every core hashing, and argon2id (memory-bound) runs slower "
            "per thread then"
        )
    if t and t.get("cpu") and tune.get("argon2_cpu_ms"):
        quiet = 0.95 * cores / (tune["argon2_cpu_ms"] / 1000.0)
        print(
            f"     on CPU time: one argon2id verification is {tune['argon2_cpu_ms']:.1f} ms of CPU "
            f"(an idle {cores}-core machine's bound: 0.95 × {cores} / that = {quiet:.0f}/s); "
            f"Tessera spent {us(t['cpu'])} of CPU per request"
        )
    if f and tune:
        fc = 1 if meta.get("freeradius_crypt") == "crypt" else cores
        ft = 0.95 * fc / (tune["sha512_ms"] / 1000.0)
        print(
            f"     FreeRADIUS at equal cost: {f['rate']:.1f}/s (its own bound 0.95 × {fc} / "
            f"{tune['sha512_ms']:.1f} ms = {ft:.1f}/s); machine: {cores} argon2id threads at "
            f"once sustain {parallel:.1f}/s"
        )
        if meta.get("freeradius_crypt") == "crypt":
            print(
                "     (this FreeRADIUS binary calls crypt(), not crypt_r(): its pap module "
                "verifies Crypt-Password under one lock, one verification at a time)"
            )

    def versus(case, better_is_lower=False):
        f, t = got[case]
        if not (f and t):
            return "n/a (a side did not run)"
        if t["errors"]:
            return verdict(False) + " (Tessera answered with errors or lost requests)"
        if better_is_lower:
            if f["p50"] is None or t["p50"] is None:
                return "n/a"
            return (
                f"{verdict(t['p50'] <= f['p50'])} (median {ms(t['p50'])} vs {ms(f['p50'])}, "
                f"p90 {ms(t['p90'])} vs {ms(f['p90'])}, {t['n_lat']} and {f['n_lat']} runs; "
                f"server CPU per authentication {us(t['cpu'])} vs {us(f['cpu'])})"
            )
        return (
            f"{verdict(t['rate'] >= f['rate'])} ({t['rate']:.0f}/s vs {f['rate']:.0f}/s, "
            f"{t['rate'] / f['rate']:.2f}×; server CPU per request {us(t['cpu'])} vs {us(f['cpu'])})"
        )

    print(f"  2. cached PAP re-auth ≥ FreeRADIUS Cleartext-Password: {versus('pap-cached')}")
    print(
        f"  3. EAP-TTLS/PAP wall time (TLS {tls}) ≤ FreeRADIUS at equal hash cost: "
        f"{versus('eap-seq', better_is_lower=True)}"
    )
    f, t = got["eap-par"]
    if f and t and f["rate"] > 0:
        print(
            f"     parallel batch ({ep} at once): Tessera {t['rate']:.1f}/s, FreeRADIUS "
            f"{f['rate']:.1f}/s ({t['rate'] / f['rate']:.2f}×)"
        )
    if a.strict and not all_pass:
        sys.exit(3)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("tune")
    t.add_argument("--argon2-cpu-ms", type=float, required=True)
    t.add_argument("--probe-rounds", type=int, default=20000)
    t.add_argument("--samples", type=int, default=15)
    t.add_argument("--record", required=True)
    u = sub.add_parser("users")
    u.add_argument("--passwords", required=True)
    u.add_argument("--rounds", type=int, required=True)
    u.add_argument("--cleartext-user", required=True)
    u.add_argument("--threads", type=int, default=multiprocessing.cpu_count())
    u.add_argument("--out", required=True)
    r = sub.add_parser("report")
    r.add_argument("results")
    r.add_argument("--strict", action="store_true")
    a = ap.parse_args()
    {"tune": cmd_tune, "users": cmd_users, "report": cmd_report}[a.cmd](a)


if __name__ == "__main__":
    main()
