"""Quote runs: event delivery latency (append -> received by a connected SSE client) with
Redis pub/sub, with the polling fallback and with the 500 ms poll it replaces; then how many
idle streams the server's worker processes hold, memory per stream, and /api/ping meanwhile.

BENCH_QUOTE_RUN_IDLE_STREAMS (default 2000) sets the idle stream count.
"""

import asyncio
import json
import os
import random
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import requests

from bench.goals import IDLE_STREAMS as IDLE_STREAMS_FIGURE
from bench.goals import PING_WITH_STREAMS
from bench.processes import cpu_s, process_figures, server_workers

LATENCY_EVENTS = 150
# Events are appended at random gaps, so they land at random points of a poll cycle.
EVENT_GAP_S = (0.02, 0.12)
OLD_POLL_INTERVAL_S = 0.5
IDLE_STREAMS = int(os.environ.get("BENCH_QUOTE_RUN_IDLE_STREAMS", "2000"))
OPEN_BATCH = 100
PING_CONCURRENCY = 16
PING_DURATION_S = 6
SETTLE_S = 2
# After opening, wait (at most this long) until the stream process is idle again: the
# first read of every stream has been served, only keepalive re-reads remain.
SETTLE_MAX_S = 60
IDLE_CPU_SHARE = 0.15
READ_TIMEOUT_S = 60


def _new_run(session_id: str):
    from django.utils import timezone

    from quotes.runs.events import run_event_append
    from quotes.runs.models import QuoteRun
    from quotes.selectors import credit_schedule_active

    now = timezone.now()
    run = QuoteRun.objects.create(
        session_id=session_id,
        job={"files": [], "ops": {}, "schedule": credit_schedule_active().snapshot()},
        providers=["standard"],
        created_at=now,
        expires_at=now + timedelta(hours=1),
    )
    run_event_append(run_id=run.id, event_type="run.started", key="run.started")
    return run


def _percentiles(values_ms: list[float]) -> dict[str, float]:
    ordered = sorted(values_ms)

    def at(fraction: float) -> float:
        return round(ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))], 1)

    return {"events": len(ordered), "p50_ms": at(0.5), "p99_ms": at(0.99), "max_ms": at(1.0)}


def _stream_reader(url: str, session_id: str, received: dict, ready: threading.Event) -> None:
    """Record the arrival time of every event id until the terminal event."""
    with requests.get(
        url, headers={"X-Session-Id": session_id}, stream=True, timeout=(5, READ_TIMEOUT_S)
    ) as response:
        buffer = ""
        for chunk in response.iter_content(chunk_size=None):
            buffer += chunk.decode()
            while "\n\n" in buffer:
                block, buffer = buffer.split("\n\n", 1)
                fields = dict(line.split(": ", 1) for line in block.split("\n") if ": " in line)
                if "id" not in fields:
                    continue
                received[int(fields["id"])] = time.perf_counter()
                ready.set()
                if fields["event"] in ("run.completed", "run.failed"):
                    return


def _status_poller(url: str, session_id: str, received: dict, stop: threading.Event) -> None:
    """The replaced design: poll the run's state every 500 ms, notice new events late."""
    seen = 0
    with requests.Session() as session:
        while not stop.is_set():
            body = session.get(url, headers={"X-Session-Id": session_id}, timeout=10).json()
            now = time.perf_counter()
            for seq in range(seen + 1, body["last_event_id"] + 1):
                received[seq] = now
            seen = max(seen, body["last_event_id"])
            if body["status"] != "processing":
                return
            stop.wait(OLD_POLL_INTERVAL_S)


def _delivery_latency(base_url: str, *, mode: str) -> dict[str, float]:
    """Append LATENCY_EVENTS events from here; the stream (or poller) records arrivals."""
    from quotes.runs.events import run_event_append

    session_id = f"bench-latency-{uuid.uuid4().hex}"
    run = _new_run(session_id)
    received: dict[int, float] = {}
    sent: dict[int, float] = {}
    ready, stop = threading.Event(), threading.Event()
    if mode == "old_poll_500ms":
        target, args = _status_poller, (f"{base_url}/api/quote-runs/{run.id}", stop)
        ready.set()
    else:
        target, args = _stream_reader, (f"{base_url}/api/quote-runs/{run.id}/stream", ready)
    reader = threading.Thread(target=target, args=(args[0], session_id, received, args[1]))
    reader.start()
    if not ready.wait(10):
        raise RuntimeError("the stream never delivered its first event")
    for index in range(LATENCY_EVENTS):
        time.sleep(random.uniform(*EVENT_GAP_S))
        started = time.perf_counter()
        event = run_event_append(run_id=run.id, event_type="provider.progress", key=f"e{index}")
        sent[event.seq] = started
    run_event_append(run_id=run.id, event_type="run.failed", key="end", error="bench")
    reader.join(READ_TIMEOUT_S)
    stop.set()
    return _percentiles([(received[seq] - sent[seq]) * 1000 for seq in sent if seq in received])


def _settle(workers: list[int]) -> float:
    """Seconds until the workers use less than IDLE_CPU_SHARE of a core over a second."""
    started = time.perf_counter()
    time.sleep(SETTLE_S)
    while time.perf_counter() - started < SETTLE_MAX_S:
        before = sum(cpu_s(pid) for pid in workers)
        time.sleep(1)
        if sum(cpu_s(pid) for pid in workers) - before < IDLE_CPU_SHARE:
            break
    return time.perf_counter() - started


class _IdleStreams:
    """N open SSE connections on a run that never emits, held by one asyncio thread."""

    def __init__(self, base_url: str, run_id, session_id: str, count: int):
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port
        self.request = (
            f"GET /api/quote-runs/{run_id}/stream HTTP/1.1\r\nHost: {self.host}\r\n"
            f"X-Session-Id: {session_id}\r\n\r\n"
        ).encode()
        self.count = count
        self.opened = 0
        self.failed = 0
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.writers: list[asyncio.StreamWriter] = []

    async def _open_one(self) -> None:
        try:
            reader, writer = await asyncio.open_connection(self.host, self.port)
            writer.write(self.request)
            await writer.drain()
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        except (TimeoutError, OSError, asyncio.IncompleteReadError):
            self.failed += 1
            return
        if head.startswith(b"HTTP/1.1 200"):
            self.opened += 1
            self.writers.append(writer)
        else:
            self.failed += 1
            writer.close()

    async def _open_all(self) -> None:
        for start in range(0, self.count, OPEN_BATCH):
            batch = min(OPEN_BATCH, self.count - start)
            await asyncio.gather(*(self._open_one() for _ in range(batch)))

    async def _close_all(self) -> None:
        for writer in self.writers:
            writer.close()
        await asyncio.sleep(0.5)

    def open(self) -> float:
        self.thread.start()
        started = time.perf_counter()
        asyncio.run_coroutine_threadsafe(self._open_all(), self.loop).result()
        return time.perf_counter() - started

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._close_all(), self.loop).result()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def _polling_server():
    """A second server (one process) with pub/sub off: streams use the polling fallback."""
    from tests.e2e.harness import Cluster

    workdir = Path(tempfile.mkdtemp(prefix="atelier-bench-polling-"))
    cluster = Cluster(workdir=workdir, base_env=dict(os.environ))
    server = cluster.add_server(QUOTE_RUN_PUBSUB_URL="")
    cluster.wait_ready()
    return cluster, server


def _ping_p99(bench, url: str, label: str) -> dict:
    return bench.wrk(
        f"GET /api/ping on {label}",
        "/api/ping",
        concurrency=PING_CONCURRENCY,
        seconds=PING_DURATION_S,
        base_url=url,
    )


def run(bench) -> None:
    streams_url = bench.stream_url  # the Procfile's `stream` process (ASGI)
    bench.record(
        "event delivery latency, Redis pub/sub",
        **_delivery_latency(streams_url, mode="pubsub"),
    )
    cluster, polling = _polling_server()
    try:
        bench.record(
            "event delivery latency, polling fallback (pub/sub off, 250 ms poll)",
            **_delivery_latency(polling.url, mode="polling"),
        )
    finally:
        cluster.close()
    bench.record(
        "event delivery latency, the replaced 500 ms poll (GET status every 500 ms)",
        **_delivery_latency(bench.base_url, mode="old_poll_500ms"),
    )

    quiet_stream = _ping_p99(bench, streams_url, "the stream process, no idle streams")
    quiet_web = _ping_p99(bench, bench.base_url, "web, no idle streams")
    workers = server_workers(urlsplit(streams_url).port)
    before = {pid: process_figures(pid) for pid in workers}
    session_id = f"bench-idle-{uuid.uuid4().hex}"
    idle_run = _new_run(session_id)
    streams = _IdleStreams(streams_url, idle_run.id, session_id, IDLE_STREAMS)
    try:
        open_s = streams.open()
        settle_s = _settle(workers)
        after = {pid: process_figures(pid) for pid in workers}
        per_worker = []
        held_total = grown_total = 0
        for pid in workers:
            # Each stream owns one socket in its worker (pub/sub is one shared connection).
            held = max(0, after[pid]["fds"] - before[pid]["fds"])
            grown_kb = after[pid]["rss_kb"] - before[pid]["rss_kb"]
            held_total += held
            grown_total += grown_kb
            per_worker.append(
                {
                    "pid": pid,
                    "streams": held,
                    "rss_mb": round(after[pid]["rss_kb"] / 1024, 1),
                    "kib_per_stream": round(grown_kb / held, 1) if held else None,
                    "threads_before": before[pid]["threads"],
                    "threads_with_streams": after[pid]["threads"],
                }
            )
        bench.record(
            IDLE_STREAMS_FIGURE,
            streams_open=streams.opened,
            streams_failed=streams.failed,
            seconds_to_open=round(open_s, 1),
            seconds_to_settle=round(settle_s, 1),
            kib_per_stream=round(grown_total / held_total, 1) if held_total else None,
            workers=json.dumps(per_worker),
        )
        busy_stream = _ping_p99(
            bench, streams_url, f"the stream process, {streams.opened} idle streams"
        )
        busy_web = _ping_p99(bench, bench.base_url, f"web, {streams.opened} idle streams")
        bench.record(
            PING_WITH_STREAMS,
            p99_without_ms=quiet_stream["p99_ms"],
            p99_with_ms=busy_stream["p99_ms"],
            p99_ratio=round(busy_stream["p99_ms"] / quiet_stream["p99_ms"], 3),
            web_p99_ratio=round(busy_web["p99_ms"] / quiet_web["p99_ms"], 3),
        )
        bench.record(
            f"event delivery latency, Redis pub/sub, with {streams.opened} idle streams",
            **_delivery_latency(streams_url, mode="pubsub"),
        )
    finally:
        streams.close()
