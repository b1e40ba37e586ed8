"""Draining on SIGTERM (config/shutdown.py): the server's handler still runs, the loop's
draining event is set, an open stream ends at once, and the lifespan protocol is answered."""

import asyncio
import signal

import pytest

from config.shutdown import (
    DRAIN_SIGNALS,
    LifespanAsgiMiddleware,
    drain_on_signals,
    draining_event,
    is_draining,
)
from quotes.runs.events import run_event_append
from tests.quote_runs.factories import QuoteRunFactory
from tests.quote_runs.test_stream import SESSION, open_stream, parse, read_all

DRAIN_WAIT_S = 2


@pytest.fixture
def server_handlers():
    """Stand-ins for the server's SIGTERM/SIGINT handlers, recording the signals they got;
    the original handlers are back afterwards."""
    received: list[int] = []
    originals = {
        sig: signal.signal(sig, lambda signum, _frame: received.append(signum))
        for sig in DRAIN_SIGNALS
    }
    yield received
    for sig, handler in originals.items():
        signal.signal(sig, handler)


def test_sigterm_sets_draining_and_still_reaches_the_server(server_handlers):
    async def go():
        installed = drain_on_signals()
        before = is_draining()
        signal.raise_signal(signal.SIGTERM)
        await asyncio.wait_for(draining_event().wait(), DRAIN_WAIT_S)
        return installed, before, is_draining()

    assert asyncio.run(go()) == (True, False, True)
    assert server_handlers == [signal.SIGTERM]


@pytest.mark.django_db(transaction=True)
def test_an_open_stream_ends_at_once_when_the_process_drains(server_handlers, settings):
    # given: a live stream of a run that has one event and will not end by itself
    settings.SSE_KEEPALIVE_S = 60
    run = QuoteRunFactory(session_id=SESSION)
    run_event_append(run_id=run.id, event_type="provider.progress", key="one")

    async def go():
        drain_on_signals()
        response = await open_stream(run.id)

        async def on_chunk(text):
            if "id: 1" in text and not is_draining():
                signal.raise_signal(signal.SIGTERM)  # when: the process is told to stop

        return await read_all(response, on_chunk=on_chunk)

    # then: the stream ended right after what it had, with no terminal event
    blocks = parse(asyncio.run(go()))
    assert [block.get("id") for block in blocks] == [None, 1]
    assert server_handlers == [signal.SIGTERM]


def test_lifespan_is_answered_and_other_scopes_pass_through(server_handlers):
    passed: list[str] = []

    async def app(scope, receive, send):
        passed.append(scope["type"])

    async def go():
        inbox = asyncio.Queue()
        for message in ("lifespan.startup", "lifespan.shutdown"):
            inbox.put_nowait({"type": message})
        sent: list[str] = []

        async def send(message):
            sent.append(message["type"])

        middleware = LifespanAsgiMiddleware(app)
        await middleware({"type": "lifespan"}, inbox.get, send)
        await middleware({"type": "http"}, inbox.get, send)
        return sent

    assert asyncio.run(go()) == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert passed == ["http"]
