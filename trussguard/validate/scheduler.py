"""Runs validation requests: bounded overall, per host, and in rate per host.

A worker pool of ``concurrency`` threads, and a coordinator that only hands a host's job to the pool
when that host has fewer than ``per_host`` in flight and its rate allows (at most ``rate_per_host``
starts a second). Jobs wait in per-host queues, never in a worker: a slow host holds at most
``per_host`` workers and every other host keeps going.
"""

from __future__ import annotations

import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Callable, Hashable, TypeVar

T = TypeVar("T")


def run(jobs: list[tuple[str, Hashable, Callable[[], T]]], concurrency: int, per_host: int,
        rate_per_host: float) -> dict[Hashable, T]:
    """``jobs`` of (host, key, call) -> {key: call()}, within the limits."""
    queues: dict[str, deque] = {}
    for host, key, call in jobs:
        queues.setdefault(host, deque()).append((key, call))
    interval = 1.0 / rate_per_host if rate_per_host > 0 else 0.0
    in_flight: dict[str, int] = {host: 0 for host in queues}
    next_start: dict[str, float] = {host: 0.0 for host in queues}
    running: dict[Future, tuple[str, Hashable]] = {}
    results: dict[Hashable, T] = {}
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="trussguard-validate") as pool:
        while queues or running:
            now = time.monotonic()
            for host in list(queues):
                while queues[host] and len(running) < concurrency and in_flight[host] < max(1, per_host) \
                        and next_start[host] <= now:
                    key, call = queues[host].popleft()
                    running[pool.submit(call)] = (host, key)
                    in_flight[host] += 1
                    next_start[host] = max(now, next_start[host]) + interval
                if not queues[host]:
                    del queues[host]
            waits = [next_start[h] - now for h in queues if in_flight[h] < max(1, per_host)]
            timeout = max(0.0, min(waits)) if waits and len(running) < concurrency else None
            if not running:  # waiting only for a host's rate: ``wait`` on no futures would not sleep
                time.sleep(timeout or 0.0)
                continue
            done, _ = wait(list(running), timeout=timeout, return_when=FIRST_COMPLETED)
            for future in done:
                host, key = running.pop(future)
                in_flight[host] -= 1
                results[key] = future.result()
    return results
