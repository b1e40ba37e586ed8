"""Request ids: one per request, in its response, its log lines and the tasks it enqueues.

The id is the client's `X-Request-ID` when it is sane (1-128 of [A-Za-z0-9._-]), else a new
uuid4 hex. It lives in a contextvar for the duration of the request (contextvars are per
request: each ASGI request runs in its own task, each WSGI request resets it at the end),
so config.logs.RequestIdFilter can stamp it on every log record; Celery carries it in the
message headers of every task published meanwhile and restores it while the task runs.

Three layers set it, each needed for a different entry: the ASGI and WSGI wrappers
(outermost, so answers of the server-level guards carry the header too) and the Django
middleware (the test client and any entry that bypasses the wrappers). A sane id passes
through all three unchanged.
"""

import re
import uuid
from contextvars import ContextVar

from celery import signals

HEADER = "X-Request-ID"
META_KEY = "HTTP_X_REQUEST_ID"
CELERY_HEADER = "x_request_id"
_HEADER_BYTES = b"x-request-id"
_SANE = re.compile(r"[A-Za-z0-9._-]{1,128}")

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


def request_id_from(value: str | None) -> str:
    """The client's id if sane, else a fresh one."""
    if value and _SANE.fullmatch(value):
        return value
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Django middleware, outermost: every answer of the chain (errors, 404s, 429s and
    responses of other middleware included) carries the header. Sync-only, like the rest
    of the chain (see the MIDDLEWARE comment in settings)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_from(request.META.get(META_KEY))
        request.META[META_KEY] = request_id
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response[HEADER] = request_id
        return response


class RequestIdAsgiMiddleware:
    """ASGI wrapper, outermost in config.asgi."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = scope.get("headers") or []
        sent = next((value for name, value in headers if name == _HEADER_BYTES), None)
        request_id = request_id_from(sent.decode("latin-1") if sent is not None else None)
        encoded = request_id.encode()
        if sent != encoded:
            kept = [(name, value) for name, value in headers if name != _HEADER_BYTES]
            scope = {**scope, "headers": [*kept, (_HEADER_BYTES, encoded)]}

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                kept = [
                    (name, value)
                    for name, value in message.get("headers") or []
                    if name.lower() != _HEADER_BYTES
                ]
                message = {**message, "headers": [*kept, (_HEADER_BYTES, encoded)]}
            await send(message)

        token = request_id_var.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)


class RequestIdWsgiMiddleware:
    """WSGI wrapper, outermost in config.wsgi."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        request_id = request_id_from(environ.get(META_KEY))
        environ[META_KEY] = request_id

        def start_with_id(status, headers, exc_info=None):
            kept = [(name, value) for name, value in headers if name.lower() != "x-request-id"]
            return start_response(status, [*kept, (HEADER, request_id)], exc_info)

        token = request_id_var.set(request_id)
        try:
            return self.app(environ, start_with_id)
        finally:
            request_id_var.reset(token)


# --- Celery: the id travels with the tasks a request enqueues ------------------------------


@signals.before_task_publish.connect
def _request_id_into_message(headers=None, **kwargs) -> None:
    request_id = request_id_var.get()
    if request_id is not None and headers is not None:
        headers[CELERY_HEADER] = request_id


@signals.task_prerun.connect
def _request_id_from_message(task=None, **kwargs) -> None:
    """Each task runs under the id of the request that enqueued it (None if there was
    none). Not reset after the task: Celery logs the task's outcome after task_postrun,
    and the next task sets its own id first."""
    request = getattr(task, "request", None)
    if request is None or request.is_eager:
        return  # an eager task runs inside the enqueuing request, under its id already
    request_id = getattr(request, CELERY_HEADER, None)
    if request_id is None:
        request_id = (getattr(request, "headers", None) or {}).get(CELERY_HEADER)
    request_id_var.set(request_id_from(request_id) if request_id else None)
