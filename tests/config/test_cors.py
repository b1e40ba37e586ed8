"""CORS for browser apps: allowed origins only, /api/ only, preflights, exposed headers, and
the same headers on every error answer, those of the ASGI guards before Django included."""

import asyncio

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper
from django.test import AsyncClient, Client

from config.asgi import application
from config.env import env_origins
from quotes.runs.services import quote_run_execute
from quotes.runs.stream_tokens import quote_run_stream_url
from tests.quote_runs.factories import QuoteRunFactory

ORIGIN = "https://shop.example.com"
OTHER_ORIGIN = "https://evil.example.net"
SESSION = "cors-session-00000000001"
BROWSER_REQUEST_HEADERS = {
    "authorization",
    "content-type",
    "x-session-id",
    "idempotency-key",
    "last-event-id",
}
EXPOSED = {
    "retry-after",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "ratelimit",
    "ratelimit-policy",
    "idempotent-replayed",
    "x-request-id",
}


@pytest.fixture(autouse=True)
def _allowed_origins(settings):
    settings.CORS_ALLOWED_ORIGINS = [ORIGIN, "http://127.0.0.1:3000"]


def listed(value: str) -> set[str]:
    return {item.strip().lower() for item in value.split(",") if item.strip()}


def access_control(response) -> dict[str, str]:
    return {
        name.lower(): value
        for name, value in response.headers.items()
        if name.lower().startswith("access-control-")
    }


def assert_cors_allowed(response, origin: str = ORIGIN) -> None:
    assert response["Access-Control-Allow-Origin"] == origin
    assert listed(response["Access-Control-Expose-Headers"]) >= EXPOSED
    assert "origin" in listed(response["Vary"])
    assert "Access-Control-Allow-Credentials" not in response  # headers, never cookies


@pytest.mark.django_db
def test_preflight_from_an_allowed_origin_allows_the_api_headers():
    response = Client().options(
        "/api/quote-runs",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": ",".join(sorted(BROWSER_REQUEST_HEADERS)),
        },
    )

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert listed(response["Access-Control-Allow-Headers"]) >= BROWSER_REQUEST_HEADERS
    assert {"GET", "POST", "DELETE"} <= set(
        response["Access-Control-Allow-Methods"].replace(" ", "").split(",")
    )


@pytest.mark.django_db
def test_answers_to_an_allowed_origin_carry_and_expose_the_headers(api_client):
    response = api_client.get("/api/credit-schedule", headers={"Origin": ORIGIN})

    assert response.status_code == 200
    assert_cors_allowed(response)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("origin", "path"),
    [
        (OTHER_ORIGIN, "/api/credit-schedule"),
        ("https://shop.example.com.evil.example.net", "/api/credit-schedule"),
        ("http://shop.example.com", "/api/credit-schedule"),  # another scheme
        ("http://127.0.0.1:3001", "/api/credit-schedule"),  # another port
        ("null", "/api/credit-schedule"),
        (ORIGIN, "/admin/login/"),  # CORS is for /api/ only
    ],
)
def test_other_origins_and_paths_get_no_access_control_headers(origin, path):
    client = Client()

    simple = client.get(path, headers={"Origin": origin})
    preflight = client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-session-id",
        },
    )

    assert simple.status_code == 200
    assert access_control(simple) == {}
    assert access_control(preflight) == {}


@pytest.mark.django_db
def test_no_allowed_origin_means_no_cors_at_all(settings):
    settings.CORS_ALLOWED_ORIGINS = []

    response = Client().get("/api/credit-schedule", headers={"Origin": ORIGIN})

    assert access_control(response) == {}


@pytest.mark.django_db
def test_error_answers_carry_the_cors_headers(api_client, settings, monkeypatch):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "anon": "1/min",
        },
    }
    headers = {"Origin": ORIGIN}

    not_found = api_client.get("/api/no-such-thing", headers=headers)
    unauthorized = api_client.get(
        "/api/credit-schedule", headers={**headers, "Authorization": "Bearer nonsense"}
    )
    api_client.get("/api/credit-schedule", headers=headers)
    throttled = api_client.get("/api/credit-schedule", headers=headers)

    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(CursorWrapper, "execute", refuse)
    outage = api_client.get("/api/ping", headers=headers)

    for response, status in [
        (not_found, 404),
        (unauthorized, 401),
        (throttled, 429),
        (outage, 503),
    ]:
        assert response.status_code == status, response.content
        assert_cors_allowed(response)
    assert "retry-after" in listed(throttled["Access-Control-Expose-Headers"])
    assert int(throttled["Retry-After"]) >= 1


# --- Through the whole ASGI application (the guards answer before Django) ----------------


def asgi_request(
    method: str, path: str, headers: dict[str, str], chunks: list[bytes] = ()
) -> tuple[int, list[tuple[str, str]]]:
    """Call config.asgi.application as a server would; the status and the header list."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(name.lower().encode(), value.encode()) for name, value in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    incoming = [
        {"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1}
        for index, chunk in enumerate(chunks or [b""])
    ]
    sent: list[dict] = []

    async def receive():
        if incoming:
            return incoming.pop(0)
        await asyncio.Event().wait()  # the client stays connected until the answer is sent

    async def send(message):
        sent.append(message)

    asyncio.run(application(scope, receive, send))
    start = sent[0]
    assert start["type"] == "http.response.start"
    return start["status"], [(n.decode().lower(), v.decode()) for n, v in start["headers"]]


def header(headers: list[tuple[str, str]], name: str) -> list[str]:
    return [value for key, value in headers if key == name]


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "streamed"])
def test_413_of_the_asgi_upload_guard_carries_the_cors_headers(settings, declared):
    settings.MAX_UPLOAD_BYTES = 1000
    chunks = [b"x" * 40_000] * 3  # past the cap plus the multipart allowance
    headers = {"Origin": ORIGIN, "Content-Type": "multipart/form-data; boundary=b"}
    if declared:
        headers["Content-Length"] = str(sum(map(len, chunks)))

    status, sent = asgi_request("POST", "/api/uploads", headers, chunks)
    _, unlisted = asgi_request("POST", "/api/uploads", {**headers, "Origin": OTHER_ORIGIN}, chunks)

    assert status == 413
    assert header(sent, "access-control-allow-origin") == [ORIGIN]
    assert listed(header(sent, "access-control-expose-headers")[0]) >= EXPOSED
    assert header(sent, "vary") == ["origin"]
    assert not [name for name, _ in unlisted if name.startswith("access-control-")]


@pytest.mark.django_db(transaction=True)
def test_answers_of_django_through_asgi_carry_the_headers_once():
    status, sent = asgi_request("GET", "/api/no-such-thing", {"Origin": ORIGIN})
    _, without_origin = asgi_request("GET", "/api/no-such-thing", {})

    assert status == 404
    assert header(sent, "access-control-allow-origin") == [ORIGIN]
    assert len(header(sent, "vary")) == 1
    assert "origin" in listed(header(sent, "vary")[0])
    assert not [name for name, _ in without_origin if name.startswith("access-control-")]


# --- The stream --------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_stream_and_its_final_204_carry_the_cors_headers():
    run = quote_run_execute(run_id=QuoteRunFactory(session_id=SESSION).id)
    url = quote_run_stream_url(run=run)

    async def go():
        client = AsyncClient()
        opened = await client.get(url, headers={"Origin": ORIGIN})
        body = b"".join([chunk async for chunk in opened.streaming_content])
        ended = await client.get(
            url, headers={"Origin": ORIGIN, "Last-Event-ID": str(run.last_event_id)}
        )
        return opened, body, ended

    opened, body, ended = asyncio.run(go())

    assert opened.status_code == 200
    assert opened["Content-Type"] == "text/event-stream"
    assert_cors_allowed(opened)
    assert body.startswith(b"retry: ")
    assert ended.status_code == 204
    assert_cors_allowed(ended)


@pytest.mark.django_db
def test_stream_preflight_allows_last_event_id():
    response = Client().options(
        "/api/quote-runs/00000000-0000-0000-0000-000000000000/stream",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "last-event-id",
        },
    )

    assert response.status_code == 200
    assert "last-event-id" in listed(response["Access-Control-Allow-Headers"])


# --- Configuration -----------------------------------------------------------------------


def test_allowed_origins_are_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", " https://a.example.com, http://127.0.0.1:3000 ,")

    assert env_origins("CORS_ALLOWED_ORIGINS") == [
        "https://a.example.com",
        "http://127.0.0.1:3000",
    ]


@pytest.mark.parametrize(
    "value",
    [
        "shop.example.com",
        "https://shop.example.com/",
        "https://shop.example.com/path",
        "ftp://shop.example.com",
        "https://user@shop.example.com",
        "https://shop.example.com:99999",
        "*",
    ],
)
def test_a_malformed_origin_refuses_to_start(monkeypatch, value):
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", value)

    with pytest.raises(ImproperlyConfigured, match="CORS_ALLOWED_ORIGINS"):
        env_origins("CORS_ALLOWED_ORIGINS")
