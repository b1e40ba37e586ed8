"""Prometheus metrics: definitions, the request middleware, Celery task signals, /metrics.

With PROMETHEUS_MULTIPROC_DIR set (required as soon as a server runs several worker
processes), every process writes its figures to files in that directory and a scrape of
any of them adds up all the files (prometheus_client's multiprocess mode), whatever the
server (uvicorn --workers, gunicorn, granian). Without it, a scrape shows this process only.
"""

import contextlib
import fcntl
import hmac
import json
import logging
import os
import re
import threading
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from celery import signals
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from config.errors import error_body

logger = logging.getLogger(__name__)
access_logger = logging.getLogger("atelier.access")

MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
_LOCK_FILE = ".lock"
_WRITER_PREFIX = "writer_"

# --- The multiprocess directory ------------------------------------------------------------


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, someone else's
    return True


def _writer_pids(path: str) -> set[int]:
    """Processes that wrote to the directory: from their .db files and writer markers."""
    pids = set()
    for name in os.listdir(path):
        if name.endswith(".db"):
            candidate = name[: -len(".db")].rsplit("_", 1)[-1]
        elif name.startswith(_WRITER_PREFIX):
            candidate = name[len(_WRITER_PREFIX) :]
        else:
            continue
        if candidate.isdigit():
            pids.add(int(candidate))
    return pids


@contextlib.contextmanager
def _dir_locked(path: str) -> Iterator[None]:
    with open(os.path.join(path, _LOCK_FILE), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _mark_dead(path: str, pids: Iterable[int]) -> None:
    """prometheus_client's bookkeeping for a dead process: its live gauges (open streams)
    stop counting; its counters and histograms keep counting in the totals."""
    for pid in pids:
        multiprocess.mark_process_dead(pid, path)
        with contextlib.suppress(FileNotFoundError):
            os.remove(os.path.join(path, f"{_WRITER_PREFIX}{pid}"))


def multiproc_dir_prepare(path: str) -> None:
    """Run once per process, before any metric exists, under a file lock.

    When no other process that wrote to the directory is alive, the files are from an
    earlier run of the server: wipe them (prometheus_client's docs ask for a clean
    directory at start; a server start is a counter reset anyway). Otherwise this is one
    of several workers starting, or a replacement for a dead one: keep the files and mark
    the dead processes dead. Either way, register this process as a writer (a marker
    file), so a sibling starting right after it does not wipe the directory.
    """
    os.makedirs(path, exist_ok=True)
    me = os.getpid()
    with _dir_locked(path):
        writers = _writer_pids(path) - {me}
        alive = {pid for pid in writers if _pid_alive(pid)}
        if alive:
            # A file of our own pid is a dead predecessor's (pids are reused).
            _mark_dead(path, (writers - alive) | {me})
        else:
            for name in os.listdir(path):
                if name.endswith(".db") or name.startswith(_WRITER_PREFIX):
                    os.remove(os.path.join(path, name))
        with open(os.path.join(path, f"{_WRITER_PREFIX}{me}"), "w"):
            pass


def multiproc_dir_mark_dead(path: str) -> None:
    """At scrape time: processes that died since (a killed worker) stop counting in the
    live gauges."""
    with _dir_locked(path):
        _mark_dead(path, {pid for pid in _writer_pids(path) if not _pid_alive(pid)})


if MULTIPROC_DIR:
    multiproc_dir_prepare(MULTIPROC_DIR)

# --- Metrics -------------------------------------------------------------------------------

LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
TASK_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)

HTTP_REQUESTS = Counter(
    "atelier_http_requests",
    "HTTP requests answered, by method, URL pattern and status.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "atelier_http_request_duration_seconds",
    "Time to the start of the response, by method, URL pattern and status.",
    ["method", "route", "status"],
    buckets=LATENCY_BUCKETS_S,
)
REFUSALS = Counter(
    "atelier_http_refusals",
    "429 answers by error code (rate_limited, quota_exceeded, ...).",
    ["code"],
)
OPEN_STREAMS = Gauge(
    "atelier_open_streams",
    "Server-Sent-Events streams open now.",
    multiprocess_mode="livesum",
)
TASKS = Counter(
    "atelier_tasks",
    "Celery tasks run, by task name and outcome (success, failure, retry, ...).",
    ["task", "outcome"],
)
TASK_DURATION = Histogram(
    "atelier_task_duration_seconds",
    "Celery task run time, by task name.",
    ["task"],
    buckets=TASK_BUCKETS_S,
)
WEBHOOK_DELIVERIES = Counter(
    "atelier_webhook_deliveries",
    "Webhook delivery attempts, by outcome (delivered, failed, gave_up).",
    ["outcome"],
)

UNMATCHED_ROUTE = "unmatched"
STATIC_ROUTE = "static"
API_NOT_FOUND_URL_NAME = "api-not-found"
_CODE_LABEL = re.compile(r"[a-z_]{1,64}")
# A decoded path may hold control characters (%0A): never let one forge a log line.
_CONTROL_CHARS = str.maketrans(dict.fromkeys([*range(32), 127], "?"))


def webhook_delivery_count(*, outcome: str) -> None:
    """For the webhook sender: one delivery attempt and how it ended."""
    WEBHOOK_DELIVERIES.labels(outcome=outcome).inc()


# --- Requests ------------------------------------------------------------------------------


def request_route(request: HttpRequest) -> str:
    """The URL pattern that served the request, never its raw path (bounded labels)."""
    match = getattr(request, "resolver_match", None)
    if match is None or match.url_name == API_NOT_FOUND_URL_NAME:
        if request.path.startswith(f"/{settings.STATIC_URL}"):
            return STATIC_ROUTE
        return UNMATCHED_ROUTE
    return f"/{match.route}"


def _refusal_code(response: HttpResponse) -> str:
    data = getattr(response, "data", None)
    if data is None and not response.streaming:
        try:
            data = json.loads(response.content)
        except ValueError:
            data = None
    code = data.get("error") if isinstance(data, dict) else None
    return code if isinstance(code, str) and _CODE_LABEL.fullmatch(code) else "other"


async def _count_open_async(content: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    OPEN_STREAMS.inc()
    try:
        async for chunk in content:
            yield chunk
    finally:
        OPEN_STREAMS.dec()


def _count_open(content: Iterator[bytes]) -> Iterator[bytes]:
    OPEN_STREAMS.inc()
    try:
        yield from content
    finally:
        OPEN_STREAMS.dec()


class MetricsMiddleware:
    """Counts and times every answer of the Django chain by route and status, counts 429s
    by code and open event streams, and writes the access log line. Sync-only (see the
    MIDDLEWARE comment in settings)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed_s = time.perf_counter() - started
        route = request_route(request)
        status = response.status_code
        labels = {"method": request.method or "", "route": route, "status": str(status)}
        HTTP_REQUESTS.labels(**labels).inc()
        HTTP_DURATION.labels(**labels).observe(elapsed_s)
        if status == 429:
            REFUSALS.labels(code=_refusal_code(response)).inc()
        if response.streaming and response.get("Content-Type", "").startswith("text/event-stream"):
            if response.is_async:
                response.streaming_content = _count_open_async(response.streaming_content)
            else:
                response.streaming_content = _count_open(response.streaming_content)
        if settings.LOG_REQUESTS:
            access_logger.info(
                "%s %s %s %.1fms",
                request.method,
                request.path.translate(_CONTROL_CHARS),
                status,
                elapsed_s * 1000,
                extra={"route": route, "status": status, "duration_ms": round(elapsed_s * 1000, 1)},
            )
        return response


# --- Celery tasks --------------------------------------------------------------------------

_TASK_STARTED_ATTR = "_atelier_started"


@signals.task_prerun.connect
def _task_started(task=None, **kwargs) -> None:
    if task is not None and task.request is not None:
        setattr(task.request, _TASK_STARTED_ATTR, time.perf_counter())


@signals.task_postrun.connect
def _task_finished(task=None, state=None, **kwargs) -> None:
    if task is None:
        return
    TASKS.labels(task=task.name, outcome=str(state or "unknown").lower()).inc()
    started = getattr(task.request, _TASK_STARTED_ATTR, None)
    if started is not None:
        TASK_DURATION.labels(task=task.name).observe(time.perf_counter() - started)


# --- Exposition ----------------------------------------------------------------------------


class _DatabaseCollector(Collector):
    """Figures read from the database at scrape time (one indexed query)."""

    def collect(self):
        from rendering.selectors import render_jobs_in_flight

        try:
            counts = render_jobs_in_flight()
        except Exception as exc:
            logger.warning("metrics: database figures unavailable: %s", exc)
            return
        gauge = GaugeMetricFamily(
            "atelier_render_jobs_in_flight",
            "Render jobs holding a quota reservation (queued or running), by status.",
            labels=["status"],
        )
        for status, count in sorted(counts.items()):
            gauge.add_metric([status], count)
        yield gauge


class _ProcessRegistry(Collector):
    def collect(self):
        return REGISTRY.collect()


def metrics_text() -> bytes:
    """Every metric of every process of this server (or of this process alone without
    PROMETHEUS_MULTIPROC_DIR), plus the database figures, in the text format."""
    registry = CollectorRegistry()
    if MULTIPROC_DIR:
        multiproc_dir_mark_dead(MULTIPROC_DIR)
        multiprocess.MultiProcessCollector(registry, path=MULTIPROC_DIR)
    else:
        registry.register(_ProcessRegistry())
    registry.register(_DatabaseCollector())
    return generate_latest(registry)


def metrics_authorized(authorization: str | None) -> bool:
    """True when METRICS_TOKEN is unset, or `authorization` is `Bearer <METRICS_TOKEN>`."""
    token = settings.METRICS_TOKEN
    if not token:
        return True
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)


def _unauthorized() -> JsonResponse:
    response = JsonResponse(
        error_body("invalid_token", "GET /metrics needs Authorization: Bearer <METRICS_TOKEN>."),
        status=401,
    )
    response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response


@csrf_exempt
def metrics_view(request: HttpRequest) -> HttpResponse:
    """GET /metrics: outside /api/ and its throttles; a bearer token when configured."""
    if not metrics_authorized(request.headers.get("Authorization")):
        return _unauthorized()
    if request.method not in {"GET", "HEAD"}:
        response = JsonResponse(
            error_body("method_not_allowed", f'Method "{request.method}" not allowed.'),
            status=405,
        )
        response["Allow"] = "GET, HEAD"
        return response
    return HttpResponse(metrics_text(), content_type=CONTENT_TYPE_LATEST)


# --- A worker's own endpoint ---------------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


def _worker_metrics_app(environ, start_response):
    if not metrics_authorized(environ.get("HTTP_AUTHORIZATION")):
        body = json.dumps(error_body("invalid_token", "Bearer token required.")).encode()
        start_response(
            "401 Unauthorized",
            [("Content-Type", "application/json"), ("WWW-Authenticate", "Bearer")],
        )
        return [body]
    start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
    return [metrics_text()]


def worker_metrics_serve(port: int) -> WSGIServer:
    """Serve /metrics of this Celery worker (all its pool processes, given
    PROMETHEUS_MULTIPROC_DIR) from a daemon thread of its main process."""
    server = make_server("", port, _worker_metrics_app, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    logger.info("worker metrics on port %s", port)
    return server


@signals.worker_ready.connect
def _worker_metrics_start(**kwargs) -> None:
    if settings.WORKER_METRICS_PORT:
        worker_metrics_serve(settings.WORKER_METRICS_PORT)
