"""Share links: signed, revocable, read-only, anonymous; every refusal the same 404."""

from datetime import timedelta

import pytest
from django.core import signing
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from quotes.models import QuoteShare
from quotes.services import quote_cleanup
from quotes.shares import SHARE_TOKEN_SALT
from tests.concurrency import fire_concurrently
from tests.conftest import client_for
from tests.quotes.factories import QuoteFactory
from tests.quotes.test_api import (
    OTHER_SESSION,
    SESSION,
    expire_in_the_past,
    job,
    session_client,
)

NOT_FOUND = {"error": "not_found", "message": "Not found."}


@pytest.fixture
def owner():
    return session_client()


@pytest.fixture
def quote(owner):
    response = owner.post("/api/quotes", job(), format="json")
    assert response.status_code == 201
    return response.json()


def share(client, quote_id):
    return client.post(f"/api/quotes/{quote_id}/share")


def read(token, client=None):
    return (client or APIClient()).get(f"/api/shared-quotes/{token}")


@pytest.mark.django_db
def test_owner_shares_and_anyone_reads_the_quote(owner, quote):
    # when
    response = share(owner, quote["id"])

    # then: a link that opens the quote for a caller with no credentials at all
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"token", "share_url", "expires_at"}
    assert body["expires_at"] == quote["expires_at"]
    assert body["share_url"] == f"http://testserver/api/shared-quotes/{body['token']}"
    shared = read(body["token"])
    assert shared.status_code == 200
    assert shared["Cache-Control"] == "private, no-store"
    expected = {k: v for k, v in quote.items() if k not in {"session_id", "user_id"}}
    assert shared.json() == expected


@pytest.mark.django_db
def test_the_shared_view_never_reveals_the_owners_session(owner, quote):
    token = share(owner, quote["id"]).json()["token"]

    body = read(token).json()

    assert "session_id" not in body
    assert "user_id" not in body
    assert SESSION not in str(body)


@pytest.mark.django_db
def test_credentials_are_ignored_by_the_shared_read(owner, quote):
    token = share(owner, quote["id"]).json()["token"]
    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION="Bearer not-a-real-token", HTTP_X_SESSION_ID="bad")

    assert read(token, stranger).status_code == 200


@pytest.mark.django_db
def test_a_user_owned_quote_is_shared_by_its_user(user):
    client = client_for(user)
    created = client.post("/api/quotes", job(session_id=None), format="json").json()

    token = share(client, created["id"]).json()["token"]

    assert read(token).json()["id"] == created["id"]


@pytest.mark.django_db
def test_only_the_owner_can_share_or_revoke(quote, user):
    for stranger in (session_client(OTHER_SESSION), APIClient(), client_for(user)):
        assert share(stranger, quote["id"]).status_code == 404
        assert stranger.delete(f"/api/quotes/{quote['id']}/share").status_code == 404
    assert not QuoteShare.objects.exists()


@pytest.mark.django_db
def test_a_second_share_returns_the_same_active_link(owner, quote):
    first = share(owner, quote["id"]).json()

    second = share(owner, quote["id"])

    assert second.status_code == 201
    assert second.json() == first
    assert QuoteShare.objects.count() == 1


@pytest.mark.django_db
def test_revoke_then_404_and_a_new_share_is_a_new_link(owner, quote):
    # given
    old = share(owner, quote["id"]).json()["token"]

    # when
    revoked = owner.delete(f"/api/quotes/{quote['id']}/share")

    # then: the old link is dead, revoking again is fine, sharing again makes a new link
    assert revoked.status_code == 204
    assert (read(old).status_code, read(old).json()) == (404, NOT_FOUND)
    assert owner.delete(f"/api/quotes/{quote['id']}/share").status_code == 204
    new = share(owner, quote["id"]).json()["token"]
    assert new != old
    assert read(new).status_code == 200
    assert read(old).status_code == 404


@pytest.mark.django_db
def test_the_link_dies_when_the_quote_expires(owner, quote):
    token = share(owner, quote["id"]).json()["token"]

    expire_in_the_past(quote["id"])

    assert (read(token).status_code, read(token).json()) == (404, NOT_FOUND)


@pytest.mark.django_db
def test_the_link_dies_when_the_owner_expires_the_quote_early(owner, quote):
    token = share(owner, quote["id"]).json()["token"]

    owner.post(f"/api/quotes/{quote['id']}/expire")

    assert read(token).status_code == 404


@pytest.mark.django_db
def test_a_used_quote_still_reads_as_used(owner, quote):
    token = share(owner, quote["id"]).json()["token"]

    owner.post(f"/api/quotes/{quote['id']}/use")

    assert read(token).json()["status"] == "used"


@pytest.mark.django_db
def test_an_expired_quote_cannot_be_shared(owner, quote):
    expire_in_the_past(quote["id"])

    response = share(owner, quote["id"])

    assert (response.status_code, response.json()["error"]) == (410, "quote_expired")


def sign(value, *, salt=SHARE_TOKEN_SALT, key=None) -> str:
    return signing.Signer(salt=salt, key=key).sign_object(value)


def forged_tokens(genuine: str, share_id: str) -> tuple[list[str], str]:
    """Tokens that must be refused before any query, and one genuinely signed for a share
    that does not exist (refused by the query)."""
    exp = int((timezone.now() + timedelta(hours=1)).timestamp())
    payload, _, signature = genuine.rpartition(":")
    forged = [
        "x",
        "a" * 300,  # over the length limit
        genuine[:-1] + ("A" if genuine[-1] != "A" else "B"),  # signature changed
        f"{payload}:{signature[::-1]}",
        sign({"s": share_id, "exp": exp}, salt="another.salt"),
        sign({"s": share_id, "exp": exp}, key="k" * 50),  # another SECRET_KEY
        signing.dumps({"s": share_id, "exp": exp}),  # no salt
        signing.dumps({"s": share_id, "exp": exp}, salt=SHARE_TOKEN_SALT),  # timestamped
        sign([share_id]),
        sign({"s": "not-hex", "exp": exp}),
        sign({"s": share_id, "exp": True}),
        sign({"s": share_id, "exp": "9999999999"}),
        sign({"s": share_id, "exp": 1}),  # expired
        "%20",
        "\u00e9\u00e9",
    ]
    return forged, sign({"s": "0" * 32, "exp": exp})


@pytest.mark.django_db
def test_forged_and_unknown_tokens_get_the_same_404(owner, quote):
    # given: a genuine link
    genuine = share(owner, quote["id"]).json()["token"]
    forged, unknown = forged_tokens(genuine, QuoteShare.objects.get().id.hex)

    for token in [*forged, unknown]:
        # when
        with CaptureQueriesContext(connection) as queries:
            response = read(token)

        # then: the same body as any missing thing; only a genuine signature reaches the
        # share table
        assert (response.status_code, response.json()) == (404, NOT_FOUND), token
        share_lookups = [q for q in queries.captured_queries if "quotes_quoteshare" in q["sql"]]
        assert len(share_lookups) == (1 if token == unknown else 0), token
    assert read(genuine).status_code == 200


@pytest.mark.django_db
def test_the_shared_read_is_rate_limited_per_ip(owner, quote, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "shared_quotes": "3/min",
        },
    }
    token = share(owner, quote["id"]).json()["token"]

    answers = [read(token if i % 2 else "forged").status_code for i in range(4)]

    assert answers == [404, 200, 404, 429]


@pytest.mark.django_db
def test_cleanup_deletes_old_shares_with_their_quotes(settings):
    # given: a quote past retention with a share, and a live one with a share
    old = QuoteFactory(expired_ago=settings.QUOTE_RETENTION + timedelta(days=1))
    live = QuoteFactory()
    QuoteShare.objects.create(quote=old, expires_at=old.expires_at)
    QuoteShare.objects.create(quote=live, expires_at=live.expires_at)

    # when
    quote_cleanup()

    # then
    assert list(QuoteShare.objects.values_list("quote_id", flat=True)) == [live.pk]


@pytest.mark.django_db
def test_admin_lists_active_links_and_revokes_them(owner, quote, make_user):
    # given: an active and a revoked link, a staff browser
    token = share(owner, quote["id"]).json()["token"]
    other = QuoteFactory()
    QuoteShare.objects.create(quote=other, expires_at=other.expires_at, revoked_at=timezone.now())
    active = QuoteShare.objects.get(revoked_at__isnull=True)
    staff = make_user(is_staff=True, is_superuser=True)
    browser = Client()
    browser.force_login(staff)

    # when: staff list the active links, then revoke the one found
    listing = browser.get("/admin/quotes/quoteshare/?state=active")
    revoked = browser.post(
        "/admin/quotes/quoteshare/",
        {"action": "revoke_selected", "_selected_action": [active.pk]},
    )

    # then
    assert listing.status_code == 200
    assert str(active.pk) in listing.text
    assert str(QuoteShare.objects.get(quote=other).pk) not in listing.text
    assert revoked.status_code == 302
    assert read(token).status_code == 404


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_shares_from_several_processes_make_one_link():
    # given: one quote
    quote = QuoteFactory(session_id=SESSION)

    def post(_index):
        response = share(session_client(), quote.pk)
        return response.status_code, response.json().get("token")

    # when: 24 shares at once from 4 processes
    outcomes = fire_concurrently(post, 24, processes=4)

    # then: every caller got the one link, and one row exists
    assert {status for status, _ in outcomes} == {201}, outcomes
    assert len({token for _, token in outcomes}) == 1
    assert QuoteShare.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_shares_and_revokes_racing_leave_at_most_one_active_link():
    # given
    quote = QuoteFactory(session_id=SESSION)

    def share_or_revoke(index):
        client = session_client()
        if index % 2:
            return client.delete(f"/api/quotes/{quote.pk}/share").status_code
        return share(client, quote.pk).status_code

    # when: shares and revocations interleave from 4 processes
    outcomes = fire_concurrently(share_or_revoke, 24, processes=4)

    # then: every call answered normally, and never two active links
    assert set(outcomes) <= {201, 204}, outcomes
    assert QuoteShare.objects.filter(revoked_at__isnull=True).count() <= 1
