"""The load generator, run in its own process: `python -m bench.load < plan.json`.

Standard library only: one http.client keep-alive connection per thread, N threads, each
phase bounded by time (warm-up, then a measured window) and by a request count. Loopback only.
The plan is JSON on stdin:

    {"host": "127.0.0.1", "port": 8000, "phases": [
        {"name": "verify", "port": 8000, "paths": ["/api/v1/certificates/...", ...],
         "connections": 8, "warmup": 1.0, "duration": 4.0, "max_requests": 100000,
         "login": {"emails": [...], "password": "...",   # optional, one login per thread
                   "port": 5001}}   # optional: log in there, send its cookies to `port`
    ]}

A phase with "targets" instead of "paths" measures latency fairly between several targets:
one thread, one connection per target, requests taking turns (A, B, C, A, B, C, ...), so every
target sees the same machine conditions; it reports one entry per target:

        {"name": "latency", "targets": [{"name": "verify-1k", "port": 8000, "paths": [...]},
                                        {"name": "verify-1M", "port": 8001, "paths": [...]}],
         "warmup": 0.3, "duration": 6.0}

A phase may name "cpu_parents" (the gunicorn master, PostgreSQL's postmaster): the CPU time
those processes and their children used during the window is reported too (Linux /proc), a
figure far less disturbed by other work on the machine than requests per second; and
"cpu_groups" ({"workers": [pids], "postgres": [pid], ...}): the same per named group.
A phase may give "ports" (several servers) instead of "port": its connections are spread over
them in turn (connection i goes to ports[i % len(ports)]).

Prints JSON: per phase (or target) the completed requests in the window, the window length,
status counts, every latency (ms) of requests started in the window, this process's CPU time
and the servers' CPU time.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import threading
import time
from collections import Counter
from typing import Any

from .httpclient import Client, login

LOOPBACK = ("127.0.0.1", "localhost", "::1")
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rpartition(")")[2].split()  # fields from the 3rd (state) on


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:  # kernels without CONFIG_PROC_CHILDREN: scan for the parent pid
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    if int(_stat(int(entry))[1]) == pid:
                        found.append(int(entry))
                except (OSError, IndexError, ValueError):
                    pass
        return found


def server_cpu(parents: list[int]) -> float | None:
    """CPU seconds (user + system) of these processes and their children; None off Linux."""
    if not parents or not os.path.isdir("/proc"):
        return None
    total = 0
    for parent in parents:
        for pid in (parent, *_children(parent)):
            try:
                fields = _stat(pid)
                total += int(fields[11]) + int(fields[12])  # utime, stime
            except (OSError, IndexError, ValueError):
                pass
    return total / _TICK


def run_phase(host: str, port: int, phase: dict[str, Any]) -> dict[str, Any]:
    paths: list[str] = phase["paths"]
    connections = int(phase.get("connections", 1))
    warmup, duration = float(phase.get("warmup", 1.0)), float(phase["duration"])
    budget = itertools.count()
    max_requests = int(phase.get("max_requests", 1_000_000))
    credentials = phase.get("login")
    ports = [int(p) for p in phase.get("ports", [port])]
    clients = [Client(host, ports[i % len(ports)]) for i in range(connections)]
    if credentials:
        emails = credentials["emails"]
        # "port": log in on that server, and send its cookies here (a baseline that reads
        # the real app's session cookie)
        at = credentials.get("port")
        for i, client in enumerate(clients):
            logged = client if at is None else Client(host, int(at))
            login(logged, emails[i % len(emails)], credentials["password"])
            if logged is not client:
                client.cookies.update(logged.cookies)
                logged.close()
    barrier = threading.Barrier(connections + 1)
    window: dict[str, float] = {}
    results: list[tuple[list[float], Counter[int], int, float]] = [
        ([], Counter(), 0, 0.0) for _ in range(connections)]

    def worker(index: int) -> None:
        client = clients[index]
        latencies: list[float] = []
        statuses: Counter[int] = Counter()
        completed = 0
        last = 0.0
        i = index * 7919  # threads walk the list from different places
        barrier.wait()
        start, end = window["start"], window["end"]
        while True:
            t0 = time.perf_counter()
            if t0 >= end or next(budget) >= max_requests:
                break
            path = paths[i % len(paths)]
            i += 1
            try:
                status = client.get(path).status
            except OSError:
                status = 0
                client.close()
            t1 = time.perf_counter()
            if t0 >= start:
                latencies.append((t1 - t0) * 1000)
                statuses[status] += 1
            if start <= t1 <= end:
                completed += 1
                last = t1
        results[index] = (latencies, statuses, completed, last)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True)
               for i in range(connections)]
    for thread in threads:
        thread.start()
    now = time.perf_counter()
    window["start"] = now + warmup
    window["end"] = now + warmup + duration
    parents = [int(p) for p in phase.get("cpu_parents", [])]
    groups = {name: [int(p) for p in pids] for name, pids in phase.get("cpu_groups", {}).items()}
    barrier.wait()
    time.sleep(max(0.0, window["start"] - time.perf_counter()))
    cpu0, server0 = time.process_time(), server_cpu(parents)
    groups0 = {name: server_cpu(pids) for name, pids in groups.items()}
    time.sleep(max(0.0, window["end"] - time.perf_counter()))
    cpu, server1 = time.process_time() - cpu0, server_cpu(parents)
    groups1 = {name: server_cpu(pids) for name, pids in groups.items()}
    for thread in threads:
        thread.join()
    for client in clients:
        client.close()
    latencies = [x for r in results for x in r[0]]
    statuses: Counter[int] = Counter()
    for r in results:
        statuses.update(r[1])
    completed = sum(r[2] for r in results)
    last = max((r[3] for r in results), default=0.0)
    # stopped early by max_requests: the window ends with the last completion
    span = (min(window["end"], last) if last else window["end"]) - window["start"]
    return {
        "name": phase["name"], "connections": connections, "completed": completed,
        "window_s": max(span, 1e-9), "statuses": {str(k): v for k, v in statuses.items()},
        "latencies_ms": latencies, "client_cpu_s": cpu,
        "server_cpu_s": server1 - server0 if server0 is not None and server1 is not None
        else None,
        "server_cpu_groups_s": {name: (groups1[name] or 0.0) - (groups0[name] or 0.0)
                                for name in groups},
    }


def run_turns(host: str, phase: dict[str, Any]) -> list[dict[str, Any]]:
    """One connection per target, one request to each in turn, for the phase's time."""
    targets = phase["targets"]
    clients = [Client(host, int(t["port"])) for t in targets]
    latencies: list[list[float]] = [[] for _ in targets]
    statuses: list[Counter[int]] = [Counter() for _ in targets]
    completed = [0] * len(targets)
    now = time.perf_counter()
    start = now + float(phase.get("warmup", 0.3))
    end = start + float(phase["duration"])
    cpu0 = time.process_time()
    i = 0
    while time.perf_counter() < end:
        for k, target in enumerate(targets):
            paths = target["paths"]
            t0 = time.perf_counter()
            try:
                status = clients[k].get(paths[i % len(paths)]).status
            except OSError:
                status = 0
                clients[k].close()
            t1 = time.perf_counter()
            if t0 >= start:
                latencies[k].append((t1 - t0) * 1000)
                statuses[k][status] += 1
                completed[k] += 1
        i += 1
    cpu = time.process_time() - cpu0
    for client in clients:
        client.close()
    # each target had the connection a 1/len(targets) share of the window
    share = max(time.perf_counter() - start, 1e-9) / len(targets)
    return [{"name": t["name"], "connections": 1, "completed": completed[k], "window_s": share,
             "statuses": {str(c): n for c, n in statuses[k].items()},
             "latencies_ms": latencies[k], "client_cpu_s": cpu / len(targets),
             "server_cpu_s": None}
            for k, t in enumerate(targets)]


def main() -> int:
    plan = json.load(sys.stdin)
    host, port = plan["host"], int(plan.get("port", 0))
    if host not in LOOPBACK:
        raise SystemExit("the load generator only targets loopback")
    out: list[dict[str, Any]] = []
    for phase in plan["phases"]:
        if "targets" in phase:
            out += run_turns(host, phase)
        else:
            out.append(run_phase(host, int(phase.get("port", port)), phase))
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
