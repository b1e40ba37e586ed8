"""DRF throttles on the database limiter: headers, 429 shape, scopes and identities."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory, force_authenticate

from accounts.models import RateLimitToken
from accounts.throttling import (
    AnonRateThrottle,
    LoginEmailThrottle,
    UploadThrottle,
    UserRateThrottle,
    client_ip,
    parse_rate,
)
from tests.accounts.conftest import with_rates
from tests.concurrency import fire_concurrently
from tests.conftest import TEST_PASSWORD


def drf_request(user=None, **meta) -> Request:
    django_request = APIRequestFactory().post("/x", {}, format="json", **meta)
    if user is not None:
        force_authenticate(django_request, user=user)
        request = Request(django_request)
        request.user = user
        return request
    return Request(django_request)


@pytest.mark.parametrize(
    ("rate", "parsed"),
    [("10/min", (10, 60)), ("60/hour", (60, 3600)), ("5/10s", (5, 10)), ("1/day", (1, 86400))],
)
def test_parse_rate(rate, parsed):
    assert parse_rate(rate) == parsed


@pytest.mark.parametrize("rate", ["", "ten/min", "10/fortnight", "10"])
def test_bad_rates_are_configuration_errors(rate):
    with pytest.raises(ImproperlyConfigured):
        parse_rate(rate)


@pytest.mark.django_db
def test_login_carries_ratelimit_headers_and_429_has_retry_after(api_client, user, settings):
    with_rates(settings, login_email="3/min", login_ip="100/min")
    payload = {"email": user.email, "password": "wrong-password-1"}

    responses = [api_client.post("/api/users/login", payload, format="json") for _ in range(4)]

    assert [r.status_code for r in responses] == [401, 401, 401, 429]
    assert [r["X-RateLimit-Limit"] for r in responses] == ["3"] * 4
    assert [r["X-RateLimit-Remaining"] for r in responses] == ["2", "1", "0", "0"]
    refused = responses[-1]
    assert refused.json()["error"] == "rate_limited"
    assert 1 <= int(refused["Retry-After"]) <= 60
    # Even the right password is refused while the window lasts.
    ok = {"email": user.email, "password": TEST_PASSWORD}
    assert api_client.post("/api/users/login", ok, format="json").status_code == 429


@pytest.mark.django_db
def test_login_email_limit_counts_the_normalized_email_from_any_ip(user, settings):
    with_rates(settings, login_email="2/min", login_ip="100/min")
    variants = [user.email, user.email.upper(), f"  {user.email} "]

    statuses = [
        APIClient(REMOTE_ADDR=f"10.0.0.{i}")
        .post("/api/users/login", {"email": email, "password": "bad-pass-1"}, format="json")
        .status_code
        for i, email in enumerate(variants)
    ]

    assert statuses == [401, 401, 429]
    assert RateLimitToken.objects.filter(key=f"login_email:email:{user.email}").exists()


@pytest.mark.django_db
def test_login_ip_limit_counts_every_email_from_one_ip(api_client, settings):
    with_rates(settings, login_ip="2/min", login_email="100/min")

    statuses = [
        api_client.post(
            "/api/users/login", {"email": f"u{i}@example.com", "password": "x"}, format="json"
        ).status_code
        for i in range(3)
    ]

    assert statuses == [401, 401, 429]


@pytest.mark.django_db
def test_register_is_limited_per_ip(api_client, settings):
    with_rates(settings, register="1/hour")

    first = api_client.post("/api/users/register", {"email": "bad"}, format="json")
    second = api_client.post("/api/users/register", {"email": "bad"}, format="json")

    assert first.status_code == 400
    assert first["X-RateLimit-Remaining"] == "0"
    assert second.status_code == 429


@pytest.mark.django_db
def test_upload_throttle_counts_per_user_and_per_ip_for_anonymous(make_user, settings):
    with_rates(settings, uploads="2/hour")
    alice, bob = make_user(), make_user()

    def allowed(request):
        return UploadThrottle().allow_request(request, None)

    assert [allowed(drf_request(alice)) for _ in range(3)] == [True, True, False]
    assert allowed(drf_request(bob))
    assert [allowed(drf_request(REMOTE_ADDR="10.1.1.1")) for _ in range(3)] == [True, True, False]
    assert allowed(drf_request(REMOTE_ADDR="10.1.1.2"))
    assert RateLimitToken.objects.filter(key=f"uploads:user:{alice.pk}").get().count == 3


@pytest.mark.django_db
def test_user_and_anon_throttles_apply_only_to_their_kind(user):
    anon, authed = drf_request(), drf_request(user)

    assert UserRateThrottle().get_identity(anon, None) is None
    assert UserRateThrottle().get_identity(authed, None) == f"user:{user.pk}"
    assert AnonRateThrottle().get_identity(authed, None) is None
    assert AnonRateThrottle().get_identity(anon, None) == "ip:127.0.0.1"


@pytest.mark.django_db
def test_absurd_emails_still_fit_the_key_column(settings):
    with_rates(settings, login_email="5/min")
    request = drf_request()
    request._full_data = {"email": "a" * 5000 + "@example.com"}

    assert LoginEmailThrottle().allow_request(request, None)
    assert len(RateLimitToken.objects.get().key) < 100


def test_forwarded_for_is_ignored_unless_proxies_are_trusted(settings):
    factory = APIRequestFactory()
    request = factory.get("/", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR="6.6.6.6, 1.2.3.4")

    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request) == "10.0.0.9"
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request) == "1.2.3.4"
    settings.TRUSTED_PROXY_COUNT = 5
    assert client_ip(request) == "6.6.6.6"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_100_concurrent_logins_from_4_processes_admit_exactly_10(
    make_user, settings, small_db_pools
):
    # given: 10 logins a minute per email
    with_rates(settings, login_email="10/min", login_ip="1000/min")
    user = make_user()
    payload = {"email": user.email, "password": "wrong-password-1"}

    def attempt(_):
        response = APIClient().post("/api/users/login", payload, format="json")
        return response.status_code, response["X-RateLimit-Remaining"]

    # when: 100 wrong logins for that email at once
    outcomes = fire_concurrently(attempt, 100, processes=4)

    # then: exactly 10 reach the password check, each sees its own remaining count
    assert not [o for o in outcomes if isinstance(o, str)], outcomes
    statuses = [status for status, _ in outcomes]
    assert statuses.count(401) == 10
    assert statuses.count(429) == 90
    admitted_remaining = sorted(int(r) for status, r in outcomes if status == 401)
    assert admitted_remaining == list(range(10))
    assert RateLimitToken.objects.get(key=f"login_email:email:{user.email}").count == 100
