"""One Redis pub/sub connection per process (event loop) for the wake-ups of every open stream.

A connection per stream cost ~29 KiB of memory and a socket per idle stream (measured,
bench/README.md). Here each process subscribes once to each run's channel that has open
streams, and a single reader task sets the asyncio.Event of every stream of a channel when
a message arrives. If the connection fails, every stream it served is told so (and polls
from then on, as with a failed connection of its own); the next stream to open connects
again. Holds connections and subscriptions only: no application data.
"""

import asyncio
import logging
import weakref
from typing import Any

import redis.asyncio as aioredis
from django.conf import settings

logger = logging.getLogger(__name__)


class Subscription:
    """One stream's view of its channel: `event` is set on each wake-up; `failed` once the
    shared connection is gone (the stream then polls)."""

    def __init__(self, channel: str):
        self.channel = channel
        self.event = asyncio.Event()
        self.failed = False


class _Hub:
    def __init__(self, url: str):
        self.url = url
        self.client: aioredis.Redis | None = None
        self.pubsub: Any = None  # redis.asyncio PubSub, on its one connection
        self.reader: asyncio.Task | None = None
        self.subscriptions: dict[str, set[Subscription]] = {}
        self.lock = asyncio.Lock()

    async def subscribe(self, channel: str) -> Subscription:
        """Raises when Redis cannot be reached (the caller polls instead)."""
        subscription = Subscription(channel)
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
                if self.reader is None:
                    self.reader = asyncio.get_running_loop().create_task(self._read())
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

    async def _fail_locked(self, *, cancel_reader: bool = True) -> None:
        """Tell every subscribed stream, and start over at the next subscribe."""
        for listeners in self.subscriptions.values():
            for subscription in listeners:
                subscription.failed = True
                subscription.event.set()
        self.subscriptions = {}
        reader, pubsub, client = self.reader, self.pubsub, self.client
        self.reader = self.pubsub = self.client = None
        if cancel_reader and reader is not None:
            reader.cancel()
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
