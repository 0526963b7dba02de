#!/usr/bin/env python3
"""Prints dlpool's benchmark beside its peers: CPython's multiprocessing.Pool and the pipe floor
on one machine, mpi4py.futures over MPI.

Reads JSON lines (files named on the command line, or stdin) from dlpool-bench and
dlpool-mpi-bench ("peer": "dlpool"), peer/mp_pool_bench.py ("cpython-pool"),
peer/mpi4py_futures_bench.py ("mpi4py-futures"), peer/pipe_limits.c and floor/pool_floor.c
("raw-pipe"); lines that are not JSON objects are ignored. A workload reported more than once by
the same peer (a peer run several times, say) counts as the median of its values. A table's part
(local, MPI) is printed when some line is of one of its workloads.

Every ratio is dlpool's figure over the other one in the same unit, so it reads like the goal
beside it: for a time "0.3x <= 0.5x" means dlpool takes 0.3 of the peer's time, for a rate "12x
>= 10x" means dlpool does 12 times as many per second. The "peer" column is the row's peer:
CPython's Pool for the local workloads, mpi4py.futures for the mpi_ ones.

Usage: bench_table.py RESULTS.jsonl [MORE.jsonl ...]   (stdlib only)
"""
import json
import statistics
import sys

PEERS = ("dlpool", "cpython-pool", "mpi4py-futures", "raw-pipe")

# workload, the floor it is compared with, and its goal:
#   (against, op, target) with against "cpython", "floor" or "self" (dlpool's own value).
# The floors are the best the tools measured: the round trip on the best CPU placement, the echo
# through the best pipes (see the "floor:" lines under the table for each placement).
ROWS = [
    ("startup", "spawn_exit", ("floor", "<=", 3.0)),
    ("apply_latency", "pipe_rtt", ("floor", "<=", 1.5)),
    ("async_throughput", None, ("cpython", ">=", 30.0)),
    ("map_tiny", None, ("cpython", ">=", 20.0)),
    ("imap_tiny", None, ("cpython", ">=", 30.0)),
    # Through the shared arena (issue 18): 3x the pipe. The echo with a std::string parameter
    # (as the peer's), the same with a std::string_view one, and 64 MiB messages.
    ("payload", "pipe_bandwidth", ("floor", ">=", 3.0)),
    ("payload_view", "pipe_bandwidth", ("floor", ">=", 3.0)),
    ("payload_64m", "pipe_bandwidth", ("floor", ">=", 3.0)),
    ("error_path", None, ("cpython", ">=", 50.0)),
    # The median pair of runs, and (WORST_RUN) every pair at or above 1.8.
    ("cpu_speedup", "pipe_pool_speedup", ("self", ">=", 1.95)),
    ("sigkill_recovery", "spawn_exit", ("self", "<=", 5.0)),
    # Tracing on, against the same workload untraced in the same run (the row's "untraced").
    ("map_tiny_traced", None, ("untraced", ">=", 0.95)),
    ("imap_tiny_traced", None, ("untraced", ">=", 0.95)),
]

# Over MPI (dlpool-mpi-bench beside peer/mpi4py_futures_bench.py), against "mpi4py", or:
#   "local"      dlpool's MPI speedup over the local pool's in the same run (its row's
#                local_speedup): 2 agents x 1 worker against 2 local workers;
#   "heartbeat"  dlpool's time in ms, the target being the row's heartbeat_ms + target ms.
MPI_ROWS = [
    ("mpi_apply_latency", None, ("mpi4py", "<=", 0.25)),
    ("mpi_map_tiny_cs1", None, ("mpi4py", ">=", 10.0)),
    ("mpi_map_tiny_cs100", None, ("mpi4py", ">=", 2.0)),
    ("mpi_cpu_speedup", None, ("local", ">=", 0.95)),
    ("mpi_agent_loss", None, ("heartbeat", "<=", 100)),
]
PEER_OF = {"cpython": "cpython-pool", "mpi4py": "mpi4py-futures"}
# Goals on every run as well as the median: workload -> the least any run may give.
WORST_RUN = {"cpu_speedup": 1.8}
# The most a payload can reach through shared memory (memory_floor.c's shm_echo: three copies an
# echo), for a payload goal: a goal that this floor misses too is missed for memory bandwidth.
SHM_BOUND = {"payload": "echo_1mib", "payload_view": "echo_1mib", "payload_64m": "echo_64mib"}
# A pool's startup execs its worker once (the fork server): exec_floor.c's worker_ms, the worker
# alone starting and exiting, bounds it from below. A startup goal this misses too is missed for
# the cost of exec here.
EXEC_BOUND = {"startup": "worker_ms"}
PEER_NAME = {"cpython": "CPython", "mpi4py": "mpi4py"}


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


def judge(goal, dl, to_peer, to_floor, processes, unit, row):
    against, op, target = goal
    sign = {"<=": "\u2264", ">=": "\u2265"}[op]
    if against == "local":
        local = row.get("local_speedup")
        measured = ratio(dl, local)
        text = f"{sign} {target:g}x of local" + (f" ({fmt(local * target)}x)" if local else "")
    elif against == "heartbeat":
        heartbeat = row.get("heartbeat_ms")
        limit = heartbeat + target if isinstance(heartbeat, (int, float)) else None
        measured = dl if limit is not None else None
        text = f"{sign} heartbeat + {target:g} ms" + (f" ({fmt(limit)})" if limit is not None else "")
        target = limit
    elif against == "untraced":
        untraced = row.get("untraced")
        measured = ratio(dl, untraced)
        text = f"{sign} {target:g}x of untraced" + (f" ({fmt(untraced * target)})" if untraced else "")
    elif against == "self":
        measured = dl
        text = f"{sign} {target:g}x" if unit == "x" else f"{sign} {target:g} {unit}"
    else:
        measured = to_floor if against == "floor" else to_peer
        text = f"{sign} {target:g}x of " + PEER_NAME.get(against, "floor")
    if measured is None:
        return text, "n/a"
    if against == "self" and op == ">=" and processes != 2:
        return text + " (P=2)", f"n/a (P={processes})"
    met = measured <= target if op == "<=" else measured >= target
    worst_allowed = WORST_RUN.get(row.get("workload"))
    if worst_allowed is not None:
        text += f", every run \u2265 {worst_allowed:g}x"
        runs = row.get("runs") or [measured]
        met = met and min(runs) >= worst_allowed
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


def reported(found, rows):
    """Whether any peer reported one of the workloads (or floors) of `rows`."""
    names = {w for w, _, _ in rows} | {f for _, f, _ in rows if f}
    return any(names & rows_of.keys() for rows_of in found.values())


def mpi_row(found, workload):
    """The MPI row's own figures: the median run's extras, for a goal set against one of them."""
    rows = sorted(found["dlpool"].get(workload, []), key=lambda r: r["value"])
    return rows[(len(rows) - 1) // 2] if rows else {}


def floor_details(found):
    """The floors' placements and pipe sizes, and the CPU-bound runs' spread."""
    out = []
    rtt, echo = first(found, "raw-pipe", "pipe_rtt"), first(found, "raw-pipe", "pipe_bandwidth")
    if rtt:
        out.append(f"floor: pipe round trip {fmt(rtt.get('same_cpu_us'))} us with both on one CPU, "
                   f"{fmt(rtt.get('cross_cpu_us'))} on two, {fmt(rtt.get('unpinned_us'))} unpinned "
                   f"(best {fmt(rtt['value'])}, p99 {fmt(rtt.get('p99_us'))})")
    if echo:
        out.append(f"floor: 1 MiB echo {fmt(echo.get('default_pipe'))} MiB/s through 64 KiB pipes, "
                   f"{fmt(echo.get('grown_pipe'))} through 1 MiB pipes (best {fmt(echo['value'])})")
    memory = first(found, "raw-pipe", "memory_bandwidth")
    if memory:
        out.append(f"floor: memory bandwidth {fmt(memory['value'])} MiB/s ({memory.get('detail', 'memcpy')})")
    shm = first(found, "raw-pipe", "shm_echo")
    if shm:
        out.append(f"floor: echo through shared memory (3 copies) {fmt(shm.get('echo_1mib'))} MiB/s for 1 MiB, "
                   f"{fmt(shm.get('echo_64mib'))} for 64 MiB")
    exe = first(found, "raw-pipe", "exec_floor")
    if exe:
        out.append(f"floor: posix_spawn + exit of /bin/true {fmt(exe.get('true_ms'))} ms, of a C++ program that does "
                   f"nothing {fmt(exe.get('cxx_ms'))} ms, of dlpool-worker --fork-server {fmt(exe.get('worker_ms'))} ms")
    cpu, pool = mpi_row(found, "cpu_speedup"), first(found, "raw-pipe", "pipe_pool_speedup")
    if cpu.get("runs"):
        out.append(f"cpu_speedup: {len(cpu['runs'])} pairs, min {fmt(min(cpu['runs']))} / median "
                   f"{fmt(cpu['value'])} / max {fmt(max(cpu['runs']))}; one worker {fmt(cpu.get('one_worker_s'))} s"
                   + (f"; bare pipe pool min {fmt(pool.get('min'))} / max {fmt(pool.get('max'))}" if pool else ""))
    return out


def main():
    found = load(sys.argv[1:])
    if not any(found.values()):
        sys.exit("bench_table.py: no benchmark lines in the input")
    local, mpi = reported(found, ROWS), reported(found, MPI_ROWS)
    mpi_names = {w for w, _, _ in MPI_ROWS} | {"rank0_sustain"}

    dl_rows = [rows[0] for w, rows in found["dlpool"].items() if w not in mpi_names]
    mpi_dl_rows = [rows[0] for w, rows in found["dlpool"].items() if w in mpi_names]
    any_dl = dl_rows[0] if dl_rows else {}
    any_py = next((rows[0] for rows in found["cpython-pool"].values()), {})
    processes = any_dl.get("processes", any_py.get("processes"))
    runs_py = max((len(r) for r in found["cpython-pool"].values()), default=0)
    if local:
        print(f"dlpool ({any_dl.get('build') or 'unknown build'}, median of {any_dl.get('repeat', '?')} runs) vs "
              f"CPython {any_py.get('python', '?')} multiprocessing.Pool (fork; median of {runs_py} run(s)) "
              f"vs raw pipes; {processes} processes")
    if mpi:
        any_mpi = next((r for r in mpi_dl_rows if "repeat" in r), mpi_dl_rows[0] if mpi_dl_rows else {})
        any_fut = next((rows[0] for rows in found["mpi4py-futures"].values()), {})
        runs_fut = max((len(r) for r in found["mpi4py-futures"].values()), default=0)
        print(f"over MPI: dlpool ({any_mpi.get('agents', '?')} agents, {any_mpi.get('workers', '?')} workers; "
              f"median of {any_mpi.get('repeat', '?')} runs) vs mpi4py.futures ({any_fut.get('workers', '?')} "
              f"worker ranks; median of {runs_fut} run(s))")
    for row in dl_rows + mpi_dl_rows:
        if row.get("build") not in ("Release", "RelWithDebInfo"):
            print(f"WARNING: dlpool's {row['workload']} was built as {row.get('build') or 'an unknown type'}, "
                  "not Release")
            break
    print()

    rows, met, judged = [], 0, 0
    for workload, floor_name, goal in (ROWS if local else []) + (MPI_ROWS if mpi else []):
        peer = PEER_OF[goal[0]] if goal[0] in PEER_OF else "mpi4py-futures" if workload.startswith("mpi_") \
            else "cpython-pool"
        dl = value(found, "dlpool", workload)
        py = value(found, peer, workload)
        fl = value(found, "raw-pipe", floor_name) if floor_name else None
        unit_row = first(found, "dlpool", workload) or first(found, peer, workload) or {}
        to_py, to_fl = ratio(dl, py), ratio(dl, fl)
        unit = unit_row.get("unit", "")
        goal_text, status = judge(goal, dl, to_py, to_fl, processes, unit, mpi_row(found, workload))
        shm = first(found, "raw-pipe", "shm_echo")
        if status == "MISSED" and workload in SHM_BOUND and shm and fl:
            bound = ratio(shm.get(SHM_BOUND[workload]), fl)
            if bound is not None and bound < goal[2]:
                status = f"MISSED (shm floor {fmt_ratio(bound)})"
        exe = first(found, "raw-pipe", "exec_floor")
        if status == "MISSED" and workload in EXEC_BOUND and exe and fl:
            bound = ratio(exe.get(EXEC_BOUND[workload]), fl)
            if bound is not None:
                status = f"MISSED (worker exec {fmt_ratio(bound)})"
        if status == "met" or status.startswith("MISSED"):
            judged += 1
            met += status == "met"
        if workload == "mpi_cpu_speedup" and mpi_row(found, workload).get("local_speedup") is not None:
            fl = mpi_row(found, workload)["local_speedup"]
            floor_cell, to_fl = f"{fmt(fl)} (local)", ratio(dl, fl)
        else:
            floor_cell = f"{fmt(fl)} ({floor_name})" if fl is not None else "-"
        py_cell = {"sigkill_recovery": "hangs (bpo-22393)",
                   "mpi_agent_loss": "hangs or aborts"}.get(workload, fmt(py))
        rows.append([workload, unit, fmt(dl), py_cell, floor_cell,
                     fmt_ratio(to_py), fmt_ratio(to_fl), goal_text, status])
    print(table(["workload", "unit", "dlpool", "peer", "floor", "dl/peer", "dl/floor", "goal", "status"], rows))
    print(f"\ngoals met: {met} of {judged}")

    details = floor_details(found) if local else []
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
    sustain = mpi_row(found, "rank0_sustain")
    if sustain:
        per_chunk = sustain.get("cpu_us_per_chunk")
        details.append(f"rank0_sustain: rank 0 sent and collected {fmt(value(found, 'dlpool', 'rank0_sustain'))} "
                       f"chunks/s (chunksize 1, {sustain.get('agents')} agents x "
                       f"{sustain.get('workers') // max(sustain.get('agents') or 1, 1)} workers), "
                       f"{fmt(per_chunk)} us of its CPU per chunk: one core of rank 0 would sustain "
                       f"{fmt(sustain.get('one_core_chunks_per_s'))} chunks/s "
                       f"(it used {fmt(sustain.get('rank0_cpu_share'))} of a core)")
    loss = mpi_row(found, "mpi_agent_loss")
    if loss:
        details.append(f"mpi_agent_loss: agent of rank {loss.get('killed_rank')} SIGKILLed mid-map, map returned "
                       f"after {fmt(loss['value'])} ms ({loss.get('outcome')}; heartbeat {loss.get('heartbeat_ms')} ms); "
                       f"then {loss.get('agents_after')} agent(s), {loss.get('workers_after')} worker(s), "
                       f"next map {fmt(loss.get('next_map_ms'))} ms, {loss.get('orphan_workers')} orphan worker(s)")
    if details:
        print("\n" + "\n".join(details))


if __name__ == "__main__":
    main()
