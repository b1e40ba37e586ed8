"""Accounts: the cost of bearer auth and of the database rate limiter.

Same endpoint, with and without the check: GET /api/credit-schedule anonymous on the main
server (default anon limiter on: one counter upsert per request) vs on a second server
started with RATE_LIMIT_DEFAULTS=false (no limiter), and on that second server with a
bearer token vs anonymous (the token lookup is the only difference).

HTTP: GET /api/ping (no auth, no limiter) vs GET /api/users/me (one indexed session
lookup) vs POST /api/users/login with a body the view rejects (so no password hashing):
every such request costs two limiter upserts (per IP on one hot row, per email) and
answers 400 while allowed, 429 after. In-process: rate_limit_hit alone, with and without
`synchronous_commit = off`, on one hot key from many threads and on distinct keys.
"""

import threading
import time
import uuid

CONCURRENCY = 16
DURATION_S = 6
MICRO_HITS = 1500
MICRO_THREADS = 8


def _hits_per_second(*, threads: int, hits: int, same_key: bool) -> dict:
    from django.db import connections

    from accounts.ratelimit import rate_limit_hit

    run_id = uuid.uuid4().hex[:8]
    per_thread = hits // threads
    latencies: list[float] = []
    lock = threading.Lock()

    def worker(t: int) -> None:
        mine = []
        for i in range(per_thread):
            key = f"bench:{run_id}" if same_key else f"bench:{run_id}:{t}:{i}"
            started = time.perf_counter()
            rate_limit_hit(key=key, limit=10**9, window_s=3600)
            mine.append((time.perf_counter() - started) * 1000)
        connections.close_all()
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    seconds = time.perf_counter() - started
    latencies.sort()
    return {
        "hits_per_s": round(len(latencies) / seconds, 1),
        "p50_ms": round(latencies[len(latencies) // 2], 3),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 3),
    }


def _micro(bench) -> None:
    from django.conf import settings

    from accounts.models import RateLimitToken

    previous = settings.RATE_LIMIT_ASYNC_COMMIT
    try:
        for async_commit in (True, False):
            settings.RATE_LIMIT_ASYNC_COMMIT = async_commit
            label = "async commit" if async_commit else "sync commit"
            for threads, same_key in ((1, True), (MICRO_THREADS, True), (MICRO_THREADS, False)):
                figures = _hits_per_second(threads=threads, hits=MICRO_HITS, same_key=same_key)
                keys = "one hot key" if same_key else "distinct keys"
                bench.record(f"rate_limit_hit {label}, {threads} thread(s), {keys}", **figures)
    finally:
        settings.RATE_LIMIT_ASYNC_COMMIT = previous
        RateLimitToken.objects.filter(key__startswith="bench:").delete()


def _same_endpoint_ratios(bench, auth: dict[str, str]) -> None:
    path = "/api/credit-schedule"
    unlimited = bench.extra_server(RATE_LIMIT_DEFAULTS="false")
    for concurrency in (1, CONCURRENCY):
        limited = bench.load(
            f"GET {path} anonymous, limiter on c={concurrency}",
            path=path,
            concurrency=concurrency,
            duration_s=DURATION_S,
        )
        bare = bench.load(
            f"GET {path} anonymous, limiter off c={concurrency}",
            path=path,
            concurrency=concurrency,
            duration_s=DURATION_S,
            base_url=unlimited,
        )
        authed = bench.load(
            f"GET {path} bearer token, limiter off c={concurrency}",
            path=path,
            concurrency=concurrency,
            duration_s=DURATION_S,
            headers=auth,
            base_url=unlimited,
        )
        bench.record(
            f"accounts: same endpoint with/without the check c={concurrency}",
            limiter_p50_ratio=round(limited.p50_ms / bare.p50_ms, 3),
            limiter_rps_ratio=round(limited.rps / bare.rps, 3),
            auth_p50_ratio=round(authed.p50_ms / bare.p50_ms, 3),
            auth_rps_ratio=round(authed.rps / bare.rps, 3),
        )


def run(bench) -> None:
    token = bench.token_for(bench.make_user())
    auth = {"Authorization": f"Bearer {token}"}
    _same_endpoint_ratios(bench, auth)

    ping = bench.load(
        f"GET /api/ping c={CONCURRENCY}",
        "GET",
        "/api/ping",
        concurrency=CONCURRENCY,
        duration_s=DURATION_S,
    )
    me = bench.load(
        f"GET /api/users/me (bearer) c={CONCURRENCY}",
        "GET",
        "/api/users/me",
        concurrency=CONCURRENCY,
        duration_s=DURATION_S,
        headers=auth,
    )
    limited = bench.load(
        f"POST /api/users/login (2 limiter hits, rejected body) c={CONCURRENCY}",
        concurrency=CONCURRENCY,
        duration_s=DURATION_S,
        request_factory=lambda i: {
            "method": "POST",
            "path": "/api/users/login",
            "json": {"email": f"bench-{i % 500}@example.com"},
        },
    )
    bench.record(
        "accounts: ratios against GET /api/ping",
        me_rps_ratio=round(me.rps / ping.rps, 3) if ping.rps else None,
        me_p50_ratio=round(me.p50_ms / ping.p50_ms, 3) if ping.p50_ms else None,
        limited_rps_ratio=round(limited.rps / ping.rps, 3) if ping.rps else None,
        limited_p50_ratio=round(limited.p50_ms / ping.p50_ms, 3) if ping.p50_ms else None,
    )
    _micro(bench)
