"""The load generator, run in its own process: `python -m bench.load < plan.json`.

Standard library only: one http.client keep-alive connection per thread, N threads, each
phase bounded by time (warm-up, then a measured window) and by a request count. Loopback only.
The plan is JSON on stdin:

    {"host": "127.0.0.1", "port": 8000, "phases": [
        {"name": "verify", "port": 8000, "paths": ["/api/v1/certificates/...", ...],
         "connections": 8, "warmup": 1.0, "duration": 4.0, "max_requests": 100000,
         "login": {"emails": [...], "password": "..."}}   # optional, one login per thread
    ]}

Prints JSON: per phase the completed requests in the window, the window length, status
counts, every latency (ms) of requests started in the window, and this process's CPU time.
"""

from __future__ import annotations

import itertools
import json
import sys
import threading
import time
from collections import Counter
from typing import Any

from .httpclient import Client, login

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def run_phase(host: str, port: int, phase: dict[str, Any]) -> dict[str, Any]:
    paths: list[str] = phase["paths"]
    connections = int(phase.get("connections", 1))
    warmup, duration = float(phase.get("warmup", 1.0)), float(phase["duration"])
    budget = itertools.count()
    max_requests = int(phase.get("max_requests", 1_000_000))
    credentials = phase.get("login")
    clients = [Client(host, port) for _ in range(connections)]
    if credentials:
        emails = credentials["emails"]
        for i, client in enumerate(clients):
            login(client, emails[i % len(emails)], credentials["password"])
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
    cpu0 = time.process_time()
    barrier.wait()
    for thread in threads:
        thread.join()
    cpu = time.process_time() - cpu0
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
    }


def main() -> int:
    plan = json.load(sys.stdin)
    host, port = plan["host"], int(plan["port"])
    if host not in LOOPBACK:
        raise SystemExit("the load generator only targets loopback")
    out = [run_phase(host, int(phase.get("port", port)), phase) for phase in plan["phases"]]
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
