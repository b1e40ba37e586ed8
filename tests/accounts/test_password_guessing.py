"""What guesses passwords is limited: the admin login form and POST /api/users/password,
per IP and per account, on the same database limiter, before any password is hashed."""

import pytest
from django.contrib.auth.signals import user_login_failed
from django.test import Client
from rest_framework.test import APIClient, APIRequestFactory

from accounts.models import RateLimitToken
from accounts.throttling import client_ip, parse_ip
from tests.accounts.conftest import with_rates
from tests.concurrency import fire_concurrently
from tests.conftest import TEST_PASSWORD, client_for

ADMIN_LOGIN = "/admin/login/"


def admin_login(client: Client, email: str, password: str):
    return client.post(ADMIN_LOGIN, {"username": email, "password": password, "next": "/admin/"})


@pytest.fixture
def failed_logins():
    """Django sends user_login_failed after each authenticate() that checked a password."""
    failures: list[str] = []

    def count(sender, credentials, **kwargs):
        failures.append(credentials.get("username", ""))

    user_login_failed.connect(count)
    yield failures
    user_login_failed.disconnect(count)


# --- the admin login form -------------------------------------------------------------------


@pytest.mark.django_db
def test_30_wrong_admin_passwords_in_a_row_only_the_first_n_are_checked(
    make_user, settings, failed_logins
):
    # given: a staff account and a per-account limit of 5
    with_rates(settings, admin_login_email="5/min", admin_login_ip="100/min")
    staff = make_user(is_staff=True)
    browser = Client()

    # when: 30 wrong passwords in a row
    responses = [admin_login(browser, staff.email, f"guess-{i}") for i in range(30)]

    # then: 5 were checked (hashed), 25 refused with 429 before any hash
    statuses = [r.status_code for r in responses]
    assert statuses == [200] * 5 + [429] * 25
    assert len(failed_logins) == 5
    refused = responses[-1]
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert b"Too many login attempts" in refused.content
    assert RateLimitToken.objects.get(key=f"admin_login_email:email:{staff.email}").count == 30


@pytest.mark.django_db
def test_the_right_admin_password_is_refused_too_while_the_window_lasts(make_user, settings):
    with_rates(settings, admin_login_email="2/min", admin_login_ip="100/min")
    staff = make_user(is_staff=True)
    browser = Client()
    for _ in range(2):
        admin_login(browser, staff.email, "wrong-password")

    response = admin_login(browser, staff.email.upper(), TEST_PASSWORD)

    assert response.status_code == 429
    assert "_auth_user_id" not in browser.session


@pytest.mark.django_db
def test_the_admin_login_is_limited_per_ip_across_accounts(make_user, settings, failed_logins):
    with_rates(settings, admin_login_email="100/min", admin_login_ip="3/min")
    browser = Client(REMOTE_ADDR="10.1.2.3")

    statuses = [
        admin_login(browser, f"nobody{i}@example.com", "guess").status_code for i in range(5)
    ]

    assert statuses == [200, 200, 200, 429, 429]
    assert len(failed_logins) == 3


@pytest.mark.django_db
def test_a_right_admin_password_within_the_limit_logs_in(make_user, settings):
    with_rates(settings, admin_login_email="2/min", admin_login_ip="100/min")
    staff = make_user(is_staff=True)
    browser = Client()

    response = admin_login(browser, staff.email, TEST_PASSWORD)

    assert response.status_code == 302
    assert browser.get("/admin/").status_code == 200


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_60_concurrent_admin_logins_from_4_processes_admit_exactly_5(
    make_user, settings, small_db_pools
):
    # given
    with_rates(settings, admin_login_email="5/min", admin_login_ip="1000/min")
    staff = make_user(is_staff=True)

    def attempt(i):
        return admin_login(Client(), staff.email, f"guess-{i}").status_code

    # when
    outcomes = fire_concurrently(attempt, 60, processes=4)

    # then
    assert not [o for o in outcomes if isinstance(o, str)], outcomes
    assert outcomes.count(200) == 5
    assert outcomes.count(429) == 55
    assert RateLimitToken.objects.get(key=f"admin_login_email:email:{staff.email}").count == 60


# --- POST /api/users/password ---------------------------------------------------------------


def change(client, current: str):
    body = {"current_password": current, "new_password": "another-Secret-99"}
    return client.post("/api/users/password", body, format="json")


@pytest.mark.django_db
def test_password_changes_are_limited_per_user(user, settings, failed_logins):
    with_rates(settings, password_change="3/hour", password_change_ip="100/hour")
    api = client_for(user)

    statuses = [change(api, f"guess-{i}").status_code for i in range(6)]

    assert statuses == [401, 401, 401, 429, 429, 429]
    assert RateLimitToken.objects.get(key=f"password_change:user:{user.pk}").count == 6


@pytest.mark.django_db
def test_password_changes_are_limited_per_ip_across_users(make_user, settings):
    with_rates(settings, password_change="100/hour", password_change_ip="2/hour")
    clients = [client_for(make_user()) for _ in range(3)]

    statuses = [change(api, "guess").status_code for api in clients]

    assert statuses == [401, 401, 429]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_40_concurrent_password_guesses_from_4_processes_admit_exactly_4(
    user, settings, small_db_pools
):
    with_rates(settings, password_change="4/hour", password_change_ip="1000/hour")
    token = client_for(user).token

    def attempt(i):
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return change(api, f"guess-{i}").status_code

    outcomes = fire_concurrently(attempt, 40, processes=4)

    assert not [o for o in outcomes if isinstance(o, str)], outcomes
    assert outcomes.count(401) == 4
    assert outcomes.count(429) == 36


# --- the client IP behind proxies -----------------------------------------------------------


@pytest.mark.parametrize(
    ("hop", "ip"),
    [
        ("1.2.3.4", "1.2.3.4"),
        ("1.2.3.4:5678", "1.2.3.4"),
        ("2001:db8::1", "2001:db8::1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("2001:DB8:0::1", "2001:db8::1"),
        ("fe80::1%eth0", "fe80::1"),
        (" 10.0.0.1 ", "10.0.0.1"),
        ("unknown", None),
        ("", None),
        ("[", None),
        ("1.2.3.4:5:6", None),
        ("999.1.1.1", None),
        ("_hidden", None),
    ],
)
def test_forwarded_hops_parse_to_an_address_or_nothing(hop, ip):
    assert parse_ip(hop) == ip


@pytest.mark.parametrize(
    "forwarded", ["unknown", "garbage!", "", " , ", "[2001:db8::1", "1.2.3.4, nonsense"]
)
def test_junk_forwarded_hops_fall_back_to_the_socket_address(settings, forwarded):
    settings.TRUSTED_PROXY_COUNT = 1
    request = APIRequestFactory().get("/", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR=forwarded)

    assert client_ip(request) == "10.0.0.9"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "forwarded",
    ["1.2.3.4:5678", "[2001:db8::1]", "[2001:db8::1]:443", "unknown", "garbage", "", "fe80::1%en0"],
)
def test_login_behind_a_proxy_stores_an_address_whatever_the_hop(user, settings, forwarded):
    # The session's ip_address is an inet column on PostgreSQL: "unknown" used to be a 500.
    settings.TRUSTED_PROXY_COUNT = 1
    client = APIClient(REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR=forwarded)

    response = client.post(
        "/api/users/login", {"email": user.email, "password": TEST_PASSWORD}, format="json"
    )

    assert response.status_code == 200, response.content
    assert user.auth_sessions.get().ip_address in {"1.2.3.4", "2001:db8::1", "10.0.0.9", "fe80::1"}


@pytest.mark.django_db
def test_a_socket_address_that_is_no_ip_stores_none(user):
    client = APIClient(REMOTE_ADDR="unix-socket")

    response = client.post(
        "/api/users/login", {"email": user.email, "password": TEST_PASSWORD}, format="json"
    )

    assert response.status_code == 200
    assert user.auth_sessions.get().ip_address is None
