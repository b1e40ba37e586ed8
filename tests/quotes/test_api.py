"""Quotes HTTP API: create, read by id and by session, use, expire, errors."""

from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone
from rest_framework.test import APIClient

from quotes.models import Quote, QuoteStatus
from quotes.services import credit_schedule_publish
from tests.conftest import client_for

SESSION = "sess_0123456789abcdef"
OTHER_SESSION = "sess_fedcba9876543210"


def job(**overrides):
    body = {
        "session_id": SESSION,
        "files": [
            {"id": "a", "name": "a.jpg", "size_bytes": 1000, "width": 1000, "height": 1000},
            {"id": "b", "name": "b.png", "size_bytes": 2000, "width": 2000, "height": 1500},
        ],
        "ops": {"upscale": True, "resize": {"width": 800}},
    }
    return body | overrides


def session_client(session_id=SESSION) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_X_SESSION_ID=session_id)
    return client


def expire_in_the_past(quote_id) -> None:
    """Move a quote's life 20 minutes back: it expired 5 minutes ago."""
    shift = timedelta(minutes=20)
    Quote.objects.filter(pk=quote_id).update(
        created_at=F("created_at") - shift, expires_at=F("expires_at") - shift
    )


@pytest.fixture
def quote_id(api_client):
    response = api_client.post("/api/quotes", job(), format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


@pytest.mark.django_db
def test_create_prices_the_job_with_the_active_schedule(api_client):
    # when
    response = api_client.post("/api/quotes", job(), format="json")

    # then
    assert response.status_code == 201
    body = response.json()
    # upscale 2 + ceil(4 * MP), resize 0 + ceil(0.5 * MP): a = 1 MP, b = 3 MP
    assert body["per_file"] == {"a": {"upscale": 6, "resize": 1}, "b": {"upscale": 14, "resize": 2}}
    assert body["per_file_credits"] == {"a": 7, "b": 16}
    assert body["credits_total"] == 23
    assert body["status"] == "active"
    assert body["session_id"] == SESSION
    assert body["user_id"] is None
    assert body["used_at"] is None
    assert body["schedule"]["version"] == 1
    assert body["ops"] == {"upscale": True, "resize": {"width": 800}}
    assert [f["id"] for f in body["files"]] == ["a", "b"]
    quote = Quote.objects.get(pk=body["id"])
    assert (quote.expires_at - quote.created_at) == timedelta(seconds=900)


@pytest.mark.django_db
def test_quote_keeps_the_schedule_it_was_priced_with(api_client):
    # given: a quote priced with version 1, then version 2 published
    first = api_client.post("/api/quotes", job(), format="json").json()
    credit_schedule_publish(
        ops={
            "upscale": {"base_credits": 100, "credits_per_megapixel": 0},
            "resize": {"base_credits": 0, "credits_per_megapixel": 0},
        },
        max_files=5,
        quote_ttl_seconds=60,
    )
    # when: another quote is priced and the first read again
    second = api_client.post("/api/quotes", job(), format="json").json()

    again = session_client().get(f"/api/quotes/{first['id']}").json()
    # then: each keeps its own version's price
    assert again["credits_total"] == 23
    assert again["schedule"]["version"] == 1
    assert second["credits_total"] == 200
    assert second["schedule"]["version"] == 2


@pytest.mark.django_db
def test_user_quote_is_read_by_token_and_session_but_not_others(user, make_user):
    owner = client_for(user)
    created = owner.post("/api/quotes", job(session_id=None), format="json").json()
    assert created["user_id"] == str(user.pk)
    assert created["session_id"] is None

    assert owner.get(f"/api/quotes/{created['id']}").status_code == 200
    stranger = client_for(make_user())
    response = stranger.get(f"/api/quotes/{created['id']}")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert session_client().get(f"/api/quotes/{created['id']}").status_code == 404
    assert APIClient().get(f"/api/quotes/{created['id']}").status_code == 404


@pytest.mark.django_db
def test_session_header_identifies_the_owner(quote_id):
    assert session_client().get(f"/api/quotes/{quote_id}").status_code == 200
    assert session_client(OTHER_SESSION).get(f"/api/quotes/{quote_id}").status_code == 404


@pytest.mark.django_db
def test_session_header_works_for_create_without_body_session():
    response = session_client().post("/api/quotes", job(session_id=None), format="json")

    assert response.status_code == 201
    assert response.json()["session_id"] == SESSION


@pytest.mark.django_db
def test_anonymous_create_needs_a_session(api_client):
    response = api_client.post("/api/quotes", job(session_id=None), format="json")

    assert response.status_code == 400
    assert "session_id" in response.json()["details"]


@pytest.mark.django_db
def test_body_and_header_sessions_must_agree():
    response = session_client(OTHER_SESSION).post("/api/quotes", job(), format="json")

    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"


@pytest.mark.django_db
def test_get_newest_active_quote_of_a_session(api_client):
    # given: two quotes of the session, one of another session
    older = api_client.post("/api/quotes", job(), format="json").json()
    newer = api_client.post("/api/quotes", job(), format="json").json()
    api_client.post("/api/quotes", job(session_id=OTHER_SESSION), format="json")

    # when
    response = api_client.get(f"/api/quotes/session/{SESSION}")
    # then: the newest
    assert response.status_code == 200
    assert response.json()["id"] == newer["id"]

    # when: it is used, then: the older one
    session_client().post(f"/api/quotes/{newer['id']}/use")
    assert api_client.get(f"/api/quotes/session/{SESSION}").json()["id"] == older["id"]

    # when: that one expires, then: none
    Quote.objects.filter(pk=older["id"]).update(expires_at=timezone.now())
    response = api_client.get(f"/api/quotes/session/{SESSION}")
    assert response.status_code == 404
    assert api_client.get("/api/quotes/session/bad!").status_code == 400


@pytest.mark.django_db
def test_status_reads_expired_as_soon_as_expiry_passes(quote_id):
    expire_in_the_past(quote_id)

    body = session_client().get(f"/api/quotes/{quote_id}").json()

    assert body["status"] == "expired"
    # nothing was written: the stored status is still active until cleanup runs
    assert Quote.objects.get(pk=quote_id).status == QuoteStatus.ACTIVE


@pytest.mark.django_db
def test_use_once_then_409(quote_id):
    client = session_client()

    first = client.post(f"/api/quotes/{quote_id}/use")
    second = client.post(f"/api/quotes/{quote_id}/use")

    assert first.status_code == 200
    assert first.json()["status"] == "used"
    assert first.json()["used_at"] is not None
    assert second.status_code == 409
    assert second.json()["error"] == "quote_used"


@pytest.mark.django_db
def test_use_after_expiry_is_410(quote_id):
    expire_in_the_past(quote_id)

    response = session_client().post(f"/api/quotes/{quote_id}/use")

    assert response.status_code == 410
    assert response.json()["error"] == "quote_expired"
    assert Quote.objects.get(pk=quote_id).used_at is None


@pytest.mark.django_db
def test_use_and_expire_of_someone_elses_quote_are_404_and_change_nothing(quote_id):
    other = session_client(OTHER_SESSION)

    assert other.post(f"/api/quotes/{quote_id}/use").status_code == 404
    assert other.post(f"/api/quotes/{quote_id}/expire").status_code == 404
    assert Quote.objects.get(pk=quote_id).status == QuoteStatus.ACTIVE
    unknown = "00000000-0000-0000-0000-000000000000"
    assert session_client().post(f"/api/quotes/{unknown}/use").status_code == 404
    assert session_client().get("/api/quotes/not-a-uuid").status_code == 404


@pytest.mark.django_db
def test_expire_then_use_is_410(quote_id):
    client = session_client()

    expired = client.post(f"/api/quotes/{quote_id}/expire")
    again = client.post(f"/api/quotes/{quote_id}/expire")
    used = client.post(f"/api/quotes/{quote_id}/use")

    assert expired.status_code == 200
    assert expired.json()["status"] == "expired"
    assert again.status_code == 200
    assert used.status_code == 410


@pytest.mark.django_db
def test_expire_a_used_quote_is_409(quote_id):
    client = session_client()
    client.post(f"/api/quotes/{quote_id}/use")

    response = client.post(f"/api/quotes/{quote_id}/expire")

    assert response.status_code == 409
    assert response.json()["error"] == "quote_used"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        (job(ops={"sharpen": True}), "ops"),
        (job(files=[job()["files"][0]] * 2), "files"),
        (job(files=[job()["files"][0] | {"size_bytes": 0}]), "files"),
        (job(files=[job()["files"][0] | {"size_bytes": -1}]), "files"),
        (job(files=[job()["files"][0] | {"id": str(i)} for i in range(21)]), "files"),
        (job(files=[]), "files"),
        (job(session_id="tiny"), "session_id"),
        ({"ops": {"upscale": True}}, "files"),
        ([1, 2, 3], "non_field_errors"),
    ],
)
def test_bad_input_is_400_validation_error_with_details(api_client, body, field):
    response = api_client.post("/api/quotes", body, format="json")

    assert response.status_code == 400
    payload = response.json()
    assert payload["error"] == "validation_error"
    assert field in payload["details"]
    assert Quote.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "raw", ["{not json", "", "null", '"text"', '{"files": [{"id": null}], "ops": []}']
)
def test_malformed_bodies_are_400(api_client, raw):
    response = api_client.post("/api/quotes", raw, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"


@pytest.mark.django_db
def test_malformed_session_header_is_400(quote_id):
    response = session_client("bad id!").get(f"/api/quotes/{quote_id}")

    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"
    assert "X-Session-Id" in response.json()["details"]


@pytest.mark.django_db
def test_credit_schedule_max_files_bounds_the_job(api_client):
    credit_schedule_publish(
        ops={"upscale": {"base_credits": 1, "credits_per_megapixel": 1}},
        max_files=1,
        quote_ttl_seconds=60,
    )
    response = api_client.post("/api/quotes", job(ops={"upscale": True}), format="json")

    assert response.status_code == 400
    assert "files" in response.json()["details"]
