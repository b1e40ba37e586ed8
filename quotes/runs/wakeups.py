"""One Redis pub/sub connection per process (event loop) for the wake-ups of every open stream.

A connection per stream cost ~29 KiB of memory and a socket per idle stream (measured,
bench/README.md). Here each process subscribes once to each run's channel that has open
streams, and a single reader task sets the asyncio.Event of every stream of a channel when
a message arrives. If the connection fails, every stream it served is told so (and polls
from then on, as with a failed connection of its own); the next stream to open connects
again.

The safety net against a lost wake-up (a publish that failed) is one query per process
every SSE_KEEPALIVE_S for all runs with open streams: a run whose last event or status
changed since the previous sweep wakes its streams. (A re-read per stream per keepalive,
as before, was 133 queries a second for 2,000 idle streams, and slowed every other request
of the process several-fold.) Holds connections, subscriptions and the last sweep's
(last_event_id, status) per open run: no application data of record.
"""

import asyncio
import logging
import weakref
from typing import Any

import redis.asyncio as aioredis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError, connection

logger = logging.getLogger(__name__)


class Subscription:
    """One stream's view of its channel: `event` is set on each wake-up; `failed` once the
    shared connection is gone (the stream then polls)."""

    def __init__(self, channel: str, run_id):
        self.channel = channel
        self.run_id = run_id
        self.event = asyncio.Event()
        self.failed = False


def _runs_state(run_ids: list) -> dict:
    """{run id: (last_event_id, status)} of the runs that still exist."""
    from quotes.runs.models import QuoteRun

    try:
        rows = QuoteRun.objects.filter(pk__in=run_ids).values_list("pk", "last_event_id", "status")
        return {str(pk): (last, status) for pk, last, status in rows}
    finally:
        connection.close()  # back to the pool


_runs_state_async = sync_to_async(_runs_state, thread_sensitive=False)


class _Hub:
    def __init__(self, url: str):
        self.url = url
        self.client: aioredis.Redis | None = None
        self.pubsub: Any = None  # redis.asyncio PubSub, on its one connection
        self.reader: asyncio.Task | None = None
        self.sweeper: asyncio.Task | None = None
        self.subscriptions: dict[str, set[Subscription]] = {}
        self.last_seen: dict[str, tuple] = {}  # run id -> (last_event_id, status)
        self.lock = asyncio.Lock()

    async def subscribe(self, channel: str, run_id) -> Subscription:
        """Raises when Redis cannot be reached (the caller polls instead)."""
        subscription = Subscription(channel, run_id)
        async with self.lock:
            if self.pubsub is None:
                self.client = aioredis.Redis.from_url(
                    self.url, socket_connect_timeout=settings.REDIS_SOCKET_TIMEOUT_S
                )
                self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            try:
                listeners = self.subscriptions.setdefault(channel, set())
                if not listeners:
                    await self.pubsub.subscribe(channel)
                listeners.add(subscription)
                loop = asyncio.get_running_loop()
                if self.reader is None:
                    self.reader = loop.create_task(self._read())
                if self.sweeper is None:
                    self.sweeper = loop.create_task(self._sweep())
            except Exception:
                await self._fail_locked()
                raise
        return subscription

    async def unsubscribe(self, subscription: Subscription) -> None:
        async with self.lock:
            listeners = self.subscriptions.get(subscription.channel)
            if listeners is None or subscription not in listeners:
                return
            listeners.discard(subscription)
            if listeners or self.pubsub is None:
                return
            del self.subscriptions[subscription.channel]
            try:
                await self.pubsub.unsubscribe(subscription.channel)
            except Exception as exc:
                logger.warning("stream wake-ups: unsubscribe failed: %s", exc)
                await self._fail_locked()

    async def _read(self) -> None:
        try:
            while True:
                message = await self.pubsub.get_message(timeout=None)
                if message is None or message.get("type") != "message":
                    continue
                channel = message["channel"]
                if isinstance(channel, bytes):
                    channel = channel.decode()
                for subscription in self.subscriptions.get(channel, ()):
                    subscription.event.set()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.warning("stream wake-ups: pub/sub failed, streams poll: %s", exc)
            async with self.lock:
                await self._fail_locked(cancel_reader=False)

    async def _sweep(self) -> None:
        """Every keepalive interval: wake the streams of runs that changed since the last
        sweep (or that this process had not swept yet, or that are gone)."""
        while True:
            await asyncio.sleep(settings.SSE_KEEPALIVE_S)
            by_run: dict[str, list[Subscription]] = {}
            for listeners in self.subscriptions.values():
                for subscription in listeners:
                    by_run.setdefault(str(subscription.run_id), []).append(subscription)
            if not by_run:
                continue
            try:
                state = await _runs_state_async(list(by_run))
            except DatabaseError as exc:
                logger.warning("stream wake-ups: sweep failed: %s", exc)
                continue
            for run_id, subscriptions in by_run.items():
                now = state.get(run_id)
                if now is None or self.last_seen.get(run_id) != now:
                    for subscription in subscriptions:
                        subscription.event.set()
            self.last_seen = {run_id: state[run_id] for run_id in by_run if run_id in state}

    async def _fail_locked(self, *, cancel_reader: bool = True) -> None:
        """Tell every subscribed stream, and start over at the next subscribe."""
        for listeners in self.subscriptions.values():
            for subscription in listeners:
                subscription.failed = True
                subscription.event.set()
        self.subscriptions = {}
        self.last_seen = {}
        reader, pubsub, client = self.reader, self.pubsub, self.client
        self.reader = self.pubsub = self.client = None
        if cancel_reader and reader is not None:
            reader.cancel()
        if self.sweeper is not None:
            self.sweeper.cancel()
            self.sweeper = None
        for closable in (pubsub, client):
            if closable is not None:
                try:
                    await closable.aclose()
                except Exception as exc:
                    logger.debug("stream wake-ups: close failed: %s", exc)


# Per running event loop and URL (a test may run several loops; uvicorn runs one).
_hubs: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _Hub]]" = (
    weakref.WeakKeyDictionary()
)


def hub_for(url: str) -> _Hub:
    per_loop = _hubs.setdefault(asyncio.get_running_loop(), {})
    if url not in per_loop:
        per_loop[url] = _Hub(url)
    return per_loop[url]
