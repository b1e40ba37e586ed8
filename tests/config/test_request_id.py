"""X-Request-ID: on every answer, in every log line of the request, carried into tasks."""

import asyncio
import json
import logging
import re

import pytest
from celery import shared_task
from django.test import RequestFactory

from config.logs import RequestIdFilter, logging_config
from config.request_id import (
    CELERY_HEADER,
    RequestIdAsgiMiddleware,
    RequestIdWsgiMiddleware,
    request_id_var,
)

# Imported here, not in a test: get_wsgi_application() configures logging again, which
# would detach pytest's log capture.
from config.wsgi import application as wsgi_application

NEW_ID = re.compile(r"[0-9a-f]{32}")


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/health/live", 200),
        ("/api/no-such-endpoint", 404),
        ("/no-such-page", 404),
        ("/api/quotes/not-a-uuid", 404),
    ],
)
def test_every_answer_carries_the_clients_sane_id(api_client, db, path, status):
    response = api_client.get(path, HTTP_X_REQUEST_ID="abc-123.DEF_456")

    assert response.status_code == status
    assert response["X-Request-ID"] == "abc-123.DEF_456"


@pytest.mark.parametrize("sent", [None, "", "x" * 129, "has space", "semi;colon", "ünï"])
def test_a_missing_or_insane_id_is_replaced_by_a_new_one(api_client, sent):
    headers = {} if sent is None else {"HTTP_X_REQUEST_ID": sent}

    response = api_client.get("/api/health/live", **headers)

    assert NEW_ID.fullmatch(response["X-Request-ID"])


def test_errors_of_the_api_carry_it_too(api_client, db):
    response = api_client.post(
        "/api/quotes", "{not json", content_type="application/json", HTTP_X_REQUEST_ID="bad-body"
    )

    assert response.status_code == 400
    assert response["X-Request-ID"] == "bad-body"


def test_log_lines_of_the_request_carry_it(db, caplog):
    # given the WSGI entry point (Django logs its "Not Found" after the middleware chain)
    environ = RequestFactory()._base_environ(
        PATH_INFO="/api/no-such-endpoint", REQUEST_METHOD="GET", HTTP_X_REQUEST_ID="trace-me-1"
    )
    caplog.handler.addFilter(RequestIdFilter())

    # when a request fails
    with caplog.at_level(logging.INFO):
        b"".join(wsgi_application(environ, lambda status, headers, exc_info=None: None))

    # then every line it logged carries its id, and the id ends with it
    lines = {(r.name, getattr(r, "request_id", None)) for r in caplog.records}
    assert ("atelier.access", "trace-me-1") in lines
    assert ("django.request", "trace-me-1") in lines
    assert request_id_var.get() is None


def test_json_format_is_one_object_per_line_with_the_fields(capsys):
    from logging.config import dictConfig

    # given the JSON configuration on a logger of its own
    config = logging_config(level="INFO", log_format="json")
    config["root"] = {"handlers": [], "level": "INFO"}
    config["loggers"] = {"json-test": {"handlers": ["console"], "level": "INFO"}}
    config["disable_existing_loggers"] = False
    dictConfig(config)
    log = logging.getLogger("json-test")
    token = request_id_var.set("json-req-1")
    try:
        # when a line and an exception are logged
        log.info("hello %s", "world", extra={"route": "/api/x"})
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("failed")
    finally:
        request_id_var.reset(token)
        from django.conf import settings

        dictConfig(settings.LOGGING)

    # then each is one JSON object with the fields
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert len(lines) == 2
    first, second = lines
    assert first["message"] == "hello world"
    assert (first["level"], first["logger"], first["request_id"]) == (
        "INFO",
        "json-test",
        "json-req-1",
    )
    assert isinstance(first["process"], int)
    assert first["route"] == "/api/x"
    assert first["time"].endswith("+00:00")
    assert second["level"] == "ERROR"
    assert "ValueError: boom" in second["exc_info"]


def test_asgi_wrapper_sets_the_header_on_answers_django_never_saw():
    async def guard(scope, receive, send):  # answers like an ASGI-level body limit
        seen["request_id"] = request_id_var.get()
        seen["header"] = dict(scope["headers"]).get(b"x-request-id")
        await send({"type": "http.response.start", "status": 413, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    seen: dict = {}
    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "headers": [(b"x-request-id", b"edge-42")], "path": "/api/uploads"}
    asyncio.run(RequestIdAsgiMiddleware(guard)(scope, receive, send))

    assert seen == {"request_id": "edge-42", "header": b"edge-42"}
    assert (b"x-request-id", b"edge-42") in sent[0]["headers"]


def test_wsgi_wrapper_replaces_an_insane_id_for_the_app_and_the_client():
    seen: dict = {}

    def app(environ, start_response):
        seen["environ"] = environ["HTTP_X_REQUEST_ID"]
        seen["var"] = request_id_var.get()
        start_response("200 OK", [("X-Request-ID", "app-set")])
        return [b""]

    started: list = []
    RequestIdWsgiMiddleware(app)(
        {"HTTP_X_REQUEST_ID": "bad id"}, lambda status, headers, exc=None: started.append(headers)
    )

    assert NEW_ID.fullmatch(seen["environ"])
    assert seen["var"] == seen["environ"]
    assert started[0] == [("X-Request-ID", seen["environ"])]


@shared_task(name="tests.request_id_probe")
def request_id_probe() -> str | None:
    return request_id_var.get()


def test_published_tasks_carry_the_id_in_their_headers():
    from celery import signals

    captured: dict = {}

    def capture(headers=None, **kwargs):
        captured.update(headers or {})

    from config.celery import app

    signals.before_task_publish.connect(capture, weak=False)
    token = request_id_var.set("publish-me")
    app.conf.task_always_eager = False  # publish for real (to the in-memory broker)
    try:
        with app.connection_for_write("memory://") as conn:
            request_id_probe.apply_async(connection=conn)
    finally:
        app.conf.task_always_eager = True
        request_id_var.reset(token)
        signals.before_task_publish.disconnect(capture)

    assert captured[CELERY_HEADER] == "publish-me"


def test_an_eager_task_keeps_the_id_of_the_request_that_runs_it():
    token = request_id_var.set("eager-req")
    try:
        assert request_id_probe.apply().get() == "eager-req"
    finally:
        request_id_var.reset(token)
