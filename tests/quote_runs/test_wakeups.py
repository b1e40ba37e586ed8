"""Stream wake-ups at scale: many streams of a process share one Redis subscription (one
client, subscribed per run, unsubscribed when the run's last local stream leaves), survive
Redis being killed and restarted (every event exactly once), and without pub/sub cost one
progress query per interval for all of them, not a query per stream."""

import asyncio
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
import redis
from django.db import connection as default_connection
from django.db.backends.signals import connection_created
from django.utils import timezone

from quotes.runs.events import run_channel, run_event_append
from quotes.runs.selectors import quote_run_news
from quotes.runs.wakeups import SUBSCRIBER_CLIENT_NAME, hubs_for_tests
from tests.conftest import _missing
from tests.e2e.harness import free_port
from tests.quote_runs.factories import QuoteRunFactory
from tests.quote_runs.streams import SESSION, append_later, open_stream, parse, read_all

pytestmark = pytest.mark.django_db(transaction=True)

CONDITION_TIMEOUT_S = 20
HOUR = timedelta(hours=1)
REDIS_START_TIMEOUT_S = 10


@dataclass
class RedisServer:
    """A redis-server of the test's own on a free port: killable without harming others."""

    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    _admin: redis.Redis | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [*("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"), "--save", ""],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + REDIS_START_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                if self.admin().ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server on {self.port} did not start")

    def kill9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def admin(self) -> redis.Redis:
        """One client (one connection) for the test's own questions, so CLIENT LIST
        counts are exact."""
        if self._admin is None:
            self._admin = redis.Redis(port=self.port, socket_timeout=5)
        return self._admin

    def subscribers(self) -> list[dict]:
        """CLIENT LIST entries of stream-wake-up subscribers."""
        return [c for c in self.admin().client_list() if c["name"] == SUBSCRIBER_CLIENT_NAME]

    def numsub(self, run) -> int:
        return dict(self.admin().pubsub_numsub(run_channel(run.id)))[run_channel(run.id).encode()]


@pytest.fixture
def private_redis(settings):
    if shutil.which("redis-server") is None:
        _missing("needs redis-server on PATH")
    server = RedisServer()
    server.start()
    settings.QUOTE_RUN_PUBSUB_URL = server.url
    yield server
    if server.process is not None and server.process.poll() is None:
        server.kill9()


async def until(predicate: Callable[[], bool], what: str) -> None:
    """Wait for a condition the code under test reaches asynchronously (not a timing
    assertion: the deadline only turns a hang into a failure)."""
    deadline = time.monotonic() + CONDITION_TIMEOUT_S
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.02)


def event_ids(text: str) -> list[int]:
    return [block["id"] for block in parse(text) if "id" in block]


def test_streams_of_a_process_share_one_subscriber_connection(private_redis):
    # given 5 runs with 4 open streams each, all in this process (one event loop)
    runs = [QuoteRunFactory(session_id=SESSION) for _ in range(5)]
    clients_before = len(private_redis.admin().client_list())

    async def go():
        responses = [await open_stream(run.id) for run in runs for _ in range(4)]
        readers = [asyncio.ensure_future(read_all(response)) for response in responses]
        await until(
            lambda: all(private_redis.numsub(run) == 1 for run in runs), "every run subscribed"
        )
        # when the 20 streams are open and waiting
        clients_during = private_redis.admin().client_list()
        subscribers = private_redis.subscribers()
        for run in runs:
            await append_later(run.id, ["a"], True)
        texts = await asyncio.gather(*readers)
        return clients_during, subscribers, texts

    clients_during, subscribers, texts = asyncio.run(go())

    # then Redis holds one more client, not 20: one subscriber with one channel per run
    assert len(clients_during) == clients_before + 1
    assert len(subscribers) == 1
    assert int(subscribers[0]["sub"]) == len(runs)
    assert all(event_ids(text) == [1, 2] for text in texts)


def test_a_run_is_unsubscribed_when_its_last_local_stream_leaves(private_redis):
    # given two streams of run A and one of run B
    run_a, run_b = QuoteRunFactory(session_id=SESSION), QuoteRunFactory(session_id=SESSION)

    async def go():
        streams = [await open_stream(run.id) for run in (run_a, run_a, run_b)]
        readers = [asyncio.ensure_future(read_all(response)) for response in streams]
        await until(
            lambda: private_redis.numsub(run_a) == 1 and private_redis.numsub(run_b) == 1,
            "both runs subscribed",
        )
        # when one stream of A leaves, then B's only stream (B's unsubscribe is sent after
        # the hub processed A's departure: a synchronisation point)
        readers[0].cancel()
        readers[2].cancel()
        await until(lambda: private_redis.numsub(run_b) == 0, "B unsubscribed")
        a_while_one_stream_left = private_redis.numsub(run_a)
        # and the last stream of A leaves
        readers[1].cancel()
        await until(lambda: private_redis.numsub(run_a) == 0, "A unsubscribed")
        await asyncio.gather(*readers, return_exceptions=True)
        return a_while_one_stream_left, private_redis.subscribers()

    a_while_one_stream_left, subscribers = asyncio.run(go())

    # then A stayed subscribed while one of its streams remained, and the connection
    # stays (one per process) with no channel
    assert a_while_one_stream_left == 1
    assert [int(s["sub"]) for s in subscribers] == [0]


def test_every_event_arrives_exactly_once_across_a_redis_kill_and_restart(private_redis):
    # given 3 runs with 2 streams each, subscribed through the private Redis
    runs = [QuoteRunFactory(session_id=SESSION) for _ in range(3)]

    async def append_to_all(keys, terminal=False):
        for run in runs:
            await append_later(run.id, keys, terminal)

    async def go():
        streams = [await open_stream(run.id) for run in runs for _ in range(2)]
        readers = [asyncio.ensure_future(read_all(response)) for response in streams]
        await until(lambda: all(private_redis.numsub(r) == 1 for r in runs), "subscribed")
        await append_to_all(["before-1", "before-2"])
        # when Redis dies (SIGKILL: no goodbye) and events keep coming
        private_redis.kill9()
        await append_to_all(["down-1", "down-2"])
        # and Redis comes back on the same port, empty
        private_redis.start()
        await until(lambda: all(private_redis.numsub(r) == 1 for r in runs), "resubscribed")
        await append_to_all(["after-1"], terminal=True)
        return await asyncio.gather(*readers)

    texts = asyncio.run(go())

    # then every stream got every event once, in order, up to the terminal one
    for text in texts:
        assert event_ids(text) == [1, 2, 3, 4, 5, 6]
        assert parse(text)[-1]["event"] == "run.failed"
    assert len(private_redis.subscribers()) == 0  # the streams ended: the loop is gone too


def test_a_publish_lost_on_the_publisher_side_is_caught_by_the_safety_net(private_redis, settings):
    # given a subscribed stream, and a safety-net poll of every watched run each 0.5 s
    settings.SSE_KEEPALIVE_S = 0.5
    run = QuoteRunFactory(session_id=SESSION)

    async def go():
        reader = asyncio.ensure_future(read_all(await open_stream(run.id)))
        await until(lambda: private_redis.numsub(run) == 1, "subscribed")
        # when the terminal event's wake-up is never published (the publisher has no Redis)
        settings.QUOTE_RUN_PUBSUB_URL = ""
        await append_later(run.id, [], True)
        return await reader

    text = asyncio.run(go())

    # then the stream still ends with it
    assert event_ids(text) == [1]
    assert parse(text)[-1]["event"] == "run.failed"


class QueryLog:
    """Every SQL statement of every thread's connection (streams read in worker threads)."""

    def __init__(self):
        self.queries: list[tuple[str, tuple]] = []
        self.lock = threading.Lock()
        self.wrapped: list = []

    def __call__(self, execute, sql, params, many, context):
        with self.lock:
            self.queries.append((sql, tuple(params or ())))
        return execute(sql, params, many, context)

    def attach(self, sender, connection, **kwargs):
        if self not in connection.execute_wrappers:
            connection.execute_wrappers.append(self)
            self.wrapped.append(connection)

    def detach(self):
        for conn in self.wrapped:
            if self in conn.execute_wrappers:
                conn.execute_wrappers.remove(self)

    def snapshot(self) -> list[tuple[str, tuple]]:
        with self.lock:
            return list(self.queries)


def is_progress_query(sql: str) -> bool:
    return "unnest" in sql


def array_param(param) -> list[str] | None:
    """The elements of an array literal parameter (quote_run_news sends its runs so)."""
    if isinstance(param, str) and param.startswith("{") and param.endswith("}"):
        return param[1:-1].split(",") if len(param) > 2 else []
    return None


def polled_ids(query: tuple[str, tuple]) -> set:
    ids, _seen = [array for array in map(array_param, query[1]) if array is not None]
    return {uuid.UUID(run_id) for run_id in ids}


def mentions(query: tuple[str, tuple], run) -> bool:
    _, params = query
    return any(p == run.id or str(run.id) in (array_param(p) or ()) for p in params)


@pytest.mark.postgres
def test_polling_streams_cost_one_query_per_interval_for_all(settings):
    # given pub/sub off, a fast poll, and 10 runs each with an open stream
    settings.QUOTE_RUN_PUBSUB_URL = ""
    settings.SSE_POLL_INTERVAL_S = 0.05
    settings.SSE_KEEPALIVE_S = 60
    runs = [QuoteRunFactory(session_id=SESSION) for _ in range(10)]
    for run in runs:
        run_event_append(run_id=run.id, event_type="run.started", key="start")
    log = QueryLog()
    connection_created.connect(log.attach)
    default_connection.close()  # reconnects through the signal

    async def go():
        seen: list[set[int]] = [set() for _ in runs]

        def track(index):
            async def on_chunk(text):
                seen[index].update(event_ids(text))

            return on_chunk

        streams = [await open_stream(run.id) for run in runs]
        readers = [
            asyncio.ensure_future(read_all(response, on_chunk=track(i)))
            for i, response in enumerate(streams)
        ]
        await until(lambda: all(s == {1} for s in seen), "every stream replayed")
        (hub,) = [h for h in hubs_for_tests() if h.waiters and h.url == ""]
        await until(lambda: hub.polls >= 3, "polls")  # past the streams' own first reads
        # when the streams idle for 5 polls, then one run gets an event
        start, polls_at_start = len(log.snapshot()), hub.polls
        await until(lambda: hub.polls >= polls_at_start + 5, "5 polls while idle")
        await append_later(runs[0].id, ["news"], False)
        await until(lambda: seen[0] == {1, 2}, "the event reached its stream")
        polls_at_end = hub.polls
        await until(lambda: hub.polls >= polls_at_end + 3, "3 more polls")
        window = log.snapshot()[start:]
        for run in runs:
            await append_later(run.id, [], True)
        await asyncio.gather(*readers)
        return window

    try:
        window = asyncio.run(go())
    finally:
        connection_created.disconnect(log.attach)
        log.detach()

    # then the idle streams never queried: every statement about them is a progress query
    # covering all 10 runs, and the one run with news was read once (run row, events)
    polls = [q for q in window if is_progress_query(q[0])]
    assert len(polls) >= 8
    assert all(polled_ids(q) == {run.id for run in runs} for q in polls)
    for run in runs[1:]:
        assert [q for q in window if mentions(q, run) and not is_progress_query(q[0])] == []
    assert all(stream_read(q[0]) is None for q in window if not mentions(q, runs[0]))
    reads = [stream_read(q[0]) for q in window if mentions(q, runs[0])]
    assert [kind for kind in reads if kind] == ["run", "events"]


def stream_read(sql: str) -> str | None:
    """Which read of the stream view (quotes/runs/sse.py _read_after) `sql` is, if any."""
    if sql.startswith('SELECT "quote_runs_quoterun"."status" AS "status"'):
        return "run"
    if sql.startswith('SELECT "quote_runs_quoterunevent"."seq"'):
        return "events"
    return None


def test_news_names_only_runs_past_the_seq_given_and_gone_ones():
    # given runs at last_event_id 2, 2 and 0, one past retention, one deleted
    ahead, level, expired = (QuoteRunFactory(session_id=SESSION) for _ in range(3))
    for run in (ahead, level):
        for key in ("a", "b"):
            run_event_append(run_id=run.id, event_type="provider.progress", key=key)
    past = timezone.now() - HOUR
    type(expired).objects.filter(pk=expired.pk).update(created_at=past - HOUR, expires_at=past)
    deleted = QuoteRunFactory(session_id=SESSION)
    deleted_id = deleted.id
    deleted.delete()

    # when a reader has seen 1 of `ahead`, 2 of `level`, 0 of the others
    news = quote_run_news(seen={ahead.id: 1, level.id: 2, expired.id: 0, deleted_id: 0})

    # then
    assert news == {ahead.id: 2, expired.id: None, deleted_id: None}
