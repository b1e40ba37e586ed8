"""Graceful shutdown of the ASGI (`stream`) process: open event streams end when it drains.

On SIGTERM uvicorn stops accepting, closes idle keep-alive connections and waits for the
responses in flight, then runs the lifespan shutdown: an event stream would hold it until
its run ended (or until --timeout-graceful-shutdown cut it off mid-chunk). The lifespan
startup below therefore chains a handler onto the server's own SIGTERM/SIGINT handlers
that sets the event loop's `draining` event; streams watch it and end cleanly at once
(the client reconnects, to another instance, with Last-Event-ID), while ordinary requests
in flight complete as the server lets them.

The event is process state about the process itself (like a connection pool), not
application data: one per running event loop, set at most once.
"""

import asyncio
import logging
import signal
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from types import FrameType
from typing import Any

from config.gc_policy import start_policy

logger = logging.getLogger(__name__)

DRAIN_SIGNALS = (signal.SIGTERM, signal.SIGINT)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

_draining: dict[asyncio.AbstractEventLoop, asyncio.Event] = {}


def draining_event() -> asyncio.Event:
    """The running event loop's `draining` event (set once the process was told to stop)."""
    loop = asyncio.get_running_loop()
    event = _draining.get(loop)
    if event is None:
        for stale in [other for other in _draining if other.is_closed()]:
            del _draining[stale]
        event = _draining[loop] = asyncio.Event()
    return event


def is_draining() -> bool:
    """True once this event loop's process received SIGTERM/SIGINT (call inside the loop)."""
    return draining_event().is_set()


def drain_on_signals() -> bool:
    """Chain onto the current SIGTERM/SIGINT handlers (the server's): each still runs, and
    the running loop's `draining` event is set. Returns False (nothing installed) off the
    main thread or where no server handler is installed: then nothing drains early and
    streams last until their run ends or the server cuts them."""
    if threading.current_thread() is not threading.main_thread():
        return False
    loop = asyncio.get_running_loop()
    event = draining_event()
    installed = False
    for sig in DRAIN_SIGNALS:
        previous = signal.getsignal(sig)
        if not callable(previous):
            continue  # SIG_DFL/SIG_IGN: no graceful server to chain onto

        def handler(
            signum: int,
            frame: FrameType | None,
            previous: Callable[[int, FrameType | None], Any] = previous,
        ) -> None:
            if not event.is_set():
                logger.info("draining: signal %s, ending open streams", signum)
            loop.call_soon_threadsafe(event.set)
            previous(signum, frame)

        signal.signal(sig, handler)
        installed = True
    return installed


class LifespanAsgiMiddleware:
    """Answers the ASGI lifespan protocol (Django's handler refuses it): at startup, make
    open streams drain on SIGTERM/SIGINT (drain_on_signals) and start the process's
    garbage collection policy (config/gc_policy.py), which stops at shutdown."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        gc_policy: asyncio.Task[None] | None = None
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if not drain_on_signals():
                    logger.warning("draining: no server signal handler to chain onto")
                gc_policy = start_policy()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if gc_policy is not None:
                    gc_policy.cancel()
                await send({"type": "lifespan.shutdown.complete"})
                return
