"""Stream wake-ups: one Redis pub/sub connection per event loop for every local stream, and
one batched progress query per interval when pub/sub is off or down.

Events are rows (quote_run_event); a wake-up only says "read now". A stream registers a
`Waiter` for its run with the `WakeupHub` of its event loop (one per uvicorn worker
process) and waits on it; the hub owns:

- **one subscriber connection** that multiplexes every watched run's channel:
  SUBSCRIBE when a run gets its first local waiter, UNSUBSCRIBE when its last one leaves,
  a PING heartbeat, and on any failure a reconnect with exponential backoff that
  re-subscribes every watched channel. A message wakes the channel's local waiters.
- **one poller** that asks PostgreSQL, in one query, which of a set of watched runs
  advanced past what their waiters have seen (or are gone), and wakes only those
  waiters. It covers, at most one query per SSE_POLL_INTERVAL_S:
  every watched run while pub/sub is off or down (the polling fallback);
  runs whose channel was just (re)subscribed, so a wake-up published while the channel
  was not subscribed — Redis down, reconnecting, restarted — is never lost;
  and every watched run once per SSE_KEEPALIVE_S as a safety net (a publish that failed
  on the publisher's side).

Hence the costs per process, whatever the number of streams: one Redis connection, and
while idle one query per SSE_KEEPALIVE_S (pub/sub up) or per SSE_POLL_INTERVAL_S (down).

Classic PUBLISH/SUBSCRIBE, not Redis 7 sharded pub/sub (SPUBLISH/SSUBSCRIBE), on purpose:
what broke was the number of connections, which multiplexing fixes; one Redis node
relays far more messages per second than runs emit events (bench/README.md measures
both); classic pub/sub works unchanged on any Redis and on a Redis Cluster through a
plain connection to any node; and sharded pub/sub would need a connection per shard in
every process plus re-subscription when slots migrate. When one pub/sub node is no longer
enough, QUOTE_RUN_PUBSUB_URL moves wake-ups to a Redis of their own (see README.md,
"Scaling Atelier").

The hub is connection state, like a connection pool: keyed by the running event loop,
rebuilt from nothing after a restart, and holding no application data (the waiters are
the open streams of this process; what they wait for is in the database).
"""

import asyncio
import logging
import random
import time
from collections.abc import Collection
from typing import Any
from uuid import UUID

import redis.asyncio as aioredis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection
from redis.asyncio.connection import Connection

from config.shutdown import draining_event
from quotes.runs.events import run_channel
from quotes.runs.selectors import quote_run_news

logger = logging.getLogger(__name__)

# The subscriber's name in CLIENT LIST (operators count these: one per web process).
SUBSCRIBER_CLIENT_NAME = "atelier-stream-wakeups"
# Channels per SUBSCRIBE/UNSUBSCRIBE command when many change at once (a burst of opens).
SUBSCRIBE_BATCH = 1000
# A PING when the connection was silent this long; no answer by the next beat: reconnect.
HEARTBEAT_S = 5.0
RECONNECT_BACKOFF_MIN_S = 0.05
RECONNECT_BACKOFF_MAX_S = 5.0
# How long a new stream waits for its channel's subscription before its first read
# (past it the stream reads anyway and the poller covers the channel until confirmed).
SUBSCRIBE_WAIT_S = 2.0


class Waiter:
    """One stream's registration. `seen` is the last seq the stream has read; the stream
    keeps it current so the poller wakes it only when its run has news.

    Kept small: every open stream holds one for its whole life, and each of its objects is
    scanned by every full garbage collection of the process (a future and a timer while
    waiting; no asyncio.Event, whose waiter deque alone is ~600 bytes)."""

    __slots__ = ("_future", "_woken", "channel", "reading", "run_id", "seen")

    def __init__(self, run_id: UUID, seen: int):
        self.run_id = run_id
        self.channel = run_channel(run_id)
        self.seen = seen
        self.reading = False  # past its subscription wait: the stream reads and waits
        self._woken = False
        self._future: asyncio.Future[bool] | None = None

    def wake(self) -> None:
        future = self._future
        if future is None or future.done():
            # Not waiting, or its wait already ended (timed out, say) without having
            # resumed yet: the next wait returns at once.
            self._woken = True
        else:
            future.set_result(True)

    async def wait(self, timeout_s: float) -> bool:
        """Block up to timeout_s; True when woken (wake-ups that came meanwhile count as
        one), False on timeout."""
        if self._woken:
            self._woken = False
            return True
        loop = asyncio.get_running_loop()
        future = self._future = loop.create_future()
        timer = loop.call_later(max(timeout_s, 0.0), _timed_out, future)
        try:
            return await future
        finally:
            timer.cancel()
            self._future = None


def _timed_out(future: asyncio.Future[bool]) -> None:
    if not future.done():
        future.set_result(False)


def _news(seen: dict[UUID, int]) -> dict[UUID, int | None]:
    try:
        return quote_run_news(seen=seen)
    finally:
        connection.close()  # back to the pool: the poller holds no connection while idle


_news_async = sync_to_async(_news, thread_sensitive=False)


class Watch:
    """A stream's registration with its hub, as an async context manager: entering returns
    once the run's channel is subscribed (or pub/sub is off or down: the poller covers it),
    so the stream's first read comes after the subscription and misses no wake-up; leaving
    unsubscribes the channel if it was the run's last local stream. A class rather than an
    @asynccontextmanager: it lives as long as the stream, and a generator frame is ~1 KiB
    more per stream."""

    __slots__ = ("_hub", "_ready", "_waiter")

    def __init__(self, hub: "WakeupHub", waiter: Waiter):
        self._hub = hub
        self._waiter = waiter
        self._ready: asyncio.Future[None] | None = None

    async def __aenter__(self) -> Waiter:
        waiter = self._waiter
        self._ready = self._hub._register(waiter)
        try:
            if self._ready is not None:
                try:
                    async with asyncio.timeout(SUBSCRIBE_WAIT_S):
                        await self._ready
                except TimeoutError:
                    logger.debug(
                        "stream wake-ups: %s not subscribed in time, polling", waiter.channel
                    )
                    self._hub._poll_now.set()  # the poller covers it from now on
        except BaseException:
            self._hub._unregister(waiter, self._ready)
            raise
        waiter.reading = True
        return waiter

    async def __aexit__(self, *exc_info: object) -> None:
        self._hub._unregister(self._waiter, self._ready)
        self._ready = None


class WakeupHub:
    """Wake-ups for the streams of one event loop (see the module docstring)."""

    def __init__(self, url: str):
        self.url = url
        self.waiters: dict[str, set[Waiter]] = {}  # channel -> local waiters
        # Channels Redis confirmed on the live connection: their waiters need no polling.
        self.confirmed: set[str] = set()
        self.connected = False
        self.polls = 0  # progress queries sent (tests and the bench read it)
        self._on_server: set[str] = set()  # subscriptions sent on the live connection
        # Channels whose first waiter came or last waiter left since the last sync: the
        # sync handles only these (a burst of 10,000 opens is not 10,000 full diffs).
        self._changed: set[str] = set()
        self._pending_ready: dict[str, list[asyncio.Future[None]]] = {}
        self._recheck: set[str] = set()
        self._sync_needed = asyncio.Event()
        self._poll_now = asyncio.Event()
        self._last_full_poll = time.monotonic()
        self._silent_since_ping = False
        self._tasks: list[asyncio.Task[None]] = []

    # --- streams ---------------------------------------------------------------------

    def watch(self, run_id: UUID, *, seen: int) -> "Watch":
        """`async with hub.watch(run_id, seen=n) as waiter:` registers a waiter for run_id
        for the block's duration (see Watch)."""
        self._start()
        return Watch(self, Waiter(run_id, seen))

    def _register(self, waiter: Waiter) -> asyncio.Future[None] | None:
        """Add the waiter; a future that completes once its channel is subscribed, or None
        when there is nothing to wait for (already subscribed, or pub/sub off or down)."""
        channel = waiter.channel
        waiters = self.waiters.setdefault(channel, set())
        waiters.add(waiter)
        if len(waiters) == 1:
            self._changed.add(channel)
            self._sync_needed.set()
        if not self.connected or channel in self.confirmed:
            return None
        ready = asyncio.get_running_loop().create_future()
        self._pending_ready.setdefault(channel, []).append(ready)
        return ready

    def _unregister(self, waiter: Waiter, ready: asyncio.Future[None] | None) -> None:
        channel = waiter.channel
        if ready is not None and not ready.done():
            ready.cancel()
            pending = self._pending_ready.get(channel, [])
            if ready in pending:
                pending.remove(ready)
            if not pending:
                self._pending_ready.pop(channel, None)
        waiters = self.waiters.get(channel)
        if waiters is None:
            return
        waiters.discard(waiter)
        if not waiters:
            del self.waiters[channel]
            self._changed.add(channel)
            self._sync_needed.set()

    def _wake(self, channel: str) -> None:
        for waiter in self.waiters.get(channel, ()):
            waiter.wake()

    # --- tasks -----------------------------------------------------------------------

    def _start(self) -> None:
        if self._tasks:
            return
        self._tasks.append(asyncio.get_running_loop().create_task(self._poll_forever()))
        self._tasks.append(asyncio.get_running_loop().create_task(self._wake_all_on_drain()))
        if self.url:
            self._tasks.append(asyncio.get_running_loop().create_task(self._subscribe_forever()))

    async def _wake_all_on_drain(self) -> None:
        """The process is stopping (config/shutdown.py): wake every stream, which then sees
        is_draining() and ends."""
        await draining_event().wait()
        for waiters in list(self.waiters.values()):
            for waiter in list(waiters):
                waiter.wake()

    async def _poll_forever(self) -> None:
        while True:
            started = time.monotonic()
            try:
                await self._poll_once()
            except Exception as exc:  # the poller must outlive any failure
                logger.warning("stream wake-ups: progress query failed: %s", exc)
            # At most one query per interval, however many streams and rechecks.
            elapsed = time.monotonic() - started
            await asyncio.sleep(max(0.0, settings.SSE_POLL_INTERVAL_S - elapsed))
            if self.connected and not self._recheck and not self._unconfirmed():
                await self._sleep_until_poll_due()

    def _unconfirmed(self) -> set[str]:
        """Channels with reading waiters but no confirmed subscription: polled."""
        return {
            channel
            for channel in self.waiters.keys() - self.confirmed
            if any(w.reading for w in self.waiters[channel])
        }

    async def _sleep_until_poll_due(self) -> None:
        """Pub/sub healthy and nothing to recheck: sleep until the safety net is due or a
        (re)subscription or a failure asks for a poll."""
        due = self._last_full_poll + settings.SSE_KEEPALIVE_S - time.monotonic()
        if due <= 0:
            return
        self._poll_now.clear()
        try:
            async with asyncio.timeout(due):
                await self._poll_now.wait()
        except TimeoutError:
            pass

    async def _poll_once(self) -> None:
        now = time.monotonic()
        full = now - self._last_full_poll >= settings.SSE_KEEPALIVE_S
        if full:
            channels = set(self.waiters)
            self._last_full_poll = now
        else:
            channels = self._unconfirmed() | self._recheck
        self._recheck.difference_update(channels)
        seen: dict[UUID, int] = {}
        for channel in channels:
            waiters = self.waiters.get(channel)
            if waiters:
                seen[next(iter(waiters)).run_id] = min(waiter.seen for waiter in waiters)
        if not seen:
            return
        self.polls += 1
        for run_id, last_event_id in (await _news_async(seen)).items():
            for waiter in self.waiters.get(run_channel(run_id), ()):
                # Gone or past retention (None): wake, so the stream reads and ends.
                if last_event_id is None or last_event_id > waiter.seen:
                    waiter.wake()

    async def _subscribe_forever(self) -> None:
        backoff = RECONNECT_BACKOFF_MIN_S
        failures = 0
        while True:
            conn: Connection | None = None
            reader: asyncio.Task[None] | None = None
            try:
                conn = _subscriber_connection(self.url)
                async with asyncio.timeout(settings.REDIS_SOCKET_TIMEOUT_S * 2):
                    await conn.connect()  # TCP connect, then CLIENT SETNAME and SELECT
                self.connected = True
                if failures:
                    logger.warning("stream wake-ups: pub/sub reconnected")
                failures, backoff = 0, RECONNECT_BACKOFF_MIN_S
                reader = asyncio.get_running_loop().create_task(self._read(conn))
                await self._command(conn, reader)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if failures == 0:
                    logger.warning("stream wake-ups: pub/sub unavailable, polling: %s", exc)
                failures += 1
            finally:
                self._disconnected()
                if reader is not None:
                    reader.cancel()
                if conn is not None:
                    await conn.disconnect(nowait=True)
            # Full jitter: a fleet that lost its Redis does not reconnect in lockstep.
            await asyncio.sleep(random.uniform(0, backoff))  # noqa: S311 - jitter, not secrets
            backoff = min(backoff * 2, RECONNECT_BACKOFF_MAX_S)

    def _disconnected(self) -> None:
        self.connected = False
        self.confirmed.clear()
        self._on_server.clear()
        self._changed = set(self.waiters)  # everything is re-subscribed on reconnect
        for futures in self._pending_ready.values():
            for future in futures:
                if not future.done():
                    future.set_result(None)  # the poller serves these streams meanwhile
        self._pending_ready.clear()
        self._poll_now.set()

    async def _command(self, conn: Connection, reader: asyncio.Task[None]) -> None:
        """Keep the server's subscriptions equal to the watched channels; heartbeat."""
        self._silent_since_ping = False
        self._sync_needed.set()
        next_beat = time.monotonic() + HEARTBEAT_S
        sync_wait: asyncio.Task[Any] | None = None
        try:
            while True:
                if sync_wait is None or sync_wait.done():
                    sync_wait = asyncio.ensure_future(self._sync_needed.wait())
                await asyncio.wait(
                    [reader, sync_wait],
                    timeout=max(0.0, next_beat - time.monotonic()),
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if reader.done():
                    reader.result()  # raises what ended it
                    raise ConnectionError("pub/sub connection closed")
                if time.monotonic() >= next_beat:
                    if self._silent_since_ping:
                        raise ConnectionError(f"no answer to PING within {HEARTBEAT_S} s")
                    self._silent_since_ping = True
                    await _send(conn, "PING")
                    next_beat = time.monotonic() + HEARTBEAT_S
                if self._sync_needed.is_set():
                    self._sync_needed.clear()
                    await self._sync_subscriptions(conn)
        finally:
            if sync_wait is not None:
                sync_wait.cancel()

    async def _sync_subscriptions(self, conn: Connection) -> None:
        changed, self._changed = self._changed, set()
        watched = changed.intersection(self.waiters)
        for command, channels in (
            ("UNSUBSCRIBE", (changed - watched) & self._on_server),
            ("SUBSCRIBE", watched - self._on_server),
        ):
            ordered = sorted(channels)
            for start in range(0, len(ordered), SUBSCRIBE_BATCH):
                batch = ordered[start : start + SUBSCRIBE_BATCH]
                if command == "UNSUBSCRIBE":
                    self._on_server.difference_update(batch)
                    self.confirmed.difference_update(batch)
                else:
                    self._on_server.update(batch)
                await _send(conn, command, *batch)

    async def _read(self, conn: Connection) -> None:
        while True:
            response: Any = await conn.read_response(timeout=float("inf"), push_request=True)
            self._silent_since_ping = False
            if not isinstance(response, list) or not response:
                continue  # a PONG outside the subscribed form
            kind = response[0]
            if kind == b"message":
                self._wake(response[1].decode())
            elif kind == b"subscribe":
                self._confirmed(response[1].decode())

    def _confirmed(self, channel: str) -> None:
        """SUBSCRIBE took effect: new streams may read; streams that were already reading
        get their runs rechecked, since wake-ups before this moment went nowhere."""
        if channel not in self._on_server:
            return  # unsubscribed meanwhile
        self.confirmed.add(channel)
        for future in self._pending_ready.pop(channel, ()):
            if not future.done():
                future.set_result(None)
        if any(waiter.reading for waiter in self.waiters.get(channel, ())):
            self._recheck.add(channel)
            self._poll_now.set()


async def _send(conn: Connection, *command: str) -> None:
    async with asyncio.timeout(settings.REDIS_SOCKET_TIMEOUT_S):
        await conn.send_command(*command, check_health=False)


def _subscriber_connection(url: str) -> Connection:
    # No socket_timeout: the connection blocks on reads by design, and redis-py enforces
    # a write timeout with asyncio.wait_for, which on Python 3.11 can swallow a task's
    # cancellation (the hub's tasks then outlive their loop); _send times writes instead.
    pool = aioredis.ConnectionPool.from_url(
        url,
        socket_connect_timeout=settings.REDIS_SOCKET_TIMEOUT_S,
        socket_timeout=None,
        client_name=SUBSCRIBER_CLIENT_NAME,
        protocol=2,
    )
    conn = pool.make_connection()
    assert isinstance(conn, Connection)  # noqa: S101 - redis:// URLs make TCP connections
    return conn


# One hub per running event loop and pub/sub URL: connection state, like a pool.
_hubs: dict[tuple[asyncio.AbstractEventLoop, str], WakeupHub] = {}


def wakeup_hub() -> WakeupHub:
    """The hub of the running event loop for QUOTE_RUN_PUBSUB_URL (empty: polling only)."""
    loop = asyncio.get_running_loop()
    key = (loop, settings.QUOTE_RUN_PUBSUB_URL or "")
    hub = _hubs.get(key)
    if hub is None:
        for stale in [k for k in _hubs if k[0].is_closed()]:
            del _hubs[stale]
        hub = _hubs[key] = WakeupHub(key[1])
    return hub


def stream_wakeups(run_id: UUID, *, seen: int):
    """`async with stream_wakeups(run_id, seen=after) as waiter:` see WakeupHub.watch."""
    return wakeup_hub().watch(run_id, seen=seen)


def hubs_for_tests() -> Collection[WakeupHub]:
    return list(_hubs.values())
