"""Streams at scale: 20,000 idle SSE streams held by the worker processes of one Procfile
`stream` server (uvicorn, 2 workers), then events appended to 1,000 of them.

Reports the Redis connections held (CLIENT LIST of a pub/sub Redis of the scenario's
own), memory per stream (RSS growth of the workers / streams), delivery p50/p99 with every
stream open (pub/sub up, then pub/sub killed with SIGKILL: the polling fallback), database
statements per second while idle (pg_stat_database commits, pub/sub up and down), and the
time the workers take to re-subscribe every stream once Redis is back.

The client side is 2 processes of asyncio protocols on raw sockets (no task per stream).
BENCH_STREAMS (default 20000) and BENCH_STREAM_EVENTS (default 1000) change the scale.
"""

import asyncio
import gc
import multiprocessing as mp
import os
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import time
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

STREAMS = int(os.environ.get("BENCH_STREAMS", "20000"))
EVENTS = int(os.environ.get("BENCH_STREAM_EVENTS", "1000"))
CLIENT_PROCESSES = 2
STREAM_WORKERS = 2
OPEN_IN_FLIGHT = 200  # per client process
OPEN_TIMEOUT_S = 120
NOFILE = 65536
SETTLE_S = 10
IDLE_WINDOW_S = 30
DELIVERY_WAIT_S = 60
RESUBSCRIBE_TIMEOUT_S = 120
REDIS_START_TIMEOUT_S = 10
_EVENT_ID = re.compile(rb"(?:^|\n)id: (\d+)\n")


# --- client processes (no Django here: they are spawned) ---------------------------------


class _Stream(asyncio.Protocol):
    """One SSE connection: checks the 200, then stamps every event id on arrival."""

    def __init__(self, request: bytes, index: int, opened: asyncio.Future, arrivals: list):
        self.request = request
        self.index = index
        self.opened = opened
        self.arrivals = arrivals
        self.head = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        if not self.opened.done():
            self.head += data
            if b"\r\n\r\n" not in self.head:
                return
            self.opened.set_result(self.head.startswith(b"HTTP/1.1 200"))
            data, self.head = self.head, b""
        for match in _EVENT_ID.finditer(data):
            self.arrivals.append((self.index, int(match.group(1)), now))

    def connection_lost(self, exc) -> None:
        if not self.opened.done():
            self.opened.set_result(False)


async def _client(conn, host: str, port: int, session: str, runs: list[tuple[int, str]]) -> None:
    loop = asyncio.get_running_loop()
    arrivals: list[tuple[int, int, float]] = []
    transports = []
    failed = 0
    gate = asyncio.Semaphore(OPEN_IN_FLIGHT)

    async def open_one(index: int, run_id: str) -> None:
        nonlocal failed
        request = (
            f"GET /api/quote-runs/{run_id}/stream HTTP/1.1\r\nHost: {host}\r\n"
            f"X-Session-Id: {session}\r\n\r\n"
        ).encode()
        async with gate:
            opened = loop.create_future()
            try:
                transport, _ = await loop.create_connection(
                    lambda: _Stream(request, index, opened, arrivals), host, port
                )
                ok = await asyncio.wait_for(opened, OPEN_TIMEOUT_S)
            except (OSError, TimeoutError):
                failed += 1
                return
            if ok:
                transports.append(transport)
            else:
                failed += 1
                transport.close()

    started = time.monotonic()
    await asyncio.gather(*(open_one(index, run_id) for index, run_id in runs))
    # The measuring side must not pause either: its 10,000 connections' objects are left
    # out of its own full garbage collections.
    gc.collect()
    gc.freeze()
    conn.send(("opened", len(transports), failed, time.monotonic() - started))
    while True:
        command = await loop.run_in_executor(None, conn.recv)
        if command == "arrivals":
            conn.send(list(arrivals))
            arrivals.clear()
        elif command == "close":
            for transport in transports:
                transport.close()
            await asyncio.sleep(1)
            conn.send("closed")
            return


def _client_main(conn, host: str, port: int, session: str, runs: list[tuple[int, str]]) -> None:
    _raise_nofile()
    asyncio.run(_client(conn, host, port, session, runs))


def _raise_nofile() -> None:
    """Up to NOFILE open files (root may raise the hard limit too); children inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(NOFILE, soft), max(NOFILE, hard)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# --- the bench side ----------------------------------------------------------------------


class _RedisServer:
    """A pub/sub Redis of the scenario's own, so CLIENT LIST counts only Atelier and a
    SIGKILL harms no one else."""

    def __init__(self):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import redis

        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + REDIS_START_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                redis.Redis(port=self.port).ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("pub/sub redis-server did not start")

    def kill9(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def clients(self) -> list[dict]:
        import redis

        return redis.Redis(port=self.port).client_list()


def _create_runs(session: str, count: int) -> list[str]:
    from django.utils import timezone

    from quotes.runs.models import QuoteRun
    from quotes.selectors import credit_schedule_active

    now = timezone.now()
    job = {"files": [], "ops": {}, "schedule": credit_schedule_active().snapshot()}
    runs = [
        QuoteRun(
            id=uuid.uuid4(),
            session_id=session,
            job=job,
            providers=["standard"],
            created_at=now,
            expires_at=now + timedelta(hours=2),
        )
        for _ in range(count)
    ]
    QuoteRun.objects.bulk_create(runs, batch_size=2000)
    return [str(run.id) for run in runs]


def _statements() -> int:
    """Transactions committed or rolled back in the bench database so far (each of the
    app's autocommit statements is one)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database "
            "WHERE datname = current_database()"
        )
        return int(cursor.fetchone()[0])


def _idle_statements_per_s() -> float:
    """Statements per second while nothing happens, minus this measurement's own."""
    before = _statements()
    time.sleep(IDLE_WINDOW_S)
    after = _statements()
    return round((after - before - 1) / IDLE_WINDOW_S, 2)


def _percentiles(values_ms: list[float]) -> dict[str, float]:
    ordered = sorted(values_ms)
    if not ordered:
        return {"events": 0}

    def at(fraction: float) -> float:
        return round(ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))], 1)

    return {"events": len(ordered), "p50_ms": at(0.5), "p99_ms": at(0.99), "max_ms": at(1.0)}


class _Clients:
    def __init__(self, base_url: str, session: str, run_ids: list[str]):
        parts = urlsplit(base_url)
        ctx = mp.get_context("spawn")
        self.pipes = []
        self.processes = []
        indexed = list(enumerate(run_ids))
        for n in range(CLIENT_PROCESSES):
            parent, child = ctx.Pipe()
            process = ctx.Process(
                target=_client_main,
                args=(child, parts.hostname, parts.port, session, indexed[n::CLIENT_PROCESSES]),
                daemon=True,
            )
            process.start()
            self.pipes.append(parent)
            self.processes.append(process)

    def wait_opened(self) -> dict:
        replies = [pipe.recv() for pipe in self.pipes]
        return {
            "streams_open": sum(r[1] for r in replies),
            "streams_failed": sum(r[2] for r in replies),
            "seconds_to_open": round(max(r[3] for r in replies), 1),
        }

    def arrivals(self) -> dict[tuple[int, int], float]:
        for pipe in self.pipes:
            pipe.send("arrivals")
        return {(index, seq): at for pipe in self.pipes for index, seq, at in pipe.recv()}

    def close(self) -> None:
        for pipe in self.pipes:
            pipe.send("close")
        for pipe in self.pipes:
            pipe.recv()
        for process in self.processes:
            process.join(10)


def _deliver(
    clients: _Clients, run_ids: list[str], indexes: list[int], seq: int
) -> dict[str, float]:
    """Append event `seq` to each run of `indexes`, one after another from this process;
    delivery = from just before the append to the client's receipt."""
    from quotes.runs.events import run_event_append

    sent = {}
    # A pause of this process between stamping and appending would count as delivery
    # time: no garbage collection while appending (1,000 appends make little garbage).
    gc.collect()
    gc.disable()
    started = time.monotonic()
    try:
        for index in indexes:
            sent[index] = time.monotonic()
            run_event_append(
                run_id=run_ids[index], event_type="provider.progress", key=f"bench-{seq}"
            )
    finally:
        gc.enable()
    append_s = time.monotonic() - started
    received: dict[tuple[int, int], float] = {}
    deadline = time.monotonic() + DELIVERY_WAIT_S
    while time.monotonic() < deadline:
        received.update(clients.arrivals())
        if all((index, seq) in received for index in indexes):
            break
        time.sleep(0.5)
    latencies = [
        (received[(index, seq)] - sent[index]) * 1000
        for index in indexes
        if (index, seq) in received
    ]
    return {
        **_percentiles(latencies),
        "lost": len(indexes) - len(latencies),
        "appends_per_s": round(len(indexes) / append_s, 1),
    }


def _subscriptions(pubsub: _RedisServer) -> dict:
    from quotes.runs.wakeups import SUBSCRIBER_CLIENT_NAME

    clients = pubsub.clients()
    subscribers = [c for c in clients if c["name"] == SUBSCRIBER_CLIENT_NAME]
    return {
        "redis_clients_total": len(clients),
        "subscriber_connections": len(subscribers),
        "channels_subscribed": sum(int(c["sub"]) for c in subscribers),
    }


def _wait_resubscribed(pubsub: _RedisServer, streams: int) -> float:
    started = time.monotonic()
    while time.monotonic() - started < RESUBSCRIBE_TIMEOUT_S:
        try:
            if _subscriptions(pubsub)["channels_subscribed"] >= streams:
                break
        except Exception:  # noqa: S110 - Redis still starting
            pass
        time.sleep(0.2)
    return round(time.monotonic() - started, 1)


def run(bench) -> None:
    from django.conf import settings

    from bench.processes import process_figures, server_workers

    if shutil.which("redis-server") is None:
        bench.record("streams at scale", skipped="redis-server not installed")
        return
    _raise_nofile()  # the server and client processes started below inherit it
    pubsub = _RedisServer()
    pubsub.start()
    settings.QUOTE_RUN_PUBSUB_URL = pubsub.url  # this process publishes the wake-ups
    # The Procfile's `stream` process (uvicorn, ASGI) with one worker per core. uvicorn's
    # supervisor kills a worker that misses its 5 s health check; on this shared 2-core
    # machine a worker busy accepting 10,000 streams can (see bench/README.md).
    server = bench.cluster.add_procfile_server(
        "stream",
        STREAM_CONCURRENCY=str(STREAM_WORKERS),
        QUOTE_RUN_PUBSUB_URL=pubsub.url,
        UVICORN_TIMEOUT_WORKER_HEALTHCHECK="30",
    )
    server.wait_ready()
    time.sleep(2)  # every worker booted
    base_url = server.url
    workers = server_workers(urlsplit(base_url).port)
    session = f"bench-scale-{uuid.uuid4().hex}"
    run_ids = _create_runs(session, STREAMS)
    clients = None
    try:
        warm = _Clients(base_url, session, run_ids[:100])  # first requests fill the caches
        warm.wait_opened()
        warm.close()
        time.sleep(2)
        before = {pid: process_figures(pid) for pid in workers}

        clients = _Clients(base_url, session, run_ids)
        opened = clients.wait_opened()
        time.sleep(SETTLE_S)
        after = {pid: process_figures(pid) for pid in workers}
        held = {pid: after[pid]["fds"] - before[pid]["fds"] for pid in workers}
        grown_kb = sum(after[pid]["rss_kb"] - before[pid]["rss_kb"] for pid in workers)
        bench.record(
            f"{STREAMS} idle streams held",
            **opened,
            per_worker_streams=[held[pid] for pid in workers],
            rss_mb=[round(after[pid]["rss_kb"] / 1024, 1) for pid in workers],
            kib_per_stream=round(grown_kb / max(1, opened["streams_open"]), 1),
            threads=[after[pid]["threads"] for pid in workers],
            load_average=os.getloadavg()[0],
            **_subscriptions(pubsub),
        )
        bench.record(
            "idle database statements/s, pub/sub up",
            statements_per_s=_idle_statements_per_s(),
            workers=len(workers),
        )
        chosen = random.sample(range(STREAMS), min(EVENTS, STREAMS))
        bench.record(
            f"delivery to {len(chosen)} of {opened['streams_open']} open streams, pub/sub",
            **_deliver(clients, run_ids, chosen, 1),
            load_average=os.getloadavg()[0],
        )

        pubsub.kill9()
        time.sleep(SETTLE_S)
        bench.record(
            "idle database statements/s, pub/sub killed (polling)",
            statements_per_s=_idle_statements_per_s(),
            workers=len(workers),
        )
        settings.QUOTE_RUN_PUBSUB_URL = ""  # nothing to publish to
        bench.record(
            f"delivery to {len(chosen)} of {opened['streams_open']} open streams, polling",
            **_deliver(clients, run_ids, chosen, 2),
            load_average=os.getloadavg()[0],
        )
        pubsub.start()
        settings.QUOTE_RUN_PUBSUB_URL = pubsub.url
        seconds = _wait_resubscribed(pubsub, opened["streams_open"])
        bench.record(
            "pub/sub restarted (empty, same port)",
            seconds_to_resubscribe_all=seconds,
            **_subscriptions(pubsub),
        )
        bench.record(
            f"delivery to {len(chosen)} streams after the restart, pub/sub",
            **_deliver(clients, run_ids, chosen, 3),
        )
    finally:
        if clients is not None:
            clients.close()
        pubsub.kill9()
