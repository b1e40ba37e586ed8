"""A body sent to an endpoint that takes none is a 400 `validation_error`, never ignored
(config/no_body.py); no body, or `{}`, passes."""

import inspect
import json
import re
import uuid

import pytest
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.urls import resolve
from drf_spectacular.generators import SchemaGenerator

from config.no_body import CHECKED_METHODS, NO_BODY_MESSAGE, takes_body
from quotes.models import Quote, QuoteStatus
from tests.config import test_edge
from tests.config.test_edge import call_wsgi
from tests.conftest import client_for
from tests.hostile import api_views
from tests.quotes.factories import QuoteFactory

# Every endpoint that takes no body, as the OpenAPI schema names it. A new one must be
# added here: test_the_schema_documents_a_body_exactly_where_one_is_taken fails until then.
NO_BODY_ENDPOINTS = [
    ("DELETE", "/api/addresses/{address_id}"),
    ("POST", "/api/addresses/{address_id}/default"),
    ("DELETE", "/api/files/{file_id}"),
    ("POST", "/api/notifications/{notification_id}/read"),
    ("POST", "/api/notifications/read-all"),
    ("POST", "/api/orders/{order_id}/cancel"),
    ("POST", "/api/quotes/{quote_id}/expire"),
    ("POST", "/api/quotes/{quote_id}/share"),
    ("DELETE", "/api/quotes/{quote_id}/share"),
    ("POST", "/api/quotes/{quote_id}/use"),
    ("POST", "/api/room-sessions/{room_session_id}/confirm"),
    ("POST", "/api/shops/{shop_id}/room-sessions"),
    ("POST", "/api/users/logout"),
    ("POST", "/api/users/logout-all"),
    ("DELETE", "/api/users/sessions/{session_id}"),
    ("DELETE", "/api/webhooks/{webhook_id}"),
]
# (body, Content-Type): input of every kind a client could mean something by.
BODIES = [
    (b'{"unexpected": 1}', "application/json"),
    (b'{"":null}', "application/json"),
    (b"[]", "application/json"),
    (b"null", "application/json"),
    (b'""', "application/json"),
    (b"0", "application/json"),
    (b"{", "application/json"),
    (b"\xff\xfe{}", "application/json"),
    (b"reason=mistake", "application/x-www-form-urlencoded"),
    (encode_multipart(BOUNDARY, {"reason": "mistake"}), MULTIPART_CONTENT),
    (b"--no-such-boundary", MULTIPART_CONTENT),
]
# (body, Content-Type): nothing; the last, the form of a Client().post(url) without data.
NO_INPUT = [
    (b"", "application/json"),
    (b"{}", "application/json"),
    (b" { \r\n\t} \n", "application/json"),
    (b"\n", "application/json"),
    (b"{}", "text/plain; x=1"),
    (encode_multipart(BOUNDARY, {}), MULTIPART_CONTENT),
]
WRITE_METHODS = {method.lower() for method in CHECKED_METHODS}


def fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda _: str(uuid.uuid4()), path)


def send(client, method: str, path: str, body: bytes, content_type="application/json", **extra):
    return client.generic(method, path, body, content_type=content_type, **extra)


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), NO_BODY_ENDPOINTS, ids=lambda v: v)
def test_a_body_sent_to_an_endpoint_that_takes_none_is_a_400(method, path, user):
    url = fill(path)

    for body, content_type in BODIES:
        response = send(client_for(user), method, url, body, content_type)

        assert response.status_code == 400, (body, response.content)
        assert response.json() == {
            "error": "validation_error",
            "message": NO_BODY_MESSAGE,
            "details": {"body": [NO_BODY_MESSAGE]},
        }


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), NO_BODY_ENDPOINTS, ids=lambda v: v)
def test_no_body_or_an_empty_object_passes_to_the_view(method, path, user):
    url = fill(path)
    answers = [send(client_for(user), method, url, *body) for body in NO_INPUT]

    # The ids are made up: a view that ran answers 404, the others their success.
    assert [a.status_code for a in answers if a.status_code == 400] == []
    assert {a.status_code for a in answers} <= {200, 201, 204, 404}


def test_the_schema_documents_a_body_exactly_where_one_is_taken():
    """The rule of config/no_body.py agrees with the OpenAPI schema on every write
    operation, and NO_BODY_ENDPOINTS lists exactly those without a requestBody."""
    spec = SchemaGenerator().get_schema(request=None, public=True)
    without_body = set()

    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method not in WRITE_METHODS:
                continue
            view = getattr(resolve(fill(path)).func, "cls", None)
            if view is None:
                # A plain Django view (config.openapi_plain_views): the signed storage PUT
                # takes the raw object, not a JSON body this rule is about.
                continue
            documented = "requestBody" in operation
            assert takes_body(view, method.upper()) == documented, (method, path)
            if not documented:
                without_body.add((method.upper(), path))

    assert without_body == set(NO_BODY_ENDPOINTS)


def test_every_handler_that_reads_the_body_is_one_that_takes_a_body():
    """So a new view cannot forget: a handler reading request.data (or FILES) with no
    InputSerializer would refuse every body; one with an InputSerializer it never reads
    would take a body and ignore it."""
    handlers = 0
    for route, view in api_views():
        for method in sorted(CHECKED_METHODS):
            handler = getattr(view, method.lower(), None)
            if handler is None:
                continue
            handlers += 1
            # getsource unwraps @idempotent and extend_schema_view's copies.
            source = inspect.getsource(handler)
            reads = "request.data" in source or "request.FILES" in source
            assert reads == takes_body(view, method), (
                f"{method} {route} ({view.__qualname__}): reads the body: {reads}, "
                f"takes a body: {not reads}. Give the view an InputSerializer (nested, or "
                "`InputSerializer = ...`) exactly when it reads one."
            )

    assert handlers >= len(NO_BODY_ENDPOINTS)


@pytest.mark.django_db
def test_a_refused_body_changes_nothing_and_its_idempotency_key_stays_unspent(user):
    # given: an active quote of the caller
    quote = QuoteFactory(user=user)
    client = client_for(user)
    url = f"/api/quotes/{quote.pk}/use"

    # when: a body is sent under a key, then no body under the same key
    refused = send(client, "POST", url, b'{"force": true}', HTTP_IDEMPOTENCY_KEY="k-1")
    status_after_refusal = Quote.objects.get(pk=quote.pk).status
    used = send(client, "POST", url, b"{}", HTTP_IDEMPOTENCY_KEY="k-1")

    # then: the refusal was not stored under the key, and the use ran once
    assert refused.status_code == 400
    assert status_after_refusal == QuoteStatus.ACTIVE
    assert used.status_code == 200, used.content
    assert used.json()["status"] == "used"
    assert not used.has_header("Idempotent-Replayed")


@pytest.mark.django_db
def test_a_refusal_carries_the_cors_headers(user, settings):
    origin = "https://shop.example.com"
    settings.CORS_ALLOWED_ORIGINS = [origin]

    response = send(client_for(user), "POST", "/api/users/logout", b"[1]", HTTP_ORIGIN=origin)

    assert response.status_code == 400
    assert response["Access-Control-Allow-Origin"] == origin


wsgi_app = test_edge.wsgi_app


def test_a_chunked_body_is_refused_and_an_oversized_one_is_a_413(wsgi_app, settings):
    settings.MAX_JSON_BODY_BYTES = 2000
    chunked = {"HTTP_TRANSFER_ENCODING": "chunked", "SERVER_NAME": "127.0.0.1"}

    small = call_wsgi(wsgi_app, path="/api/users/logout", body=b"[1]", **chunked)
    large = call_wsgi(wsgi_app, path="/api/users/logout", body=b" " * 2001, **chunked)

    assert (small[0], json.loads(small[2])["error"]) == (400, "validation_error")
    assert (large[0], json.loads(large[2])["error"]) == (413, "request_too_large")
