"""RateLimit-Policy / RateLimit (draft-ietf-httpapi-ratelimit-headers) beside X-RateLimit-*."""

import re

import pytest
from django.test import Client

from accounts.ratelimit import RateLimitResult
from accounts.ratelimit_headers import rate_limit_headers
from tests.accounts.conftest import with_rates

pytestmark = pytest.mark.django_db

MEMBER = re.compile(r'^"(?P<name>[^"]+)";(?P<a>[qr])=(?P<x>\d+);(?P<b>[wt])=(?P<y>\d+)$')


def members(value: str) -> dict[str, tuple[int, int]]:
    """{policy: (q, w)} of RateLimit-Policy or {policy: (r, t)} of RateLimit."""
    parsed = {}
    for item in value.split(", "):
        match = MEMBER.match(item)
        assert match, f"not draft syntax: {item!r}"
        parsed[match["name"]] = (int(match["x"]), int(match["y"]))
    return parsed


def test_login_shows_every_policy_and_the_tightest_in_x_ratelimit(api_client, user, settings):
    # given: 3 logins a minute per email, 100 per IP
    with_rates(settings, login_email="3/min", login_ip="100/min")
    payload = {"email": user.email, "password": "wrong-password-1"}

    # when
    first, second = (api_client.post("/api/users/login", payload, format="json") for _ in range(2))

    # then
    assert members(first["RateLimit-Policy"]) == {"login_ip": (100, 60), "login_email": (3, 60)}
    state = members(second["RateLimit"])
    assert (state["login_email"][0], state["login_ip"][0]) == (1, 98)
    assert all(1 <= seconds <= 60 for _, seconds in state.values())
    assert (second["X-RateLimit-Limit"], second["X-RateLimit-Remaining"]) == ("3", "1")
    assert second["X-RateLimit-Reset"] == str(state["login_email"][1])


def test_a_refusal_shows_zero_remaining_and_the_reset_as_retry_after(api_client, settings):
    with_rates(settings, register="1/hour")

    api_client.post("/api/users/register", {"email": "bad"}, format="json")
    refused = api_client.post("/api/users/register", {"email": "bad"}, format="json")

    assert refused.status_code == 429
    remaining, reset = members(refused["RateLimit"])["register"]
    assert remaining == 0
    assert 1 <= reset <= 3600
    assert abs(reset - int(refused["Retry-After"])) <= 1


def test_authenticated_reads_show_the_user_policy(auth_client, settings):
    with_rates(settings, user="50/min")

    response = auth_client.get("/api/shops")

    assert members(response["RateLimit-Policy"]) == {"user": (50, 60)}
    assert members(response["RateLimit"])["user"][0] == 49


def test_cross_origin_pages_may_read_the_fields(user, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://shop.example.com"]

    response = Client().get("/api/credit-schedule", HTTP_ORIGIN="https://shop.example.com")

    exposed = {h.strip().lower() for h in response["Access-Control-Expose-Headers"].split(",")}
    assert {"ratelimit", "ratelimit-policy", "x-ratelimit-reset"} <= exposed
    assert "RateLimit" in response


def test_policy_names_are_quoted_structured_field_strings():
    verdict = RateLimitResult(
        allowed=True, limit=5, remaining=4, retry_after_s=0, reset_s=9, window_s=60, policy='a"b'
    )

    headers = rate_limit_headers([verdict])

    assert headers["RateLimit-Policy"] == '"a\\"b";q=5;w=60'
    assert headers["RateLimit"] == '"a\\"b";r=4;t=9'
    assert rate_limit_headers([]) == {}
