"""GET /api/quotes: the caller's own quotes only, filtered strictly, newest first, paged."""

from datetime import timedelta
from urllib.parse import quote as urlquote

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from quotes.models import QuoteStatus
from tests.conftest import client_for

from .factories import QuoteFactory

pytestmark = pytest.mark.django_db

SESSION_A = "session-aaaaaaaaaaaa"
SESSION_B = "session-bbbbbbbbbbbb"


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def session_client(session_id: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_X_SESSION_ID=session_id)
    return client


def ago(minutes: int):
    return timezone.now() - timedelta(minutes=minutes)


def test_a_user_sees_only_their_own_quotes_newest_first(make_user):
    # given: quotes of two users and of an anonymous session
    alice, bob = make_user(), make_user()
    older = QuoteFactory(user=alice, session_id=None, created_at=ago(3))
    newer = QuoteFactory(user=alice, session_id=None, created_at=ago(1))
    bobs = QuoteFactory(user=bob, session_id=None)
    QuoteFactory(session_id=SESSION_A)

    # when
    response = client_for(alice).get("/api/quotes")

    # then
    assert ids(response) == [str(newer.id), str(older.id)]
    assert response.json()["next"] is None
    assert ids(client_for(bob).get("/api/quotes")) == [str(bobs.id)]


def test_a_session_sees_only_its_own_quotes():
    mine = QuoteFactory(session_id=SESSION_A)
    QuoteFactory(session_id=SESSION_B)
    QuoteFactory(session_id=None, user=None, created_at=ago(1))

    assert ids(session_client(SESSION_A).get("/api/quotes")) == [str(mine.id)]


def test_a_user_with_a_session_sees_both_as_the_detail_endpoint_does(user):
    # given: the detail rule is "its user, or the caller's X-Session-Id"
    by_user = QuoteFactory(user=user, session_id=None, created_at=ago(2))
    by_session = QuoteFactory(session_id=SESSION_A, created_at=ago(1))
    QuoteFactory(session_id=SESSION_B)
    client = client_for(user)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {client.token}", HTTP_X_SESSION_ID=SESSION_A)

    assert ids(client.get("/api/quotes")) == [str(by_session.id), str(by_user.id)]


def test_an_anonymous_caller_without_a_session_is_told_so(api_client):
    QuoteFactory(session_id=SESSION_A)

    response = api_client.get("/api/quotes")

    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"
    assert "X-Session-Id" in response.json()["details"]


def test_status_filter_uses_the_status_a_quote_reads_with(user):
    active = QuoteFactory(user=user, created_at=ago(1))
    lapsed = QuoteFactory(user=user, created_at=ago(30), expires_at=ago(15))  # never cleaned
    expired = QuoteFactory(user=user, status=QuoteStatus.EXPIRED, created_at=ago(40))
    used = QuoteFactory(user=user, status=QuoteStatus.USED, used_at=ago(45), created_at=ago(50))
    client = client_for(user)

    assert ids(client.get("/api/quotes?status=active")) == [str(active.id)]
    assert ids(client.get("/api/quotes?status=expired")) == [str(lapsed.id), str(expired.id)]
    assert ids(client.get("/api/quotes?status=used")) == [str(used.id)]


def test_session_and_created_filters(user):
    first = QuoteFactory(user=user, session_id=SESSION_A, created_at=ago(30))
    second = QuoteFactory(user=user, session_id=SESSION_B, created_at=ago(20))
    third = QuoteFactory(user=user, session_id=SESSION_A, created_at=ago(10))
    client = client_for(user)
    after = urlquote(second.created_at.isoformat())

    assert ids(client.get(f"/api/quotes?session_id={SESSION_A}")) == [
        str(third.id),
        str(first.id),
    ]
    # created_after is inclusive, created_before exclusive
    assert ids(client.get(f"/api/quotes?created_after={after}")) == [
        str(third.id),
        str(second.id),
    ]
    assert ids(client.get(f"/api/quotes?created_before={after}")) == [str(first.id)]
    assert ids(client.get(f"/api/quotes?created_after={after}&session_id={SESSION_A}")) == [
        str(third.id)
    ]


def test_a_session_filter_never_widens_what_the_caller_sees(user):
    QuoteFactory(session_id=SESSION_B)  # someone else's session

    assert ids(client_for(user).get(f"/api/quotes?session_id={SESSION_B}")) == []


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("status=pending", "status"),
        ("status=", "status"),
        ("created_after=yesterday", "created_after"),
        ("created_before=2026-13-01", "created_before"),
        ("session_id=bad!session!id!!!!", "session_id"),
        ("session_id=short", "session_id"),
        ("colour=red", "colour"),
        ("status=active&status=used", "status"),
        ("status=act%00ive", "status"),
        ("limit=0", "limit"),
        ("limit=ten", "limit"),
        ("cursor=not-a-cursor", "cursor"),
    ],
)
def test_a_bad_or_unknown_parameter_is_a_400_naming_it(auth_client, query, parameter):
    response = auth_client.get(f"/api/quotes?{query}")

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "validation_error"
    assert parameter in body["details"]


def test_pages_follow_next_without_gaps_or_repeats(user):
    # given: five quotes, two created in the same instant
    same = ago(5)
    quotes = [QuoteFactory(user=user, created_at=ago(10 - i)) for i in range(3)]
    quotes += [QuoteFactory(user=user, created_at=same) for _ in range(2)]
    client = client_for(user)

    # when
    seen: list[str] = []
    url = "/api/quotes?limit=2"
    pages = 0
    while url:
        page = client.get(url)
        seen += ids(page)
        url = page.json()["next"]
        pages += 1

    # then
    assert pages == 3
    assert sorted(seen) == sorted(str(q.id) for q in quotes)
    assert len(seen) == len(set(seen))


def test_post_on_the_same_path_still_creates(api_client):
    body = {
        "session_id": SESSION_A,
        "files": [{"id": "f1", "name": "a.jpg", "size_bytes": 10, "width": 100, "height": 100}],
        "ops": {"upscale": True},
    }

    created = api_client.post("/api/quotes", body, format="json")

    assert created.status_code == 201
    assert ids(session_client(SESSION_A).get("/api/quotes")) == [created.json()["id"]]
