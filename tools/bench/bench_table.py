#!/usr/bin/env python3
"""Prints dlpool's benchmark beside CPython's multiprocessing.Pool and the pipe floor.

Reads JSON lines (files named on the command line, or stdin) from dlpool-bench ("peer":
"dlpool"), peer/mp_pool_bench.py ("cpython-pool"), peer/pipe_limits.c and floor/pool_floor.c
("raw-pipe"); lines
that are not JSON objects are ignored. A workload reported more than once by the same peer (the
CPython peer run several times, say) counts as the median of its values.

Every ratio is dlpool's figure over the other one in the same unit, so it reads like the goal
beside it: for a time "0.3x <= 0.5x" means dlpool takes 0.3 of CPython's time, for a rate "12x
>= 10x" means dlpool does 12 times as many per second.

Usage: bench_table.py RESULTS.jsonl [MORE.jsonl ...]   (stdlib only)
"""
import json
import statistics
import sys

PEERS = ("dlpool", "cpython-pool", "raw-pipe")

# workload, the floor it is compared with, and its goal:
#   (against, op, target) with against "cpython", "floor" or "self" (dlpool's own value).
ROWS = [
    ("startup", "spawn_exit", ("cpython", "<=", 0.5)),
    ("apply_latency", "pipe_rtt", ("floor", "<=", 1.5)),
    ("async_throughput", None, ("cpython", ">=", 10.0)),
    ("map_tiny", None, ("cpython", ">=", 10.0)),
    ("imap_tiny", None, ("cpython", ">=", 10.0)),
    ("payload", "pipe_bandwidth", ("floor", ">=", 0.8)),
    ("error_path", None, ("cpython", ">=", 10.0)),
    ("cpu_speedup", "pipe_pool_speedup", ("self", ">=", 1.95)),
    ("sigkill_recovery", "spawn_exit", ("self", "<=", 5.0)),
]


def load(paths):
    """{peer: {workload: [row, ...]}} from every JSON object line of the inputs."""
    found = {p: {} for p in PEERS}
    streams = [open(p, encoding="utf-8") for p in paths] if paths else [sys.stdin]
    for stream in streams:
        for line in stream:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            peer, workload = row.get("peer"), row.get("workload")
            if peer in found and isinstance(workload, str) and isinstance(row.get("value"), (int, float)):
                found[peer].setdefault(workload, []).append(row)
        if stream is not sys.stdin:
            stream.close()
    return found


def value(found, peer, workload):
    rows = found[peer].get(workload)
    return statistics.median(r["value"] for r in rows) if rows else None


def first(found, peer, workload):
    rows = found[peer].get(workload)
    return rows[0] if rows else None


def fmt(x):
    if x is None:
        return "-"
    if abs(x) >= 10_000:
        return f"{x:,.0f}"
    if abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.3g}" if abs(x) >= 0.01 else f"{x:.2g}"


def ratio(a, b):
    return a / b if a is not None and b not in (None, 0) else None


def fmt_ratio(r):
    # Two decimals below 10, so that a ratio beside its goal (1.5x) is never rounded onto it.
    if r is None:
        return "-"
    return f"{r:.2f}x" if r < 10 else f"{r:.1f}x"


def judge(goal, dl, to_cpython, to_floor, processes, unit):
    against, op, target = goal
    measured = {"cpython": to_cpython, "floor": to_floor, "self": dl}[against]
    sign = {"<=": "\u2264", ">=": "\u2265"}[op]
    if against == "self":
        text = f"{sign} {target:g}x" if unit == "x" else f"{sign} {target:g} {unit}"
    else:
        text = f"{sign} {target:g}x of " + ("CPython" if against == "cpython" else "floor")
    if measured is None:
        return text, "n/a"
    if against == "self" and op == ">=" and processes != 2:
        return text + " (P=2)", f"n/a (P={processes})"
    met = measured <= target if op == "<=" else measured >= target
    if met:
        return text, "met"
    # A goal on dlpool's own figure that the bare floor misses too: the floor is what stops it.
    if against == "self" and to_floor is not None and (to_floor >= 1 if op == ">=" else to_floor <= 1):
        return text, "MISSED (floor too)"
    return text, "MISSED"


def table(headers, rows):
    widths = [max(len(str(r[i])) for r in [headers] + rows) for i in range(len(headers))]
    numeric = [i not in (0, 1, len(headers) - 2, len(headers) - 1) for i in range(len(headers))]
    def line(cells):
        return "  ".join(str(c).rjust(w) if n else str(c).ljust(w) for c, w, n in zip(cells, widths, numeric)).rstrip()
    out = [line(headers), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    return "\n".join(out)


def main():
    found = load(sys.argv[1:])
    if not any(found.values()):
        sys.exit("bench_table.py: no benchmark lines in the input")

    any_dl = next((rows[0] for rows in found["dlpool"].values()), {})
    any_py = next((rows[0] for rows in found["cpython-pool"].values()), {})
    processes = any_dl.get("processes", any_py.get("processes"))
    runs_py = max((len(r) for r in found["cpython-pool"].values()), default=0)
    print(f"dlpool ({any_dl.get('build') or 'unknown build'}, median of {any_dl.get('repeat', '?')} runs) vs "
          f"CPython {any_py.get('python', '?')} multiprocessing.Pool (fork; median of {runs_py} run(s)) "
          f"vs raw pipes; {processes} processes")
    if any_dl and any_dl.get("build") not in ("Release", "RelWithDebInfo"):
        print(f"WARNING: dlpool-bench was built as {any_dl.get('build') or 'an unknown type'}, not Release")
    print()

    rows, met, judged = [], 0, 0
    for workload, floor_name, goal in ROWS:
        dl = value(found, "dlpool", workload)
        py = value(found, "cpython-pool", workload)
        fl = value(found, "raw-pipe", floor_name) if floor_name else None
        unit_row = first(found, "dlpool", workload) or first(found, "cpython-pool", workload) or {}
        to_py, to_fl = ratio(dl, py), ratio(dl, fl)
        unit = unit_row.get("unit", "")
        goal_text, status = judge(goal, dl, to_py, to_fl, processes, unit)
        if status in ("met", "MISSED", "MISSED (floor too)"):
            judged += 1
            met += status == "met"
        floor_cell = f"{fmt(fl)} ({floor_name})" if fl is not None else "-"
        py_cell = "hangs (bpo-22393)" if workload == "sigkill_recovery" else fmt(py)
        rows.append([workload, unit, fmt(dl), py_cell, floor_cell,
                     fmt_ratio(to_py), fmt_ratio(to_fl), goal_text, status])
    print(table(["workload", "unit", "dlpool", "CPython", "floor", "dl/CPython", "dl/floor", "goal", "status"], rows))
    print(f"\ngoals met: {met} of {judged}")

    details = []
    kill = first(found, "dlpool", "sigkill_recovery")
    if kill:
        details.append(f"sigkill_recovery: kill -> WorkerLostError {fmt(kill.get('error_ms'))} ms, "
                       f"-> replacement answered {fmt(kill['value'])} ms (median of {kill.get('reps')}, "
                       f"max {fmt(kill.get('max_ms'))} ms; 1-worker pool)")
    endless = first(found, "dlpool", "imap_endless_rss")
    if endless:
        growth = endless.get("last_mib", 0) - endless.get("first_mib", 0)
        details.append(f"imap_endless_rss: host RSS over {endless.get('items'):,} results of an endless imap "
                       f"({endless.get('item_bytes')} B items): first {fmt(endless.get('first_mib'))} / "
                       f"last {fmt(endless.get('last_mib'))} / max {fmt(endless.get('max_mib'))} MiB "
                       f"(last - first {growth:+.2f} MiB)")
    workers = first(found, "dlpool", "worker_rss")
    if workers:
        each = ", ".join(f"pid {w['pid']}: {fmt(w['rss_mib'])} MiB" for w in workers.get("workers", []))
        details.append(f"worker_rss: {each}; host {fmt(workers.get('host_rss_mib'))} MiB")
    if details:
        print("\n" + "\n".join(details))


if __name__ == "__main__":
    main()
