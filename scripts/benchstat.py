#!/usr/bin/env python3
"""The arithmetic of scripts/bench.sh and scripts/stress.sh: medians, quartiles,
ratios, CPU per transaction, coefficients of variation, and the met/MISSED and
PASS/FAIL verdicts, with the lines the scripts print. The scripts start and stop
the processes and collect raw figures; this program only reads those figures and
never runs anything. Python 3 standard library only.

Usage: scripts/benchstat.py COMMAND [ARGUMENT]...   (scripts/benchstat.py --help)
"""

import argparse
import json
import math
import re
import sys
import time

# Targets of `make bench`, section 2 (preforkd against ref_prefork_echo) and
# section 4 (prefork-bench against echobench).
RATE_TARGET = 0.97
CPU_TARGET = 1.05
TOOL_TARGET = 1.0

NUMBER = re.compile(r"^[0-9]+([.][0-9]+)?$")


# ---- statistics ----


def median(values):
    """The middle value, or the mean of the two middle ones; None when empty."""
    v = sorted(values)
    n = len(v)
    if n == 0:
        return None
    if n % 2:
        return v[n // 2]
    return (v[n // 2 - 1] + v[n // 2]) / 2


def spread(values):
    """(median, low, high): low and high are the quartiles from 5 values on (half
    of the values lie between them), else the extremes; None when empty."""
    v = sorted(values)
    n = len(v)
    if n == 0:
        return None
    lo, hi = v[0], v[-1]
    if n >= 5:
        k = (n + 3) // 4  # the quartile's rank, counted from 1
        lo, hi = v[k - 1], v[n - k]
    return median(v), lo, hi


def percentile(values, p):
    """The nearest-rank P-th percentile (rank round(n * P / 100), at least 1)."""
    v = sorted(values)
    if not v:
        return None
    rank = min(len(v), max(1, int(len(v) * p / 100 + 0.5)))
    return v[rank - 1]


def cv(values):
    """Coefficient of variation: population standard deviation over the mean."""
    if not values:
        return None
    m = sum(values) / len(values)
    if m <= 0:
        return 0.0
    var = max(0.0, sum(x * x for x in values) / len(values) - m * m)
    return math.sqrt(var) / m


def ratio(a, b):
    """A/B, or None when B is not positive."""
    return a / b if b > 0 else None


def pos_ratio(a, b):
    """A/B, or None unless both are positive: a run that completed nothing (or a
    CPU figure at or below zero) gives no ratio."""
    return a / b if a > 0 and b > 0 else None


def verdict(value, target, op):
    """'met' or 'MISSED' for VALUE against TARGET (op 'ge' or 'le'); '-' when
    there is no value."""
    if value is None:
        return "-"
    ok = value >= target if op == "ge" else value <= target
    return "met" if ok else "MISSED"


def fmt2(x):
    return "-" if x is None else "%.2f" % x


def plain(x):
    """A number as a person writes it: 3, 12345.5, 0.25; '-' for none."""
    if x is None:
        return "-"
    return ("%f" % x).rstrip("0").rstrip(".")


def to_number(text):
    """A figure the scripts pass on: an int or a float; '-' or '' is None."""
    if text in ("-", "", None):
        return None
    f = float(text)
    return int(f) if f.is_integer() and "." not in text and "e" not in text.lower() else f


# ---- bench.sh: one load run ----


def cpu_seconds(text):
    """'1m2.345s' (bash's `times`) -> 62.345."""
    m = re.fullmatch(r"(\d+)m([\d.]+)s", text.strip())
    return int(m.group(1)) * 60 + float(m.group(2)) if m else 0.0


def read_times(path):
    """The file a load run leaves: its exit status, then bash's `times` (the shell's
    CPU, then its children's: the load generator's). -> (status, cpu seconds)."""
    with open(path) as f:
        lines = f.read().splitlines()
    status = int(lines[0])
    user, system = (lines[2].split() + ["0m0s", "0m0s"])[:2]
    return status, cpu_seconds(user) + cpu_seconds(system)


def bench_figures(out_path):
    """prefork-bench --json: (ok, tps, p50, p99, failed, seconds), or None."""
    try:
        with open(out_path) as f:
            j = json.load(f)
        return (j["ok"], j["tps"], j["latency_us"]["p50"], j["latency_us"]["p99"],
                sum(j["errors"].values()), j["duration_s"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def echobench_figures(out_path):
    """echobench's RESULT line: (ok, tps, p50, p99, failed, seconds); a missing
    figure is 0. echobench exits 1 on any error; its figures are still valid."""
    fields = {}
    try:
        with open(out_path) as f:
            for line in f:
                if line.startswith("RESULT"):
                    fields = dict(t.split("=", 1) for t in line.split()[1:] if "=" in t)
                    break
    except OSError:
        pass

    def get(key):
        try:
            return float(fields.get(key, 0))
        except ValueError:
            return 0.0

    failed = sum(get(k) for k in fields if k.startswith("err_"))
    return (get("ok"), get("tps"), get("p50_us"), get("p99_us"), failed, get("elapsed"))


def load_line(figures, busy_ticks, proc_ticks, hz, gen_cpu):
    """'ok tps p50 p99 failed server_us_per_tx process_us_per_tx gen_cpu_pct':
    server CPU is the machine's busy time minus the load generator's CPU, per
    transaction; process CPU is the servers' own (/proc/PID/stat)."""
    ok, tps, p50, p99, failed, secs = figures
    srv = (busy_ticks / hz - gen_cpu) / ok * 1e6 if ok > 0 else 0
    own = proc_ticks / hz / ok * 1e6 if ok > 0 else 0
    pct = gen_cpu / secs * 100 if secs > 0 else 0
    return "%d %.0f %d %d %d %.1f %.1f %.0f" % (ok, tps, p50, p99, failed, srv, own, pct)


NO_FIGURES = "0 0 0 0 0 0 0 0"


def cmd_load(a):
    status, gen_cpu = read_times(a.times)
    # prefork-bench exits 1 on a mismatched reply: a server that lies has no figures.
    if a.tool == "prefork-bench" and status == 1:
        print("bench.sh: WARNING: mismatched replies from the server on port %s: "
              "the run counts as no figures" % a.port, file=sys.stderr)
        print(NO_FIGURES)
        return 0
    if a.tool == "prefork-bench":
        figures = bench_figures(a.out)
        if figures is None:
            print("bench.sh: prefork-bench exited %d without a summary:" % status,
                  file=sys.stderr)
            try:
                with open(a.err, errors="replace") as f:
                    sys.stderr.write(f.read())
            except OSError:
                pass
            print(NO_FIGURES)
            return 0
    else:
        figures = echobench_figures(a.out)
    print(load_line(figures, a.busy, a.proc, a.hz, gen_cpu))
    return 0


# ---- bench.sh: the tables ----


def load_fields(text):
    """The 8 figures of a load line."""
    f = [float(x) for x in text.split()]
    if len(f) != 8:
        raise ValueError("expected 8 figures, got %r" % text)
    return f


def cmd_matrix_row(a):
    pf = load_fields(a.preforkd)
    row = "%3s %4s %-9s %5s | %8s %6s %6s %4s %5.1f" % (
        a.workers, a.conc, a.mode, a.size, "%.0f" % pf[1], "%d" % pf[2], "%d" % pf[3],
        "%d" % pf[4], pf[5])
    if a.ref is not None:
        ref = load_fields(a.ref)
        row += " | %8s %6s %6s %5.1f | %5s %5s" % (
            "%.0f" % ref[1], "%d" % ref[2], "%d" % ref[3], ref[5],
            fmt2(ratio(pf[1], ref[1])), fmt2(ratio(pf[5], ref[5])))
    print(row)
    return 0


def dropped_line(ratios):
    n = sum(1 for r in ratios if r is None)
    if n:
        return "  (%d of %d ratios left out: a run completed no transaction)" % (n, len(ratios))
    return None


def spread_text(ratios):
    """'M (LO-HI)' of the ratios that exist, as the targets table shows them."""
    s = spread([r for r in ratios if r is not None])
    if s is None:
        return "-", "(---)"
    return "%.2f" % s[0], "(%.2f-%.2f)" % (s[1], s[2])


def read_rounds(path, width):
    """Lines 'ROUND WHO FIGURE...' -> {round: {who: [figures]}}, rounds in order."""
    rounds = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 2 + width:
                raise ValueError("%s: expected %d fields: %r" % (path, 2 + width, line))
            rounds.setdefault(parts[0], {})[parts[1]] = [float(x) for x in parts[2:]]
    return list(rounds.values())


def target_row(label, tps, ref_tps, rates, cpus, procs, gen):
    """One line of the targets table; with GEN it is a preforkd row with verdicts."""
    r, r_range = spread_text(rates)
    c, c_range = spread_text(cpus)
    o, o_range = spread_text(procs)
    rv = cv_ = gen_text = ""
    if gen is not None:
        rv = verdict(None if r == "-" else float(r), RATE_TARGET, "ge")
        cv_ = verdict(None if c == "-" else float(c), CPU_TARGET, "le")
        gen_text = "%3.0f%%" % gen
    lines = ["%-28s %8s %8s  %4s %-9s %-6s  %4s %-9s %-6s  %4s %-9s %s" % (
        label, tps, ref_tps, r, r_range, rv, c, c_range, cv_, o, o_range, gen_text)]
    d = dropped_line(rates)
    if d:
        lines.append(d)
    return lines


def cmd_targets(a):
    # Each round: tps, cpu (machine), own (processes), gen for pf, nd, ref, ref2.
    rounds = read_rounds(a.rounds, 4)
    out = [a.label]

    def fig(rnd, who, i):
        return rnd[who][i]

    ref_tps = "%.0f" % median([fig(r, "ref", 0) for r in rounds])
    for who, label in (("pf", "  preforkd (defaults)"), ("nd", "  --defer-accept 0"),
                       ("ref2", "  control: ref2/ref")):
        rates = [pos_ratio(fig(r, who, 0), fig(r, "ref", 0)) for r in rounds]
        cpus = [pos_ratio(fig(r, who, 1), fig(r, "ref", 1)) for r in rounds]
        procs = [pos_ratio(fig(r, who, 2), fig(r, "ref", 2)) for r in rounds]
        if who == "ref2":
            out += target_row(label, "", "", rates, cpus, procs, None)
        else:
            tps = "%.0f" % median([fig(r, who, 0) for r in rounds])
            gen = median([fig(r, who, 3) for r in rounds])
            out += target_row(label, tps, ref_tps, rates, cpus, procs, gen)
    print("\n".join(out))
    return 0


def cmd_tools(a):
    # Each round: tps, gen for prefork-bench (pb) and echobench (eb).
    rounds = read_rounds(a.rounds, 2)
    pb = [r["pb"] for r in rounds]
    eb = [r["eb"] for r in rounds]
    ratios = [pos_ratio(p[0], e[0]) for p, e in zip(pb, eb)]
    r, r_range = spread_text(ratios)
    lines = ["%-34s %13.0f %10.0f  %4s %-9s %-6s %7.0f%% %6.0f%%" % (
        a.label, median([p[0] for p in pb]), median([e[0] for e in eb]), r, r_range,
        verdict(None if r == "-" else float(r), TOOL_TARGET, "ge"),
        median([p[1] for p in pb]), median([e[1] for e in eb]))]
    d = dropped_line(ratios)
    if d:
        lines.append(d)
    print("\n".join(lines))
    return 0


def numbers(args):
    return [float(x) for x in args]


def cmd_median(a):
    m = median(numbers(a.values))
    print(plain(m) if m is None or a.format is None else a.format % m)
    return 0


def cmd_percentile(a):
    v = numbers(a.values)
    out = []
    for p in a.percent.split(","):
        out.append(plain(percentile(v, float(p))))
    print(" ".join(out))
    return 0


def cmd_cv(a):
    c = cv(numbers(a.values))
    print("-" if c is None else "%.3f" % c)
    return 0


def cmd_verdict(a):
    # A figure that could not be measured ('-', '?') has no verdict.
    value = float(a.value) if NUMBER.match(a.value) else None
    print(verdict(value, float(a.target), a.op))
    return 0


def cpu_line():
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu "):
                return [int(x) for x in line.split()[1:]]
    raise ValueError("/proc/stat has no cpu line")


def busy_pct(before, after):
    """Percent of all CPUs busy between two /proc/stat cpu lines: user, nice,
    system, irq, softirq and steal over all of those plus idle and iowait."""
    def busy(c):
        return c[0] + c[1] + c[2] + c[5] + c[6] + c[7]

    def total(c):
        return sum(c[:8])

    t = total(after) - total(before)
    return 100 * (busy(after) - busy(before)) / t if t > 0 else 0


def cmd_machine_busy(a):
    before = cpu_line()
    time.sleep(a.seconds)
    print("%.0f" % busy_pct(before, cpu_line()))
    return 0


def syscalls_line(label, ok, strace_text):
    """strace -c's table ('% time seconds usecs/call calls [errors] syscall', the
    last line the total) as calls per transaction."""
    parts, total = [], 0.0
    for line in strace_text.splitlines():
        f = line.split()
        if len(f) < 5 or not NUMBER.match(f[0]):
            continue
        if f[-1] == "total":
            total = float(f[3])
            continue
        parts.append("%s %.2f  " % (f[-1], float(f[3]) / ok))
    return "%-18s %s= %.2f syscalls per transaction" % (label, "".join(parts), total / ok)


def cmd_syscalls(a):
    with open(a.strace_out) as f:
        print(syscalls_line(a.label, a.ok, f.read()))
    return 0


def instructions_line(label, short_run, long_run, tx):
    """Instructions per transaction from two runs whose difference is TX
    transactions, so that start-up and exit cancel out."""
    if short_run > 0 and long_run > short_run:
        return "%-18s %.0f user-space instructions per transaction" % (
            label, (long_run - short_run) / tx)
    return "%-18s skipped: callgrind gave no count" % label


def cmd_instructions(a):
    print(instructions_line(a.label, a.short_run, a.long_run, a.tx))
    return 0


# ---- bench.sh: the burst (section 7) ----


def fmt_us(us):
    """A latency in microseconds as a person reads it: 85 us, 1.25 ms, 3.10 s."""
    if us is None:
        return "-"
    if us < 1000:
        return "%d us" % us
    if us < 1000000:
        return "%.2f ms" % (us / 1000)
    return "%.2f s" % (us / 1e6)


def read_burst(path):
    """burst-load.py's JSON, with the burst phase (the first with the most clients)
    and when it starts (seconds from the start of the run)."""
    with open(path) as f:
        d = json.load(f)
    phases = d["phases"]
    if not phases:
        raise ValueError("%s: no phase" % path)
    top = max(p["clients"] for p in phases)
    burst = next(i for i, p in enumerate(phases) if p["clients"] == top)
    d["burst"] = burst
    d["burst_start"] = sum(p["seconds"] for p in phases[:burst])
    return d


def burst_figures(d, max_workers):
    """(req p99 in the burst, reach text, workers after, idle after) of a run."""
    ph = d["phases"][d["burst"]]
    req = percentile(ph["first_us"] + ph["rt_us"], 99)
    needed = ph["clients"]
    start = d["burst_start"]
    if max_workers < needed:
        reach = "at most %d of the %d workers needed" % (max_workers, needed)
    else:
        reach = "%d workers never reached" % needed
        before = [s for s in d["samples"] if s[0] < start]
        if before and before[-1][1] >= needed:
            reach = "%d workers there at the jump" % needed
        else:
            for t, running, _, _ in d["samples"]:
                if t >= start and running >= needed:
                    reach = "%d workers reached %.2f s after the jump" % (needed, t - start)
                    break
    after = d["samples"][-1] if d["samples"] else None
    return req, reach, after


def cmd_burst_row(a):
    """One pool's block of section 7: a line a phase, then the pool's line."""
    d = read_burst(a.file)
    print(a.label)
    print("  %-12s %6s %9s %9s %9s %9s %9s %7s" % (
        "phase", "conns", "rt p50", "rt p99", "first p50", "first p99", "req p99", "errors"))
    for p in d["phases"]:
        first, rt = p["first_us"], p["rt_us"]
        errs = p["errors"]
        kinds = ", ".join("%s %d" % (k, v) for k, v in sorted(errs.items()) if v)
        print("  %-12s %6d %9s %9s %9s %9s %9s %7d%s" % (
            "%d x %s s" % (p["clients"], plain(p["seconds"])), p["connections"],
            fmt_us(percentile(rt, 50)), fmt_us(percentile(rt, 99)),
            fmt_us(percentile(first, 50)), fmt_us(percentile(first, 99)),
            fmt_us(percentile(first + rt, 99)), sum(errs.values()),
            " (%s)" % kinds if kinds else ""))
    _, reach, after = burst_figures(d, a.max_workers)
    counts = [s[1] for s in d["samples"]]
    if counts and min(counts) == max(counts):
        size = "%d workers throughout" % counts[0]
    elif counts:
        size = "%d to %d workers" % (min(counts), max(counts))
    else:
        size = "not sampled"
    after_text = "-" if after is None else "%d workers (%d idle)" % (after[1], after[2])
    print("  pool: %s; %s; at the end %s; client timer lag p99 %s" % (
        size, reach, after_text,
                                       fmt_us(percentile(d["lag_us"], 99))))
    return 0


def cmd_burst_chart(a):
    """The worker count over time, a row every --every seconds: '#' a busy worker,
    '.' an idle one, scaled to --width characters at most; repeated rows folded."""
    d = read_burst(a.file)
    samples = d["samples"]
    if not samples:
        print("  (no samples: the admin socket did not answer)")
        return 0
    top = max(s[1] for s in samples)
    per = max(1, math.ceil(top / a.width))
    ends, t = [], 0.0
    for p in d["phases"]:
        t += p["seconds"]
        ends.append((t, p["clients"]))
    print("  %6s %7s %7s  (one character = %d worker%s: # busy, . idle)" % (
        "t (s)", "clients", "workers", per, "" if per == 1 else "s"))
    last, folded, k, i = None, 0, 0, 0
    steps = int(ends[-1][0] / a.every + 1e-9)
    for n in range(steps + 1):
        when = n * a.every
        while i + 1 < len(samples) and samples[i + 1][0] <= when + 1e-9:
            i += 1
        _, running, idle, _ = samples[i]
        while k + 1 < len(ends) and when >= ends[k][0] - 1e-9:
            k += 1
        busy = max(0, running - idle)
        bar = "#" * math.ceil(busy / per) + "." * math.ceil(idle / per)
        row = (ends[k][1], running, bar)
        if row == last and n != steps:
            folded += 1
            continue
        if folded:
            print("  %6s" % "...")
            folded = 0
        print("  %6.2f %7d %7d  %s" % (when, row[0], running, bar))
        last = row
    return 0


def cmd_burst_verdict(a):
    """The targets of section 7: the adaptive pool's p99 during the burst within
    --ratio x the fixed MAX pool's, and at most MIN + 2 workers at the end."""
    fixed = read_burst(a.fixed_max)
    fixed_p99 = burst_figures(fixed, a.max)[0]
    if a.adaptive is None:
        print("adaptive pool: not available in this build (preforkd refuses "
              "--workers %d..%d): no verdict" % (a.min, a.max))
        return 0
    d = read_burst(a.adaptive)
    p99, _, after = burst_figures(d, a.max)
    r = None if p99 is None or not fixed_p99 else p99 / fixed_p99
    print("adaptive p99 during the burst %s, fixed %d %s: %s x, target <= %s x: %s" % (
        fmt_us(p99), a.max, fmt_us(fixed_p99), fmt2(r), plain(a.ratio),
        verdict(r, a.ratio, "le")))
    held = None if after is None else after[1]
    print("adaptive workers at the end %s, target <= %d (MIN + 2): %s" % (
        "-" if held is None else held, a.min + 2, verdict(held, a.min + 2, "le")))
    return 0


# ---- stress.sh: the verdict ----

CHECK_ORDER = ["mismatches", "client", "failures", "progress", "workers", "zombies",
               "totals", "server exit", "orphans"]


def client_summary(j):
    """The line stress.sh says about the client's run."""
    errors = j["errors"]
    return "%d ok, %d failed (%s), %.0f/s, p99 %d us" % (
        j["ok"], sum(errors.values()), json.dumps(errors, separators=(",", ":")),
        j["tps"], j["latency_us"]["p99"])


def read_client(path):
    """prefork-bench's JSON summary, or None when it has none."""
    try:
        with open(path) as f:
            j = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(j, dict) or "ok" not in j or "errors" not in j:
        return None
    return j


def cmd_stress_client(a):
    j = read_client(a.bench_json)
    if j is None:
        return 1
    print(client_summary(j))
    return 0


def client_checks(j, bench_rc, bench_err, kills, reloads, flaps):
    """The checks on what prefork-bench saw: [(name, result, detail)]."""
    mismatch = j["errors"].get("mismatch", 0)
    failed = sum(j["errors"].values())
    checks = []
    if mismatch == 0:
        checks.append(("mismatches", "PASS", "0 mismatched replies"))
    else:
        checks.append(("mismatches", "FAIL", "%d mismatched replies" % mismatch))
    # prefork-bench exits 1 exactly when it saw a mismatch; anything else is its own
    # failure (a sanitizer report, a crash) and voids the run.
    if bench_rc != (0 if mismatch == 0 else 1):
        first = next((l for l in bench_err.splitlines() if l.strip(" \t=")), "")
        checks.append(("client", "FAIL", "prefork-bench exited %d: %s" % (bench_rc, first)))
    signals = "%d reloads, %d scaling signals" % (reloads, flaps)
    if kills > 0:
        if failed <= kills:
            checks.append(("failures", "PASS", "%d failed <= %d workers killed" % (failed, kills)))
        else:
            checks.append(("failures", "FAIL", "%d failed > %d workers killed" % (failed, kills)))
    elif failed == 0:
        checks.append(("failures", "PASS", "0 failed (%s)" % signals))
    else:
        checks.append(("failures", "FAIL", "%d failed with no worker killed (%s)" % (failed, signals)))
    if j["ok"] <= 0:
        checks.append(("progress", "FAIL", "no transaction completed"))
    return checks


def totals_check(j, before, after, kills, keepalive, size):
    """The server's counters (accepted completed errors bytes_in bytes_out, before
    and after the run) against the client's. -> ((name, result, detail), server)."""
    accepted, completed, errors = (after[i] - before[i] for i in range(3))
    bytes_out = after[4] - before[4]
    ok = j["ok"]
    failed = sum(j["errors"].values())
    server = {"accepted": accepted, "completed": completed, "errors": errors}
    detail = "server accepted %d = completed %d + errors %d" % (accepted, completed, errors)
    if accepted != completed + errors:
        return ("totals", "FAIL", "server books do not balance: accepted %d != completed %d"
                " + errors %d" % (accepted, completed, errors)), server
    if errors > failed + kills:
        # Each server error is a connection lost with a killed worker or one the
        # client broke off (then it counted a failure).
        return ("totals", "FAIL", "%s; server errors %d > client failed %d + killed %d"
                % (detail, errors, failed, kills)), server
    if keepalive:
        # Keep-alive: the server counts connections; compare echoed bytes instead.
        lo, hi = (ok - kills) * size, (ok + failed) * size
        where = "within" if lo <= bytes_out <= hi else "outside"
        return ("totals", "PASS" if where == "within" else "FAIL",
                "%s; bytes echoed %d %s [%d, %d] from client's %d x %d B"
                % (detail, bytes_out, where, lo, hi, ok, size)), server
    # prefork-bench finishes what is in flight before it stops, so nothing is
    # abandoned; a transaction it gave up on (a timeout) may still complete on the
    # server: failures widen the upper bound. A worker killed after its last byte
    # went out counts an error while its client got the whole echo: kills widen
    # the lower one.
    lo, hi = ok - kills, ok + failed
    where = "within" if lo <= completed <= hi else "outside"
    return ("totals", "PASS" if where == "within" else "FAIL",
            "%s; client completed %d, server completed %s [%d, %d]"
            % (detail, ok, where, lo, hi)), server


def read_checks(path):
    """The checks stress.sh made itself: lines NAME<TAB>RESULT<TAB>DETAIL."""
    checks = []
    if path:
        with open(path) as f:
            for line in f:
                line = line.rstrip("\n")
                if line:
                    name, result, detail = (line.split("\t", 2) + ["", ""])[:3]
                    checks.append((name, result, detail))
    return checks


def totals_of(text):
    f = [int(x) for x in text.split()]
    if len(f) < 5:
        raise ValueError("expected 'accepted completed errors bytes_in bytes_out', got %r" % text)
    return f


def stress_verdict(a, j, bench_err):
    """(pass, checks, server) from the run's figures and stress.sh's own checks."""
    checks = client_checks(j, a.bench_rc, bench_err, a.kills, a.reloads, a.flaps)
    server = None
    if a.totals_after is not None:
        before = totals_of(a.totals_before) if a.totals_before else [0] * 5
        check, server = totals_check(j, before, totals_of(a.totals_after), a.kills,
                                     a.keepalive, a.size)
        checks.append(check)
    checks += read_checks(a.checks)
    rank = {name: i for i, name in enumerate(CHECK_ORDER)}
    checks.sort(key=lambda c: rank.get(c[0], len(CHECK_ORDER)))
    return all(c[1] != "FAIL" for c in checks), checks, server


def cmd_stress_verdict(a):
    j = read_client(a.bench_json)
    if j is None:
        print("benchstat.py: %s: no prefork-bench summary" % a.bench_json, file=sys.stderr)
        return 2
    bench_err = ""
    if a.bench_err:
        try:
            with open(a.bench_err, errors="replace") as f:
                bench_err = f.read()
        except OSError:
            pass
    passed, checks, server = stress_verdict(a, j, bench_err)
    if a.json:
        report = {
            "pass": passed,
            "target": a.target,
            "load": {"duration_s": to_number(a.duration), "concurrency": a.concurrency,
                     "size": a.size, "keepalive": bool(a.keepalive)},
            "faults": {"workers_killed": a.kills, "reloads": a.reloads,
                       "scale_signals": a.flaps},
            "client": {"ok": j["ok"], "failed": sum(j["errors"].values()),
                       "errors": j["errors"], "tps": j.get("tps"),
                       "latency_us": j.get("latency_us")},
            "server": server,
            "workers": {"target": a.target_workers, "final": a.final_workers},
            "checks": [{"name": n, "result": r, "detail": d} for n, r, d in checks],
        }
        print(json.dumps(report, indent=2))
    else:
        for name, result, detail in checks:
            print("%-5s %-12s %s" % (result, name, detail))
        print("verdict: %s" % ("PASS" if passed else "FAIL"))
    return 0 if passed else 1


# ---- bench-http.sh: one cell of paired rounds ----


def cmd_http_cell(a):
    """Lines 'ROUND SERVER RPS P50_US P99_US ERRORS CPU_US' -> one row a server
    (medians over the rounds, errors summed, p99 the worst round's) and the
    paired ratios preforkd/nginx with their verdicts."""
    rounds = read_rounds(a.rounds, 5)
    servers = ["preforkd", "nginx", "apache"]
    out = [a.label]
    for who in servers:
        figs = [r[who] for r in rounds if who in r]
        if not figs:
            continue
        col = list(zip(*figs))
        out.append("  %-9s %9.0f %8.0f %9.0f %9.0f %6d %8.1f" % (
            who, median(col[0]), median(col[1]), median(col[2]), max(col[2]),
            sum(col[3]), median(col[4])))
    both = [r for r in rounds if "preforkd" in r and "nginx" in r]
    rates = [pos_ratio(r["preforkd"][0], r["nginx"][0]) for r in both]
    cpus = [pos_ratio(r["preforkd"][4], r["nginx"][4]) for r in both]
    r, r_range = spread_text(rates)
    c, c_range = spread_text(cpus)
    line = "  preforkd/nginx: rate %s %s" % (r, r_range)
    if a.rate_target is not None:
        line += " target >= %s: %s" % (plain(a.rate_target), verdict(
            None if r == "-" else float(r), a.rate_target, "ge"))
    line += "; cpu %s %s" % (c, c_range)
    if a.cpu_target is not None:
        line += " target <= %s: %s" % (plain(a.cpu_target), verdict(
            None if c == "-" else float(c), a.cpu_target, "le"))
    out.append(line)
    if a.p99_limit_us is not None and any("preforkd" in r for r in rounds):
        worst = max(r["preforkd"][2] for r in rounds if "preforkd" in r)
        out.append("  preforkd p99 %.0f us (worst round), target <= %s us (the keep-alive "
                   "timeout): %s" % (worst, plain(a.p99_limit_us),
                                      verdict(worst, a.p99_limit_us, "le")))
    print("\n".join(out))
    return 0


# ---- the command line ----


def parser():
    p = argparse.ArgumentParser(
        prog="benchstat.py",
        description="The statistics and verdicts of scripts/bench.sh and "
        "scripts/stress.sh, computed from figures the scripts collected. Exit 0, "
        "or 1 for a stress verdict that fails, 2 on bad usage or input.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name, func, help_text):
        s = sub.add_parser(name, help=help_text, description=help_text)
        s.set_defaults(func=func)
        return s

    s = add("median", cmd_median, "the median of the numbers ('-' when none)")
    s.add_argument("--format", help="printf-style format of the result, e.g. %%.0f")
    s.add_argument("values", nargs="*", metavar="NUMBER")

    s = add("percentile", cmd_percentile,
            "nearest-rank percentiles of the numbers: P may be a comma-separated list")
    s.add_argument("percent", metavar="P")
    s.add_argument("values", nargs="*", metavar="NUMBER")

    s = add("cv", cmd_cv, "coefficient of variation (population) of the numbers")
    s.add_argument("values", nargs="*", metavar="NUMBER")

    s = add("verdict", cmd_verdict, "met or MISSED: VALUE against TARGET ('-' for no value)")
    s.add_argument("value", metavar="VALUE")
    s.add_argument("target", metavar="TARGET")
    s.add_argument("op", choices=["ge", "le"])

    s = add("load", cmd_load, "the figures of one load run: "
            "'ok tps p50 p99 failed server_us_per_tx process_us_per_tx gen_cpu_pct'")
    s.add_argument("--tool", required=True, choices=["prefork-bench", "echobench"])
    s.add_argument("--port", default="?", help="the server's port, for messages")
    s.add_argument("--out", required=True, help="the tool's stdout")
    s.add_argument("--err", default="", help="the tool's stderr")
    s.add_argument("--times", required=True,
                   help="its exit status, then the output of bash's `times`")
    s.add_argument("--busy", type=int, required=True, help="machine busy clock ticks")
    s.add_argument("--proc", type=int, required=True, help="the servers' own clock ticks")
    s.add_argument("--hz", type=int, required=True, help="clock ticks per second")

    s = add("matrix-row", cmd_matrix_row, "one row of bench.sh's matrix from load figures")
    for name in ("workers", "conc", "mode", "size", "preforkd"):
        s.add_argument(name)
    s.add_argument("ref", nargs="?")

    s = add("targets", cmd_targets, "bench.sh's targets rows from a rounds file "
            "(lines 'ROUND pf|nd|ref|ref2 TPS CPU PROC GEN')")
    s.add_argument("label")
    s.add_argument("rounds", metavar="FILE")

    s = add("tools", cmd_tools, "a row of prefork-bench against echobench from a rounds "
            "file (lines 'ROUND pb|eb TPS GEN')")
    s.add_argument("label")
    s.add_argument("rounds", metavar="FILE")

    s = add("http-cell", cmd_http_cell, "one cell of bench-http.sh from a rounds file "
            "(lines 'ROUND preforkd|nginx|apache RPS P50 P99 ERRORS CPU')")
    s.add_argument("label")
    s.add_argument("rounds", metavar="FILE")
    s.add_argument("--rate-target", type=float)
    s.add_argument("--cpu-target", type=float)
    s.add_argument("--p99-limit-us", type=float)

    s = add("burst-row", cmd_burst_row, "a pool's block of bench.sh's burst section "
            "from burst-load.py's JSON")
    s.add_argument("label")
    s.add_argument("file", metavar="FILE")
    s.add_argument("--max-workers", type=int, required=True,
                   help="the most workers this pool may run")

    s = add("burst-chart", cmd_burst_chart, "the worker count over time from "
            "burst-load.py's JSON, as a text chart")
    s.add_argument("file", metavar="FILE")
    s.add_argument("--every", type=float, default=0.25, help="seconds a row")
    s.add_argument("--width", type=int, default=64, help="characters a bar at most")

    s = add("burst-verdict", cmd_burst_verdict, "the burst targets: the adaptive "
            "pool against the fixed MAX pool")
    s.add_argument("--fixed-max", required=True, metavar="FILE")
    s.add_argument("--adaptive", metavar="FILE", help="absent: no adaptive pool")
    s.add_argument("--min", type=int, required=True)
    s.add_argument("--max", type=int, required=True)
    s.add_argument("--ratio", type=float, default=1.5)

    s = add("machine-busy", cmd_machine_busy,
            "percent of all CPUs busy over SECONDS, from /proc/stat")
    s.add_argument("seconds", type=float, nargs="?", default=1.0)

    s = add("syscalls", cmd_syscalls, "system calls per transaction from strace -c output")
    s.add_argument("label")
    s.add_argument("ok", type=int, help="transactions completed under strace (> 0)")
    s.add_argument("strace_out", metavar="FILE")

    s = add("instructions", cmd_instructions,
            "instructions per transaction from two callgrind counts")
    s.add_argument("label")
    s.add_argument("short_run", type=int, metavar="SHORT")
    s.add_argument("long_run", type=int, metavar="LONG")
    s.add_argument("tx", type=int, metavar="TX", help="transactions between them (> 0)")

    s = add("stress-client", cmd_stress_client,
            "the client line of stress.sh from prefork-bench --json (exit 1 without one)")
    s.add_argument("bench_json", metavar="FILE")

    s = add("stress-verdict", cmd_stress_verdict,
            "stress.sh's checks and verdict, as text or --json (exit 1 when one fails)")
    s.add_argument("--bench-json", required=True)
    s.add_argument("--bench-rc", type=int, required=True)
    s.add_argument("--bench-err", default="")
    s.add_argument("--kills", type=int, default=0)
    s.add_argument("--reloads", type=int, default=0)
    s.add_argument("--flaps", type=int, default=0)
    s.add_argument("--keepalive", type=int, choices=[0, 1], default=0)
    s.add_argument("--size", type=int, default=64)
    s.add_argument("--totals-before", help="'accepted completed errors bytes_in bytes_out'")
    s.add_argument("--totals-after", help="the same after the run; no totals check without")
    s.add_argument("--checks", help="checks made by stress.sh: NAME<TAB>RESULT<TAB>DETAIL lines")
    s.add_argument("--json", action="store_true")
    s.add_argument("--target", default="")
    s.add_argument("--duration", default="0")
    s.add_argument("--concurrency", type=int, default=0)
    s.add_argument("--target-workers", type=int, default=-1)
    s.add_argument("--final-workers", type=int, default=-1)
    return p


def main(argv):
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except (OSError, ValueError, IndexError, ZeroDivisionError) as e:
        print("benchstat.py %s: %s" % (args.command, e), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
