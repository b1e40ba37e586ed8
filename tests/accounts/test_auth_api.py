"""Registration, login, logout, sessions and the bearer authentication, over HTTP."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import AuthSession, User
from accounts.services.auth import auth_session_cleanup
from accounts.tokens import token_hash
from tests.conftest import TEST_PASSWORD, client_for

STRONG_PASSWORD = "plum-vortex-Quietly-91"


def login(api_client, email, password=TEST_PASSWORD, **extra):
    return api_client.post(
        "/api/users/login", {"email": email, "password": password}, format="json", **extra
    )


@pytest.mark.django_db
def test_register_creates_a_user_with_an_argon2_hash(api_client):
    response = api_client.post(
        "/api/users/register",
        {"email": "  New.Person@Example.COM ", "password": STRONG_PASSWORD, "name": "New"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == {"id", "email", "name"}
    assert body["email"] == "new.person@example.com"
    user = User.objects.get(pk=body["id"])
    assert user.password.startswith("argon2")
    assert user.check_password(STRONG_PASSWORD)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "not-an-email", "password": STRONG_PASSWORD}, "email"),
        ({"email": "a@example.com", "password": "short"}, "password"),
        ({"email": "a@example.com", "password": "password123"}, "password"),
        ({"email": "a@example.com", "password": "12345678901"}, "password"),
        ({"email": "a@example.com"}, "password"),
    ],
)
def test_register_rejects_bad_email_and_weak_passwords(api_client, payload, field):
    response = api_client.post("/api/users/register", payload, format="json")

    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"
    assert field in response.json()["details"]


@pytest.mark.django_db
def test_register_rejects_a_taken_email_whatever_its_case(api_client, user):
    response = api_client.post(
        "/api/users/register",
        {"email": user.email.upper(), "password": STRONG_PASSWORD},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"
    assert "email" in response.json()["details"]


@pytest.mark.django_db
def test_login_returns_a_token_that_authenticates_me(api_client, user):
    # when
    response = login(api_client, user.email.upper(), HTTP_USER_AGENT="pytest-agent")

    # then: one session row, keyed by the token's hash
    assert response.status_code == 200
    body = response.json()
    assert body["user"] == {"id": str(user.pk), "email": user.email, "name": user.name}
    session = AuthSession.objects.get(user=user)
    assert session.expires_at - session.created_at == timedelta(days=7)
    assert session.user_agent == "pytest-agent"
    assert session.token_hash == token_hash(body["token"])

    # then: the token authenticates
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['token']}")
    me = api_client.get("/api/users/me")
    assert me.status_code == 200
    assert me.json() == {
        "id": str(user.pk),
        "email": user.email,
        "name": user.name,
        "is_staff": False,
    }


@pytest.mark.django_db
def test_login_expiry_follows_the_setting(api_client, user, settings):
    settings.AUTH_SESSION_TTL = timedelta(hours=1)

    body = login(api_client, user.email).json()

    session = AuthSession.objects.get(token_hash=token_hash(body["token"]))
    assert session.expires_at - session.created_at == timedelta(hours=1)


@pytest.mark.django_db
@pytest.mark.parametrize("password", ["wrong-password-123", ""])
def test_wrong_password_unknown_user_and_inactive_user_are_the_same_401(
    api_client, make_user, password
):
    active = make_user()
    inactive = make_user(is_active=False)

    for email, pw in [
        (active.email, "wrong-password-123"),
        ("nobody@example.com", TEST_PASSWORD),
        (inactive.email, TEST_PASSWORD),
    ]:
        response = login(api_client, email, pw)
        assert response.status_code == 401, email
        assert response.json()["error"] == "invalid_credentials"
    assert not AuthSession.objects.exists()


@pytest.mark.django_db
def test_tokens_are_never_stored_in_the_clear_and_have_256_bits(api_client, user):
    # when: three logins
    tokens = [login(api_client, user.email).json()["token"] for _ in range(3)]

    # then: three distinct 256-bit tokens
    assert len(set(tokens)) == 3
    for token in tokens:
        # After the 8-character display prefix: 43 base64url characters = 256 random bits,
        # none of them stored.
        session = AuthSession.objects.get(token_hash=token_hash(token))
        assert token.startswith(session.token_prefix)
        assert len(token) - len(session.token_prefix) >= 43
    # then: the table holds their hashes, never the tokens
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {AuthSession._meta.db_table}")  # noqa: S608
        dump = repr(cursor.fetchall())
    for token in tokens:
        assert token not in dump
        assert token[8:] not in dump
        assert token_hash(token) in dump


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer",
        "Bearer ",
        "Bearer not-a-real-token",
        "Basic dXNlcjpwYXNz",
        "Bearer " + "x" * 5000,
        "Bearer a b c",
    ],
)
def test_me_without_a_valid_token_is_401_invalid_token(api_client, header):
    if header is not None:
        api_client.credentials(HTTP_AUTHORIZATION=header)

    response = api_client.get("/api/users/me")

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.django_db
def test_expired_token_and_inactive_user_token_are_rejected(user, make_user):
    client = client_for(user)
    AuthSession.objects.filter(user=user).update(expires_at=timezone.now())
    assert client.get("/api/users/me").status_code == 401

    other = make_user()
    other_client = client_for(other)
    User.objects.filter(pk=other.pk).update(is_active=False)
    assert other_client.get("/api/users/me").status_code == 401


@pytest.mark.django_db
def test_last_seen_is_written_at_most_once_a_minute(auth_client, user):
    session = AuthSession.objects.get(user=user)
    long_ago = timezone.now() - timedelta(minutes=5)
    AuthSession.objects.filter(pk=session.pk).update(last_seen_at=long_ago)

    auth_client.get("/api/users/me")
    touched = AuthSession.objects.get(pk=session.pk).last_seen_at
    auth_client.get("/api/users/me")

    assert touched > long_ago
    assert AuthSession.objects.get(pk=session.pk).last_seen_at == touched


@pytest.mark.django_db
def test_logout_kills_only_this_token(user):
    first, second = client_for(user), client_for(user)

    assert first.post("/api/users/logout").status_code == 204

    assert first.get("/api/users/me").status_code == 401
    assert first.post("/api/users/logout").status_code == 401
    assert second.get("/api/users/me").status_code == 200


@pytest.mark.django_db
def test_logout_all_kills_every_token_of_the_user_only(user, make_user):
    first, second = client_for(user), client_for(user)
    stranger = client_for(make_user())

    assert first.post("/api/users/logout-all").status_code == 204

    assert first.get("/api/users/me").status_code == 401
    assert second.get("/api/users/me").status_code == 401
    assert stranger.get("/api/users/me").status_code == 200


@pytest.mark.django_db
def test_sessions_list_marks_the_current_one_and_delete_is_scoped(user, make_user):
    # given: two sessions of the user, one of a stranger
    current, other = client_for(user), client_for(user)
    stranger_session = AuthSession.objects.get(token_hash=token_hash(client_for(make_user()).token))

    # when: listing them
    body = current.get("/api/users/sessions").json()
    # then: only the user's, the current one marked
    assert len(body["results"]) == 2
    assert body["next"] is None
    mine = next(s for s in body["results"] if s["current"])
    assert set(mine) >= {"id", "created_at", "expires_at", "last_seen_at", "user_agent"}
    other_id = next(s["id"] for s in body["results"] if not s["current"])

    # when: deleting the stranger's, then the other one twice
    assert current.delete(f"/api/users/sessions/{stranger_session.pk}").status_code == 404
    # then: only the user's own one goes, once
    assert current.delete(f"/api/users/sessions/{other_id}").status_code == 204
    assert current.delete(f"/api/users/sessions/{other_id}").status_code == 404
    assert other.get("/api/users/me").status_code == 401
    assert AuthSession.objects.filter(pk=stranger_session.pk).exists()


@pytest.mark.django_db
def test_password_change_ends_all_sessions_and_returns_a_new_login(user):
    # given: two sessions of the user
    first, second = client_for(user), client_for(user)

    # when: the current password is wrong, or the new one weak
    wrong = first.post(
        "/api/users/password",
        {"current_password": "nope-nope-nope", "new_password": STRONG_PASSWORD},
        format="json",
    )
    # then: refused
    assert wrong.status_code == 401
    weak = first.post(
        "/api/users/password",
        {"current_password": TEST_PASSWORD, "new_password": "123"},
        format="json",
    )
    assert weak.status_code == 400
    # when: the change is valid
    response = first.post(
        "/api/users/password",
        {"current_password": TEST_PASSWORD, "new_password": STRONG_PASSWORD},
        format="json",
    )

    # then: both old sessions are dead, the answer is a working login
    assert response.status_code == 200
    assert first.get("/api/users/me").status_code == 401
    assert second.get("/api/users/me").status_code == 401
    fresh = client_for(user)
    fresh.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['token']}")
    assert fresh.get("/api/users/me").status_code == 200
    user.refresh_from_db()
    assert user.check_password(STRONG_PASSWORD)


@pytest.mark.django_db
def test_cleanup_deletes_expired_sessions_only(user):
    client_for(user)
    client_for(user)
    AuthSession.objects.filter(pk=AuthSession.objects.first().pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    assert auth_session_cleanup() == {"expired_sessions_deleted": 1}
    assert AuthSession.objects.count() == 1
