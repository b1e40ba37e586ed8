"""config.parsers.JSONParser: what DRF's parser lets through is a 400 naming the field."""

import json

import pytest
from rest_framework.exceptions import ParseError
from rest_framework.parsers import MultiPartParser

from accounts.models import RateLimitToken
from config.parsers import (
    MAX_JSON_DEPTH,
    MAX_JSON_INT,
    InvalidJson,
    JSONParser,
    parse_json_bytes,
)
from tests.hostile import api_views


def details(exc: InvalidJson) -> dict:
    return {key: [str(m) for m in messages] for key, messages in exc.detail.items()}


@pytest.mark.parametrize(
    "text",
    ["[" * 10_000 + "]" * 10_000, '{"a":' * 10_000 + "1" + "}" * 10_000],
)
def test_nesting_deeper_than_the_recursion_limit_is_invalid_not_a_recursion_error(text):
    with pytest.raises(InvalidJson) as refused:
        parse_json_bytes(text.encode())

    assert list(details(refused.value)) == ["body"]


def test_nesting_just_past_the_limit_is_refused_and_at_it_accepted():
    at_limit = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH

    assert parse_json_bytes(at_limit.encode()) == json.loads(at_limit)
    with pytest.raises(InvalidJson):
        parse_json_bytes(("[" + at_limit + "]").encode())


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ('{"email": "a\\ud800@x.com"}', "email"),
        ('{"files": [{"id": "1"}, {"name": "\\udfff"}]}', "files[1].name"),
        ('{"ops": {"\\ud800key": true}}', "ops.\\ud800key"),
        ('["\\udc00"]', "[0]"),
        ('"\\ud800"', "body"),
    ],
)
def test_lone_surrogates_anywhere_are_refused_naming_the_path(text, path):
    with pytest.raises(InvalidJson) as refused:
        parse_json_bytes(text.encode())

    assert list(details(refused.value)) == [path]
    assert "surrogate" in details(refused.value)[path][0]


def test_a_surrogate_pair_is_a_character_not_a_lone_surrogate():
    assert parse_json_bytes(b'{"name": "\\ud83d\\ude00"}') == {"name": "\U0001f600"}


@pytest.mark.parametrize(
    ("text", "path"),
    [('{"line1": "a\\u0000b"}', "line1"), ('{"a\\u0000": 1}', "a\\u0000"), ('["\\u0000"]', "[0]")],
)
def test_nul_characters_are_refused_by_the_parser_whatever_the_database(text, path):
    with pytest.raises(InvalidJson) as refused:
        parse_json_bytes(text.encode())

    assert list(details(refused.value)) == [path]


@pytest.mark.parametrize("number", [MAX_JSON_INT + 1, -MAX_JSON_INT - 2, 2**64, 10**30])
def test_integers_no_bigint_holds_are_refused(number):
    with pytest.raises(InvalidJson) as refused:
        parse_json_bytes(json.dumps({"quantity": number}).encode())

    assert list(details(refused.value)) == ["quantity"]


def test_integers_a_bigint_holds_are_accepted():
    assert parse_json_bytes(json.dumps([MAX_JSON_INT, -MAX_JSON_INT - 1]).encode()) == [
        MAX_JSON_INT,
        -MAX_JSON_INT - 1,
    ]


@pytest.mark.parametrize(
    "text", ["1e400", "-1e400", "NaN", "Infinity", "-Infinity", "9" * 5000, "{", '{"a": 1}x']
)
def test_non_finite_numbers_huge_literals_and_malformed_json_are_parse_errors(text):
    with pytest.raises(ParseError):
        parse_json_bytes(text.encode())


@pytest.mark.parametrize(
    "raw",
    [b"\xff\xfe{}", b'{"a": "\xed\xa0\x80"}', b"\xef\xbb\xbf{}", '{"a": "é"}'.encode("latin-1")],
)
def test_bytes_that_are_not_utf8_json_are_parse_errors(raw):
    with pytest.raises(ParseError):
        parse_json_bytes(raw)


# --- through the API ------------------------------------------------------------------------


def post_raw(client, path: str, text: str):
    return client.generic("POST", path, text.encode(), content_type="application/json")


@pytest.mark.django_db
def test_deep_json_on_an_endpoint_is_a_400_validation_error(auth_client):
    response = post_raw(auth_client, "/api/quotes", "[" * 10_000 + "]" * 10_000)

    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"
    assert response.json()["details"] == {"body": [f"Nested deeper than {MAX_JSON_DEPTH} levels."]}


@pytest.mark.django_db
def test_a_lone_surrogate_in_the_login_email_is_refused_before_the_throttle_hashes_it(api_client):
    # given: the email the per-account throttle would hash before validation
    body = '{"email": "\\ud800@example.com", "password": "whatever-123"}'

    # when
    response = post_raw(api_client, "/api/users/login", body)

    # then: a 400 naming the field, and no counter was written for it
    assert response.status_code == 400, response.content
    assert list(response.json()["details"]) == ["email"]
    assert not RateLimitToken.objects.filter(key__startswith="login_email:").exists()


@pytest.mark.django_db
def test_nul_in_a_text_field_is_the_same_400_on_every_database(auth_client):
    body = '{"line1": "1 A\\u0000 St", "city": "Oslo", "postal_code": "0150", "country": "NO"}'

    response = post_raw(auth_client, "/api/addresses", body)

    assert response.status_code == 400
    assert response.json()["details"] == {
        "line1": ["The value contains a NUL character (\\u0000)."]
    }


def test_every_api_view_parses_with_the_strict_parser_or_multipart():
    views = list(api_views())
    loose = [
        (route, parser.__name__)
        for route, view in views
        for parser in view.parser_classes
        if not issubclass(parser, JSONParser | MultiPartParser)
    ]

    assert len(views) > 30
    assert loose == []
