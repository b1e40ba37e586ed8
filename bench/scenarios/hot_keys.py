"""Hot keys: the real statements of the rate limiter (accounts/ratelimit.py rate_limit_hit)
and of a shop's render quota (rendering/quota.py quota_reserve) on ONE hot row, at 1 and
64 concurrent callers, against the same load spread over 8 and 64 rows (what a counter
sharded 8 or 64 ways would see). Callers are threads in 4 forked processes, each with its
own database connection; nothing goes through HTTP.

BENCH_HOT_KEYS_SECONDS (default 8) sets each measurement's length.
"""

import multiprocessing as mp
import os
import threading
import time
import uuid

DURATION_S = float(os.environ.get("BENCH_HOT_KEYS_SECONDS", "8"))
PROCESSES = 4
CONCURRENCY = (1, 64)
SPREADS = (1, 8, 64)  # rows the load is spread over; 1 = one hot row


def _limiter_call(prefix: str, spread: int):
    from accounts.ratelimit import rate_limit_hit

    def call(caller: int) -> None:
        # A limit no caller reaches: the measurement is the statement, not refusals.
        rate_limit_hit(key=f"{prefix}:{caller % spread}", limit=10**9, window_s=3600)

    return call


def _quota_call(shop_ids: list, day):
    from rendering.quota import quota_reserve

    def call(caller: int) -> None:
        if not quota_reserve(shop_id=shop_ids[caller % len(shop_ids)], day=day):
            raise RuntimeError("quota ran out: raise the bench shops' daily_quota")

    return call


def _child(make_call, callers: list[int], barrier, queue) -> None:
    from django.db import connection

    call = make_call()
    latencies: list[float] = []
    lock = threading.Lock()

    def loop(caller: int) -> None:
        mine = []
        try:
            barrier.wait(60)  # every caller of every process starts together
            deadline = time.monotonic() + DURATION_S
            while time.monotonic() < deadline:
                started = time.perf_counter()
                call(caller)
                mine.append((time.perf_counter() - started) * 1000)
        finally:
            connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=loop, args=(caller,)) for caller in callers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put(latencies)


def _measure(make_call, concurrency: int) -> dict:
    from tests.concurrency import close_db_connections

    ctx = mp.get_context("fork")
    processes = min(PROCESSES, concurrency)
    barrier = ctx.Barrier(concurrency)
    queue = ctx.Queue()
    close_db_connections()
    children = [
        ctx.Process(
            target=_child,
            args=(make_call, list(range(p, concurrency, processes)), barrier, queue),
        )
        for p in range(processes)
    ]
    for child in children:
        child.start()
    latencies = sorted(ms for _ in children for ms in queue.get(timeout=DURATION_S + 120))
    for child in children:
        child.join(10)

    def at(fraction: float) -> float:
        return round(latencies[min(len(latencies) - 1, round(fraction * len(latencies)))], 2)

    return {
        "concurrency": concurrency,
        "per_s": round(len(latencies) / DURATION_S),
        "p50_ms": at(0.5),
        "p99_ms": at(0.99),
        "load_average": os.getloadavg()[0],
    }


def _shops(owner, count: int) -> list:
    from rendering.models import Shop

    return [
        Shop.objects.create(owner=owner, name=f"hot {i}", daily_quota=10**9).id
        for i in range(count)
    ]


def run(bench) -> None:
    from django.utils import timezone

    prefix = f"bench-hot-{uuid.uuid4().hex[:8]}"
    for spread in SPREADS:
        for concurrency in CONCURRENCY:
            if concurrency < spread:
                continue
            bench.record(
                f"rate_limit_hit, {spread} key(s)",
                **_measure(lambda s=spread: _limiter_call(f"{prefix}-{s}", s), concurrency),
            )
    day = timezone.now().date()
    for spread in SPREADS:
        shop_ids = _shops(bench.make_user(), spread)
        for concurrency in CONCURRENCY:
            if concurrency < spread:
                continue
            bench.record(
                f"quota_reserve, {spread} shop(s)",
                **_measure(lambda ids=shop_ids: _quota_call(ids, day), concurrency),
            )
