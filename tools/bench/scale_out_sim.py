#!/usr/bin/env python3
"""Simulates how many nodes one rank 0 keeps busy, flat and through group leaders.

A discrete-event simulation (heapq) of dlpool's MPI scale-out, fed with measured per-message costs.
Input is endless and every task takes the same time (uniform jitter aside), so what it shows is
the steady state a large map reaches, and what bounds it.

The model:
- A node is an agent with `--cores` workers. It holds up to `--credits` chunks per worker (queued
  or running). A free worker takes the next queued chunk at once; the agent's own CPU is free.
  Each result returns a credit; the agent sends results (with their credits) `--batch` at a time.
- Rank 0 is one server, FIFO. Each message to a peer costs it msg + n * chunk CPU seconds, where n
  is the number of chunks it carries, msg + chunk = `--host-cost-us` (the cost of dispatching and
  collecting one chunk sent alone) and chunk = `--chunk-share` of it (encoding and bookkeeping,
  which batching does not save), plus `--item-cost-us` per task in the chunk (reading its input,
  encoding it, writing its result). That cost is charged when rank 0 sends the chunks, and covers
  collecting their results later.
- Flat: rank 0 serves every agent. Each result batch that reaches it is answered with as many
  new chunks.
- Two-level: rank 0 serves G leaders, each relaying to `--group-size` agents (default the square
  root of the node count). A leader holds its agents' credits plus two `--leader-batch`es in a
  pool shared by its group: an agent's results are answered from that pool, so work goes to the
  group's free workers (what stealing within a group achieves, at no extra cost). The leader sends
  results to rank 0 `--leader-batch` at a time, and rank 0 refills the pool with as many chunks.
  A leader is a server like rank 0, with `--relay-cost-us` split the same way.
- Every message takes `--latency-us` one way. Heartbeats are not simulated: their cost is one
  message per peer per heartbeat interval, under 1% of rank 0 for 1,000 peers at 1 s.
- A leader's death (two-level, the largest node count): at the end of the window one leader dies. Its agents
  run on, but their results go nowhere. After `--heartbeat-ms` rank 0 declares it lost, as it
  would an agent: the chunks its group had started fail (WorkerLostError, as a lost worker's
  chunk does), those not started are sent again, and its agents join the other leaders, whose
  credits grow by theirs. The report gives tasks/s in bins of a task duration, the lowest bin, the tasks short of the
  rate before, and when the rate is back (every later bin within a fifth of the dip below it).

Worker busy fraction, tasks/s (finished by a worker whose result is not lost: counted there, as
results reach rank 0 in lumps of a batch) and rank 0's busy fraction are measured
over `--horizon` task durations after a warm-up: the initial fill, then `--credits` + `--warmup`
task durations.
The closed form beside them: the nodes rank 0 keeps busy =
1 / (host cost per task * cores / task duration), with the per-chunk cost at the chosen batching.

Usage: scale_out_sim.py [--markdown] [--quick] [--nodes 1,10,100,1000] [--host-cost-us 4] ...
(stdlib only; one JSON line per result, or Markdown tables with --markdown)
"""
import argparse
import heapq
import itertools
import json
import math
import random

ARRIVE, DONE, RANK0_RECV, LEADER_RECV, LEADER_FILL, DEATH, DETECT = range(7)


def overlap(start, end, lo, hi):
    return max(0.0, min(end, hi) - max(start, lo))


class Sim:
    """One run: a topology, a node count and a task duration, simulated until `end`."""

    def __init__(self, a, two_level, nodes, task_s, death=False):
        self.a, self.two_level, self.task_s = a, two_level, task_s
        self.chunk_s = task_s * a.chunksize
        self.lat = a.latency_us * 1e-6
        host, relay = a.host_cost_us * 1e-6, (a.relay_cost_us or a.host_cost_us) * 1e-6
        self.r0_chunk = host * a.chunk_share + a.item_cost_us * 1e-6 * a.chunksize
        self.r0_msg = host * (1 - a.chunk_share)
        self.ld_chunk, self.ld_msg = relay * a.chunk_share, relay * (1 - a.chunk_share)
        self.credit = a.credits * a.cores
        self.random, self.jitter = random.Random(a.seed).random, a.jitter
        self.heap, self.seq = [], itertools.count()
        self.queue, self.idle, self.buffered = [0] * nodes, [a.cores] * nodes, [0] * nodes
        self.epoch = [0] * nodes
        size = group_size(a, nodes) if two_level else nodes
        self.group = [i // size for i in range(nodes)]
        groups = self.group[-1] + 1
        self.pool, self.waiting = [0] * groups, [[] for _ in range(groups)]
        self.results, self.alive = [0] * groups, [True] * groups
        self.leader_free, self.leader_busy = [0.0] * groups, [0.0] * groups
        self.sent, self.started, self.collected = [0] * groups, [0] * groups, [0] * groups
        self.r0_free = self.r0_busy = self.worker_busy = 0.0
        self.ok = 0
        self.nodes, self.groups = nodes, groups

        # The initial fill, round-robin so that every peer gets its first batch early.
        fill = []
        if two_level:
            for g in range(groups):
                members = [i for i in range(nodes) if self.group[i] == g]
                self.waiting[g] = [(i, self.credit) for i in members]
                fill.append((g, self.credit * len(members) + 2 * a.leader_batch))
            step, per_chunk = a.leader_batch, self.r0_msg / a.leader_batch + self.r0_chunk
        else:
            fill = [(i, self.credit) for i in range(nodes)]
            step, per_chunk = a.batch, self.r0_msg / a.batch + self.r0_chunk
        # Measure once the fill is sent and the credits it gave are run down (where rank 0 is
        # the bottleneck, agents run their first credits faster than it refills them).
        self.w0 = sum(n for _, n in fill) * per_chunk + (a.credits + a.warmup) * self.chunk_s
        self.w1 = self.w0 + a.horizon * self.chunk_s
        self.end, self.bins, self.t_death, self.ok_before = self.w1, None, math.inf, 0
        if death:  # the measured window ends with the death; the bins run on past recovery
            self.t_death = self.w1
            self.end = self.w1 = self.w1 + a.heartbeat_ms * 1e-3 + (1 + a.horizon) * self.chunk_s
            self.width = max(self.chunk_s, (self.end - self.w0) / 200)  # a bin per task: no lumps
            self.bins = [0] * math.ceil((self.end - self.w0) / self.width)
            self.push(self.t_death, DEATH, groups // 2)
        for r in range(max(n for _, n in fill) // step + 1):
            for dest, n in fill:
                if n > r * step:
                    self.rank0(0.0, dest, min(step, n - r * step))

    def push(self, t, kind, x, y=0, z=0):
        heapq.heappush(self.heap, (t, next(self.seq), kind, x, y, z))

    def rank0(self, t, dest, n):
        """Rank 0 sends n chunks to an agent (flat) or a leader (two-level)."""
        start = max(t, self.r0_free)
        self.r0_free = start + self.r0_msg + n * self.r0_chunk
        self.r0_busy += overlap(start, self.r0_free, self.w0, self.w1)
        if self.two_level:
            self.sent[dest] += n
            self.push(self.r0_free + self.lat, LEADER_FILL, dest, n)
        else:
            self.push(self.r0_free + self.lat, ARRIVE, dest, n, self.epoch[dest])

    def leader(self, t, g, cost):
        start = max(t, self.leader_free[g])
        self.leader_free[g] = start + cost
        self.leader_busy[g] += overlap(start, self.leader_free[g], self.w0, self.w1)
        return self.leader_free[g]

    def leader_serve(self, t, g):
        """The leader answers waiting agents from its pool, first come first served."""
        waiting = self.waiting[g]
        served = 0
        while served < len(waiting) and self.pool[g] >= waiting[served][1]:
            node, n = waiting[served]
            self.pool[g] -= n
            end = self.leader(t, g, self.ld_msg + n * self.ld_chunk)
            self.push(end + self.lat, ARRIVE, node, n, self.epoch[node])
            served += 1
        del waiting[:served]

    def run_chunk(self, t, node):
        end = t + self.chunk_s * (1 + self.jitter * (2 * self.random() - 1))
        if end > self.w0 and t < self.w1:
            self.worker_busy += min(end, self.w1) - max(t, self.w0)
        self.started[self.group[node]] += 1
        heapq.heappush(self.heap, (end, next(self.seq), DONE, node, self.epoch[node], 0))

    def collect(self, t, n):
        if self.w0 <= t < self.w1:
            self.ok += n
            if t < self.t_death:
                self.ok_before += n
        if self.bins is not None and t >= self.w0:
            self.bins[min(len(self.bins) - 1, int((t - self.w0) / self.width))] += n

    def run(self):
        heap, a = self.heap, self.a
        while heap and heap[0][0] < self.end:
            t, _, kind, x, y, z = heapq.heappop(heap)
            if kind == DONE:  # x: node, y: its epoch when the chunk started
                if y == self.epoch[x]:
                    if self.alive[self.group[x]]:
                        self.collect(t, a.chunksize)
                    self.buffered[x] += 1
                    if self.buffered[x] >= a.batch:
                        kind_up = LEADER_RECV if self.two_level else RANK0_RECV
                        self.push(t + self.lat, kind_up, x, self.buffered[x], self.group[x])
                        self.buffered[x] = 0
                if self.queue[x]:
                    self.queue[x] -= 1
                    self.run_chunk(t, x)
                else:
                    self.idle[x] += 1
            elif kind == ARRIVE:  # x: node, y: chunks, z: epoch
                if z != self.epoch[x]:
                    continue
                self.queue[x] += y
                while self.idle[x] and self.queue[x]:
                    self.idle[x] -= 1
                    self.queue[x] -= 1
                    self.run_chunk(t, x)
            elif kind == RANK0_RECV:  # x: node (flat) or leader, y: results
                if self.two_level:
                    self.collected[x] += y
                self.rank0(t, x, y)
            elif kind == LEADER_RECV:  # x: node, y: results, z: its leader
                if not self.alive[z]:
                    continue
                self.waiting[z].append((x, y))
                self.results[z] += y
                self.leader_serve(t, z)
                if self.results[z] >= a.leader_batch:
                    self.results[z] -= a.leader_batch
                    end = self.leader(t, z, self.ld_msg)
                    self.push(end + self.lat, RANK0_RECV, z, a.leader_batch)
            elif kind == LEADER_FILL:  # x: leader, y: chunks
                if self.alive[x]:
                    self.pool[x] += y
                    self.leader_serve(t, x)
            elif kind == DEATH:
                self.alive[x] = False
                self.push(t + a.heartbeat_ms * 1e-3, DETECT, x)
            elif kind == DETECT:
                self.detect(t, x)
        return self

    def detect(self, t, g):
        """Rank 0 declares leader g lost: its started chunks fail, the rest go again."""
        self.failed = self.started[g] - self.collected[g]
        self.resent = self.sent[g] - self.started[g]
        survivors = [h for h in range(self.groups) if self.alive[h]]
        orphans = [i for i in range(self.nodes) if self.group[i] == g] if survivors else []
        for k, node in enumerate(orphans):
            h = survivors[k % len(survivors)]
            self.group[node] = h
            self.epoch[node] += 1
            self.queue[node] = self.buffered[node] = 0
            self.waiting[h].append((node, self.credit))
            for r in range(0, self.credit, self.a.leader_batch):
                self.rank0(t, h, min(self.a.leader_batch, self.credit - r))

    def report(self, nodes):
        span = self.w1 - self.w0
        return {
            "sim": "scale_out", "topology": "two-level" if self.two_level else "flat", "nodes": nodes,
            "groups": self.groups if self.two_level else 0, "cores": self.a.cores,
            "task_ms": self.task_s * 1e3, "chunksize": self.a.chunksize,
            "worker_busy": round(self.worker_busy / (nodes * self.a.cores * span), 4),
            "tasks_per_s": round(self.ok / span),
            "demand_tasks_per_s": round(nodes * self.a.cores / self.task_s),
            "rank0_busy": round(self.r0_busy / span, 4),
            "leader_busy_max": round(max(self.leader_busy) / span, 4) if self.two_level else None,
        }


def group_size(a, nodes):
    return a.group_size or max(1, round(math.sqrt(nodes)))


def closed_form(a, task_s):
    """Nodes that rank 0 (and one leader) keep busy, from the per-chunk costs alone."""
    host, relay = a.host_cost_us * 1e-6, (a.relay_cost_us or a.host_cost_us) * 1e-6
    share, item = a.chunk_share, a.item_cost_us * 1e-6

    def per_task(cost, chunks_per_message):
        return (cost * (1 - share) / chunks_per_message + cost * share) / a.chunksize

    flat = per_task(host, a.batch) + item
    rank0 = per_task(host, a.leader_batch) + item
    leader = per_task(relay, a.batch) + relay * (1 - share) / a.leader_batch / a.chunksize
    nodes = lambda cost: round(task_s / (cost * a.cores), 1)
    return {"sim": "scale_out_limit", "task_ms": task_s * 1e3, "host_cost_us": a.host_cost_us,
            "chunk_share": share, "item_cost_us": a.item_cost_us, "chunksize": a.chunksize,
            "batch": a.batch, "leader_batch": a.leader_batch, "host_cost_per_task_us": round(flat * 1e6, 4),
            "flat_nodes": nodes(flat), "two_level_rank0_nodes": nodes(rank0), "nodes_per_leader": nodes(leader)}


def leader_death(a, nodes, task_s):
    """Kills one leader after a measured steady state; tasks/s before, at the lowest, and recovery."""
    sim = Sim(a, True, nodes, task_s, death=True).run()
    before = sim.ok_before / (sim.t_death - sim.w0)
    rates = [n / sim.width for n in sim.bins]
    first = round((sim.t_death - sim.w0) / sim.width)  # the first bin after the death
    # Recovered: every bin from then on is within a fifth of the dip below the rate before.
    low = min(rates[first:])
    below = [k for k in range(first, len(rates)) if rates[k] < before - 0.2 * (before - low)]
    recovered = None if below[-1] == len(rates) - 1 else (below[-1] + 1 - first) * sim.width
    lost = sum(max(0.0, before - r) * sim.width for r in rates[first:])
    return {"sim": "leader_death", "nodes": nodes, "groups": sim.groups, "task_ms": task_s * 1e3,
            "heartbeat_ms": a.heartbeat_ms, "death_at_ms": round((sim.t_death - sim.w0) * 1e3, 3),
            "tasks_per_s_before": round(before), "tasks_per_s_min": round(low),
            "tasks_lost": round(lost),
            "failed_chunks": sim.failed, "resent_chunks": sim.resent,
            "recovered_after_ms": None if recovered is None else round(recovered * 1e3),
            "bin_ms": round(sim.width * 1e3, 3), "tasks_per_s_bins": [round(r) for r in rates]}


def markdown(rows, limits, death):
    fmt = lambda x: "-" if x is None else f"{x:.0%}"
    out = ["| topology | nodes | task | workers busy | tasks/s | of demand | rank 0 busy | busiest leader |",
           "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        out.append(f"| {r['topology']} | {r['nodes']:,} | {r['task_ms']:g} ms | {fmt(r['worker_busy'])} | "
                   f"{r['tasks_per_s']:,} | {fmt(r['tasks_per_s'] / r['demand_tasks_per_s'])} | "
                   f"{fmt(r['rank0_busy'])} | {fmt(r['leader_busy_max'])} |")
    out += ["", "| task | rank 0 per task, flat | nodes, flat | nodes, rank 0 via leaders | nodes per leader |",
            "|---:|---:|---:|---:|---:|"]
    for lim in limits:
        out.append(f"| {lim['task_ms']:g} ms | {lim['host_cost_per_task_us']:.3g} µs | {lim['flat_nodes']:,.1f} | "
                   f"{lim['two_level_rank0_nodes']:,.1f} | {lim['nodes_per_leader']:,.1f} |")
    if death:
        d = death
        recovered = d["recovered_after_ms"]
        out += ["", f"Leader death ({d['nodes']:,} nodes, {d['groups']} leaders, {d['task_ms']:g} ms tasks, "
                f"heartbeat {d['heartbeat_ms']:g} ms): {d['tasks_per_s_before']:,} tasks/s before, "
                f"{d['tasks_per_s_min']:,} at the lowest ({d['bin_ms']:g} ms bins); "
                f"{d['failed_chunks']:,} chunks failed, {d['resent_chunks']:,} sent again; "
                f"{d['tasks_lost']:,} tasks short of the rate before; back "
                + (f"{recovered:,} ms after the death." if recovered is not None else "not within the run.")]
    return "\n".join(out)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host-cost-us", type=float, default=4.0,
                   help="rank 0 CPU per chunk dispatched and collected, one per message (placeholder)")
    p.add_argument("--relay-cost-us", type=float, default=None, help="a leader's CPU per chunk (default: host's)")
    p.add_argument("--chunk-share", type=float, default=0.25,
                   help="part of either cost paid per chunk, not per message (placeholder)")
    p.add_argument("--item-cost-us", type=float, default=0.02,
                   help="rank 0 CPU per task: reading, encoding, output (placeholder)")
    p.add_argument("--latency-us", type=float, default=2.0, help="one-way network latency")
    p.add_argument("--cores", type=int, default=64, help="workers per node")
    p.add_argument("--tasks-ms", default="1,10,100", help="task durations")
    p.add_argument("--nodes", default="1,10,100,1000")
    p.add_argument("--chunksize", type=int, default=1, help="tasks per chunk")
    p.add_argument("--credits", type=int, default=2, help="chunks an agent holds per worker")
    p.add_argument("--batch", type=int, default=1, help="chunks per message between an agent and rank 0 or a leader")
    p.add_argument("--leader-batch", type=int, default=64, help="chunks per message between rank 0 and a leader")
    p.add_argument("--group-size", type=int, default=0, help="agents per leader (default: sqrt(nodes))")
    p.add_argument("--jitter", type=float, default=0.2, help="task time uniform in (1 +- jitter) * its duration")
    p.add_argument("--warmup", type=float, default=None, help="task durations run after the fill and credits, unmeasured (default 1)")
    p.add_argument("--horizon", type=float, default=None, help="task durations measured (default 3, --quick 2)")
    p.add_argument("--heartbeat-ms", type=float, default=None,
                   help="time to declare a silent leader lost (default 1000, --quick 200)")
    p.add_argument("--death-task-ms", type=float, default=100, help="task duration of the leader-death run (0: none)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--quick", action="store_true", help="a smoke test: shorter window and heartbeat")
    p.add_argument("--markdown", action="store_true", help="Markdown tables instead of JSON lines")
    a = p.parse_args()
    for name, full, quick in (("warmup", 1, 1), ("horizon", 3, 2), ("heartbeat_ms", 1000, 200)):
        if getattr(a, name) is None:
            setattr(a, name, quick if a.quick else full)
    if not 1 <= a.batch <= a.credits * a.cores:
        p.error("--batch must be between 1 and --credits * --cores: an agent sends a batch only when it is full")
    node_counts = [int(n) for n in a.nodes.split(",")]
    tasks = [float(t) * 1e-3 for t in a.tasks_ms.split(",")]

    rows = [Sim(a, two_level, n, t).run().report(n)
            for t in tasks for n in node_counts for two_level in (False, True)]
    limits = [closed_form(a, t) for t in tasks]
    death = leader_death(a, max(node_counts), a.death_task_ms * 1e-3) if a.death_task_ms > 0 else None
    if a.markdown:
        print(markdown(rows, limits, death))
    else:
        for row in rows + limits + ([death] if death else []):
            print(json.dumps(row))


if __name__ == "__main__":
    main()
