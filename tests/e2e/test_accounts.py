"""Accounts across real instances: tokens and rate-limit counts are shared and survive kill -9."""

import requests

from accounts.models import RateLimitToken, User
from tests.conftest import TEST_PASSWORD

TIMEOUT_S = 10
VICTIM = "victim@example.com"


def login(server, email, password=TEST_PASSWORD) -> requests.Response:
    return requests.post(
        f"{server.url}/api/users/login",
        json={"email": email, "password": password},
        timeout=TIMEOUT_S,
    )


def me(server, token) -> requests.Response:
    return requests.get(
        f"{server.url}/api/users/me",
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT_S,
    )


def test_tokens_and_rate_limits_are_shared_by_instances_and_survive_kill9(cluster):
    # given: two instances sharing one login limit per email
    user = User.objects.create_user(email="e2e@example.com", password=TEST_PASSWORD)
    # An hour-long window, so nothing resets while the test runs.
    rates = {"RATE_LOGIN_EMAIL": "5/hour", "RATE_LOGIN_IP": "1000/hour"}
    a, b = cluster.add_server(**rates), cluster.add_server(**rates)
    cluster.wait_ready()

    # when: login on A; then: B knows the token
    first = login(a, user.email)
    assert first.status_code == 200, first.text
    token = first.json()["token"]
    assert me(b, token).json()["email"] == user.email

    # when: logout on B; then: A rejects that token on the very next request
    second = login(a, user.email).json()["token"]
    assert me(a, second).status_code == 200
    logout = requests.post(
        f"{b.url}/api/users/logout",
        headers={"Authorization": f"Bearer {second}"},
        timeout=TIMEOUT_S,
    )
    assert logout.status_code == 204
    rejected = me(a, second)
    assert rejected.status_code == 401
    assert rejected.json()["error"] == "invalid_token"

    # when: failed logins for one email on both instances; then: one shared count
    remaining = [
        login(server, VICTIM, "wrong-password-1").headers["X-RateLimit-Remaining"]
        for server in (a, b, a)
    ]
    assert remaining == ["4", "3", "2"]
    assert RateLimitToken.objects.get(key=f"login_email:email:{VICTIM}").count == 3

    # when: both instances are killed -9 and restarted
    cluster.restart(a, kill=True)
    cluster.restart(b, kill=True)

    # then: the token still works on both, the dead one stays dead, the count went on from 3
    assert me(a, token).status_code == 200
    assert me(b, token).status_code == 200
    assert me(b, second).status_code == 401
    assert RateLimitToken.objects.get(key=f"login_email:email:{VICTIM}").count == 3
    after = [login(server, VICTIM, "wrong-password-1") for server in (b, a, b)]
    assert [r.status_code for r in after] == [401, 401, 429]
    assert [r.headers["X-RateLimit-Remaining"] for r in after] == ["1", "0", "0"]
    assert int(after[-1].headers["Retry-After"]) > 0
    assert after[-1].json()["error"] == "rate_limited"
