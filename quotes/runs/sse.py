"""GET /api/quote-runs/{id}/stream: an async SSE view that replays and follows run events.

The stream holds no thread, no database connection and no Redis connection while idle: it
waits on its process's wake-up hub (quotes/runs/wakeups.py: one shared Redis subscription,
or one batched progress query per interval when Redis is off or down) and reads the
database through a short sync_to_async call that returns its connection to the pool
before it yields.

Made for a plain browser EventSource: `?token=` (the capability in `stream_url`) is a
credential of its own, the stream opens with `retry: <ms>`, and a reconnect after the
terminal event answers 204, which ends an EventSource for good.
"""

import enum
import json
import logging
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions as drf_exceptions
from rest_framework.request import Request

from accounts.authentication import BearerAuthentication
from config.asgi_handler import DetachableStreamingResponse
from config.errors import ApplicationError, ValidationFailed, error_body
from config.shutdown import is_draining
from quotes.identity import caller_identity
from quotes.runs.models import TERMINAL_EVENT_TYPES, QuoteRun, QuoteRunEvent, QuoteRunStatus
from quotes.runs.selectors import quote_run_get_for_caller
from quotes.runs.stream_tokens import STREAM_TOKEN_PARAM, stream_token_grants
from quotes.runs.wakeups import stream_wakeups

logger = logging.getLogger(__name__)

LAST_EVENT_ID_HEADER = "Last-Event-ID"
LAST_EVENT_ID_PARAM = "last_event_id"
MAX_LAST_EVENT_ID = 2**31 - 1
# Events sent per database read; a longer backlog is read in several rounds.
REPLAY_BATCH = 200
KEEPALIVE = b": keepalive\n\n"


@dataclass(frozen=True)
class _Read:
    chunks: list[bytes]  # the events as sent, encoded off the event loop
    last_seq: int  # of the last event in chunks (the `after` read from when none)
    more: bool  # events past this batch already exist
    done: bool  # nothing more will ever come (terminal and sent, or the run is gone)


def sse_event(*, seq: int, event_type: str, data: dict) -> bytes:
    payload = json.dumps(data, cls=DjangoJSONEncoder, separators=(",", ":"))
    return f"id: {seq}\nevent: {event_type}\ndata: {payload}\n\n".encode()


def _last_event_id(request: HttpRequest) -> int:
    raw = request.headers.get(LAST_EVENT_ID_HEADER)
    if raw is None or raw.strip() == "":
        raw = request.GET.get(LAST_EVENT_ID_PARAM, "")
    raw = raw.strip()
    if raw == "":
        return 0
    if not raw.isascii() or not raw.isdigit() or int(raw) > MAX_LAST_EVENT_ID:
        raise ValidationFailed(
            "Last-Event-ID must be a non-negative integer.",
            details={LAST_EVENT_ID_PARAM: [f"Must be an integer in 0..{MAX_LAST_EVENT_ID}."]},
        )
    return int(raw)


class _Access(enum.Enum):
    DENIED = "denied"  # unknown, past retention, not the caller's, or a bad token: 404
    ENDED = "ended"  # the terminal event was already delivered: 204
    OPEN = "open"


def _stream_access(request: HttpRequest, run_id, *, after: int) -> _Access:
    """A `token` query parameter decides alone (the capability of stream_url); without
    it, identity as the DRF views see it (bearer token and/or X-Session-Id)."""
    try:
        token = request.GET.get(STREAM_TOKEN_PARAM)
        if token is not None:
            if not stream_token_grants(token=token, run_id=run_id):
                return _Access.DENIED
            run = QuoteRun.objects.live().filter(pk=run_id).only("status", "last_event_id").first()
        else:
            drf_request = Request(request, authenticators=[BearerAuthentication()])
            run = quote_run_get_for_caller(run_id=run_id, caller=caller_identity(drf_request))
        if run is None:
            return _Access.DENIED
        # A finished run's last event is its terminal one.
        if run.status != QuoteRunStatus.PROCESSING and after >= run.last_event_id:
            return _Access.ENDED
        return _Access.OPEN
    finally:
        connection.close()  # back to the pool: the stream must not hold it


def _read_after(run_id, after: int) -> _Read:
    try:
        run = (
            QuoteRun.objects.live()
            .filter(pk=run_id)
            .values("status", "last_event_id", "created_at")
            .first()
        )
        if run is None:
            return _Read(chunks=[], last_seq=after, more=False, done=True)
        events: list[Mapping[str, Any]] = []
        if run["last_event_id"] > after:
            events = list(
                QuoteRunEvent.objects.filter(
                    run_id=run_id, run_created_at=run["created_at"], seq__gt=after
                )
                .order_by("seq")
                .values("seq", "type", "data")[:REPLAY_BATCH]
            )
        chunks = []
        last_seq = after
        for event in events:
            chunks.append(sse_event(seq=event["seq"], event_type=event["type"], data=event["data"]))
            last_seq = event["seq"]
            if event["type"] in TERMINAL_EVENT_TYPES:
                return _Read(chunks=chunks, last_seq=last_seq, more=False, done=True)
        more = run["last_event_id"] > last_seq
        done = run["status"] != QuoteRunStatus.PROCESSING and not more
        return _Read(chunks=chunks, last_seq=last_seq, more=more, done=done)
    finally:
        connection.close()


_read_after_async = sync_to_async(_read_after, thread_sensitive=False)
_stream_access_async = sync_to_async(_stream_access, thread_sensitive=False)


async def run_event_stream(run_id, after: int) -> AsyncIterator[bytes]:
    """`retry: <ms>`, then events with seq > after, then live ones, ending after the
    terminal event.

    Waits on its process's wake-up hub (quotes/runs/wakeups.py), registered before the
    first read so a wake-up between read and wait is never lost: one shared Redis
    subscription wakes it, or without pub/sub the hub's one progress query per
    SSE_POLL_INTERVAL_S for all streams of the process; the stream reads the database
    only when its run has news. It opens no Redis connection of its own. Ends early, cleanly,
    when the process drains (config/shutdown.py).
    """
    yield f"retry: {settings.SSE_RETRY_MS}\n\n".encode()
    last_seq = after
    async with stream_wakeups(run_id, seen=after) as wakeup:
        next_keepalive = time.monotonic() + settings.SSE_KEEPALIVE_S
        should_read = True
        while True:
            if is_draining():
                # The process is stopping: end cleanly now, not when the run ends; the
                # client reconnects (elsewhere) with Last-Event-ID and misses nothing.
                return
            if should_read:
                try:
                    read = await _read_after_async(run_id, last_seq)
                except DatabaseError as exc:
                    # End the stream: the client reconnects with Last-Event-ID, maybe to
                    # an instance that reaches the database.
                    logger.warning("stream of run %s: database read failed: %s", run_id, exc)
                    return
                last_seq = wakeup.seen = read.last_seq  # in hand: no wake-up needed for these
                for chunk in read.chunks:
                    yield chunk
                if read.done:
                    return
                more = read.more
                del read  # an idle stream keeps nothing of its last read
                if more:
                    continue
            now = time.monotonic()
            if now >= next_keepalive:
                yield KEEPALIVE
                next_keepalive = now + settings.SSE_KEEPALIVE_S
            should_read = await wakeup.wait(next_keepalive - time.monotonic())


@csrf_exempt  # like every API view: callers authenticate by token or X-Session-Id
async def quote_run_stream(request: HttpRequest, run_id) -> HttpResponse | StreamingHttpResponse:
    """200 text/event-stream of the run's events; 204 when Last-Event-ID is already the
    terminal event's; else a JSON error before any streaming starts (404 when the run is
    unknown, past retention or not the caller's, or the token is not this run's or expired)."""
    if request.method != "GET":
        return JsonResponse(
            error_body("method_not_allowed", f'Method "{request.method}" not allowed.'),
            status=405,
            headers={"Allow": "GET"},
        )
    try:
        after = _last_event_id(request)
        access = await _stream_access_async(request, run_id, after=after)
    except ApplicationError as exc:
        return JsonResponse(error_body(exc.code, exc.message, exc.details), status=exc.status_code)
    except (drf_exceptions.AuthenticationFailed, drf_exceptions.NotAuthenticated) as exc:
        return JsonResponse(
            error_body("invalid_token", str(exc.detail)),
            status=401,
            headers={"WWW-Authenticate": BearerAuthentication.keyword},
        )
    if access is _Access.DENIED:
        return JsonResponse(error_body("not_found", "Not found."), status=404)
    if access is _Access.ENDED:
        return HttpResponse(status=204)
    response = DetachableStreamingResponse(
        run_event_stream(run_id, after), content_type="text/event-stream"
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
