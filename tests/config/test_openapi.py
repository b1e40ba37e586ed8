"""The OpenAPI document as a product: every operation's errors, examples, summaries, tags
and security are there, names are readable, and the docs pages load nothing from elsewhere."""

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator
from rest_framework.views import APIView

from config.api_docs import DOCS_CSP
from config.errors import ERROR_CODES
from config.openapi import ERROR_CODES_ATTR, handler_owner
from orders.api import OrderDetailApi
from quotes.api import QuoteGetApi, QuoteUseApi
from tests.conftest import undeclared_errors

METHODS = ("get", "post", "put", "patch", "delete")
JSON = "application/json"


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield f"{method.upper()} {path}", operation


def _api_views():
    def walk(resolver):
        for pattern in resolver.url_patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern)
            elif isinstance(pattern, URLPattern):
                view = getattr(pattern.callback, "cls", None)
                if isinstance(view, type) and issubclass(view, APIView):
                    yield view

    # The schema and docs pages are no operations of the API.
    docs = ("drf_spectacular", "config.api_docs")
    return {view for view in walk(get_resolver()) if not view.__module__.startswith(docs)}


def test_every_api_view_declares_its_error_codes_and_each_is_in_the_table():
    missing, unknown = [], []
    for view in _api_views():
        for method in METHODS:
            if not hasattr(view, method):
                continue
            owner = handler_owner(view, method)
            if ERROR_CODES_ATTR not in vars(owner):
                missing.append(f"{owner.__module__}.{owner.__qualname__}")
            unknown += [
                code for code in getattr(owner, ERROR_CODES_ATTR, ()) if code not in ERROR_CODES
            ]
    assert sorted(set(missing)) == []
    assert sorted(set(unknown)) == []


def test_operations_without_documented_errors_summary_or_tag_none(schema):
    problems = []
    for name, operation in _operations(schema):
        errors = [status for status in operation["responses"] if status >= "400"]
        if not errors:
            problems.append(f"{name}: no error response")
        if not operation.get("summary"):
            problems.append(f"{name}: no summary")
        if not operation.get("tags"):
            problems.append(f"{name}: no tag")
    assert problems == []


def test_operations_without_examples_none(schema):
    """Every JSON request body and JSON success answer shows an example."""
    problems = []
    for name, operation in _operations(schema):
        bodies = [("request", operation.get("requestBody", {}).get("content", {}))]
        bodies += [
            (status, response.get("content", {}))
            for status, response in operation["responses"].items()
        ]
        for where, content in bodies:
            media = content.get(JSON)
            if media is not None and not (media.get("examples") or media.get("example")):
                problems.append(f"{name} {where}")
    assert problems == []


def test_error_answers_share_the_error_component_and_list_their_codes(schema):
    for name, operation in _operations(schema):
        for status, response in operation["responses"].items():
            if status < "400":
                continue
            media = response["content"][JSON]
            assert media["schema"] == {"$ref": "#/components/schemas/Error"}, name
            codes = set(media["examples"])
            assert codes, name
            assert all(ERROR_CODES[code].status == int(status) for code in codes), name
            assert all(f"`{code}`" in response["description"] for code in codes), name
            if any(ERROR_CODES[code].retry_after for code in codes):
                assert "Retry-After" in response["headers"], name
    error = schema["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"error", "message"}
    assert "details" in error["properties"]


def test_an_operation_documents_its_own_codes_and_those_it_gets_from_what_it_is(schema):
    use = schema["paths"]["/api/quotes/{quote_id}/use"]["post"]["responses"]
    assert set(use["409"]["content"][JSON]["examples"]) == {
        "quote_used",
        "quote_conflict",
        "idempotency_key_in_use",
    }
    assert set(use["410"]["content"][JSON]["examples"]) == {"quote_expired"}
    assert "Retry-After" in use["429"]["headers"]
    assert "Retry-After" in use["503"]["headers"]
    assert "details" in use["400"]["content"][JSON]["examples"]["validation_error"]["value"]
    login = schema["paths"]["/api/users/login"]["post"]["responses"]
    assert set(login["401"]["content"][JSON]["examples"]) == {"invalid_credentials"}
    assert "invalid_token" not in str(login)  # it takes no token


def test_component_names_are_readable(schema):
    names = list(schema["components"]["schemas"])
    assert [name for name in names if "Serializer" in name] == []
    assert {"OrderPlaceLineRequest", "RenderCreatePlacementRequest", "Error"} <= set(names)
    assert not {"Input", "Output", "InputRequest"} & set(names)


def test_security_schemes_bearer_and_session_id(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "Token from /api/users/login",
    }
    assert schemes["sessionId"]["type"] == "apiKey"
    assert schemes["sessionId"]["in"] == "header"
    assert schemes["sessionId"]["name"] == "X-Session-Id"
    assert schema["paths"]["/api/quotes"]["post"]["security"] == [
        {"bearerAuth": []},
        {"sessionId": []},
        {},
    ]
    assert {"sessionId": []} in schema["paths"]["/api/quote-runs"]["post"]["security"]
    assert schema["paths"]["/api/orders"]["post"]["security"] == [{"bearerAuth": []}]
    assert "security" not in schema["paths"]["/api/users/login"]["post"]


def test_idempotency_key_is_on_every_post(schema):
    """API.md: every POST that creates or changes something accepts Idempotency-Key."""
    posts = [op for name, op in _operations(schema) if name.startswith("POST ")]
    without = [
        op["operationId"]
        for op in posts
        if "Idempotency-Key" not in {p["name"] for p in op.get("parameters", [])}
    ]
    assert without == []


def test_the_stream_and_signed_storage_are_documented(schema):
    stream = schema["paths"]["/api/quote-runs/{run_id}/stream"]["get"]
    assert "text/event-stream" in stream["responses"]["200"]["content"]
    assert "204" in stream["responses"]
    assert "Last-Event-ID" in {parameter["name"] for parameter in stream["parameters"]}
    for event in ("run.started", "provider.quote", "run.completed", "run.failed", "retry:"):
        assert event in stream["description"]
    storage = schema["paths"]["/api/storage/{key}"]
    assert set(storage) == {"get", "put"}
    assert "403" in storage["get"]["responses"]
    assert "409" in storage["put"]["responses"]


def test_the_undocumented_error_check_catches_what_the_schema_does_not_list():
    assert undeclared_errors([(QuoteGetApi, "GET", "not_found", 404)]) == []
    assert undeclared_errors([(QuoteUseApi, "POST", "idempotency_key_in_use", 409)]) == []
    assert undeclared_errors([(QuoteGetApi, "GET", "method_not_allowed", 405)]) == []
    assert len(undeclared_errors([(QuoteGetApi, "GET", "quote_used", 409)])) == 1
    assert len(undeclared_errors([(OrderDetailApi, "GET", "not_found", 410)])) == 1
    assert len(undeclared_errors([(OrderDetailApi, "GET", "internal_error", 500)])) == 1


class _Assets(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in {"src", "href"} and value:
                self.urls.append(value)


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_load_nothing_from_another_host(client, page):
    response = client.get(page)
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == DOCS_CSP
    html = response.content.decode()
    foreign = [
        url
        for url in re.findall(r"""https?://[^\s"'<>)]+""", html)
        if urlsplit(url).hostname not in {"testserver", "localhost", "127.0.0.1"}
    ]
    assert foreign == []
    assert "fonts.googleapis" not in html
    parser = _Assets()
    parser.feed(html)
    assets = [url for url in parser.urls if "/static/" in url]
    assert assets, html
    for url in assets:
        asset = client.get(url)
        assert asset.status_code == 200, url
        body = b"".join(asset.streaming_content) if asset.streaming else asset.content
        assert body, url
        if url.endswith(".css"):
            assert not re.search(rb"@import|url\(\s*['\"]?(https?:)?//", body), url


def test_the_schema_generates_without_warnings_and_validates(tmp_path):
    from django.core.management import call_command

    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml")
    )


@pytest.mark.django_db
def test_every_error_answer_of_a_test_is_recorded_and_checked(api_client, monkeypatch):
    """The conftest hook sees real answers: with not_found taken off its view's codes, a 404
    is reported (then forgotten, so that this test itself passes)."""
    from tests import conftest

    monkeypatch.setattr(QuoteGetApi, "error_codes", ("validation_error",))
    response = api_client.get("/api/quotes/00000000-0000-0000-0000-000000000001")
    assert response.status_code == 404
    problems = undeclared_errors(conftest._error_answers)
    conftest._error_answers.clear()
    assert problems == [
        "GET quotes.api.QuoteGetApi answered 'not_found', missing from its error_codes"
    ]


def test_every_example_names_a_component(schema):
    """A renamed serializer leaves no stale example behind (config.openapi_examples)."""
    from config.openapi_examples import EXAMPLES

    names = {name.removesuffix("Request") for name in schema["components"]["schemas"]}
    assert sorted(set(EXAMPLES) - names) == []
