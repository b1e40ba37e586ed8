"""POST/GET/DELETE /api/webhooks and GET /api/webhooks/{id}/deliveries (API.md "Webhooks")."""

import base64
import uuid

import pytest

from accounts.webhooks.models import Webhook, WebhookDelivery
from accounts.webhooks.secret_store import webhook_secret_decrypt
from accounts.webhooks.services import webhook_event_emit
from tests.conftest import client_for

HOOK = {"url": "https://hooks.example.com/atelier", "events": ["render.completed"]}


def test_register_answers_the_secret_once_and_keeps_it_encrypted(auth_client, user):
    response = auth_client.post("/api/webhooks", HOOK | {"description": "shop"}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {
        "id",
        "url",
        "events",
        "secret",
        "description",
        "created_at",
        "is_active",
        "disabled_reason",
    }
    assert (body["url"], body["events"], body["description"], body["is_active"]) == (
        HOOK["url"],
        ["render.completed"],
        "shop",
        True,
    )
    assert body["secret"].startswith("whsec_")
    assert 24 <= len(base64.b64decode(body["secret"].removeprefix("whsec_"))) <= 32
    row = Webhook.objects.get(pk=body["id"])
    assert row.owner == user
    assert body["secret"] not in row.secret_encrypted
    assert webhook_secret_decrypt(row.secret_encrypted) == body["secret"]


def test_the_list_shows_no_secret_and_only_the_callers_webhooks(auth_client, make_user):
    auth_client.post("/api/webhooks", HOOK, format="json")
    client_for(make_user()).post("/api/webhooks", HOOK, format="json")

    response = auth_client.get("/api/webhooks")

    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 1
    assert "secret" not in results[0]
    assert response.json()["next"] is None


def test_delete_is_204_and_someone_elses_webhook_is_404(auth_client, make_user):
    mine = auth_client.post("/api/webhooks", HOOK, format="json").json()["id"]
    theirs = client_for(make_user()).post("/api/webhooks", HOOK, format="json").json()["id"]

    assert auth_client.delete(f"/api/webhooks/{theirs}").status_code == 404
    assert auth_client.get(f"/api/webhooks/{theirs}/deliveries").status_code == 404
    assert auth_client.delete(f"/api/webhooks/{mine}").status_code == 204
    assert auth_client.delete(f"/api/webhooks/{mine}").status_code == 404
    assert auth_client.delete(f"/api/webhooks/{uuid.uuid4()}").status_code == 404
    assert list(Webhook.objects.values_list("pk", flat=True)) == [uuid.UUID(theirs)]


def test_anonymous_callers_get_401(api_client):
    assert api_client.get("/api/webhooks").status_code == 401
    assert api_client.post("/api/webhooks", HOOK, format="json").status_code == 401


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"url": "ftp://hooks.example.com/x"}, "url"),
        ({"url": "https://user:pw@hooks.example.com/x"}, "url"),
        ({"url": "https://hooks.example.com/x#frag"}, "url"),
        ({"url": "https:///nohost"}, "url"),
        ({"url": "https://hooks.example.com:99999/x"}, "url"),
        ({"url": "https://hooks.example.com/" + "a" * 2000}, "url"),
        ({"url": "https://exa mple.com/"}, "url"),
        ({"url": "https://hooks.example.com/a b"}, "url"),
        ({"url": "https://hooks.example.com/\r\nX-Injected: 1"}, "url"),
        ({"url": "https://under_score.example.com/"}, "url"),
        ({"url": "https://-bad.example.com/"}, "url"),
        ({"url": "https://[::1/"}, "url"),
        ({"description": "a\u0000b"}, "description"),
        ({"url": "http://10.0.0.1/"}, "url"),
        ({"url": "http://127.0.0.1:8080/"}, "url"),
        ({"url": "http://[::1]/"}, "url"),
        ({"url": "http://169.254.169.254/latest/meta-data/"}, "url"),
        ({"events": []}, "events"),
        ({"events": ["render.started"]}, "events"),
        ({"events": "render.completed"}, "events"),
        ({"description": "x" * 201}, "description"),
        ({"secret": "whsec_mine"}, "secret"),
    ],
)
def test_bad_input_is_a_400_validation_error(auth_client, change, field):
    response = auth_client.post("/api/webhooks", HOOK | change, format="json")

    assert response.status_code == 400, response.content
    assert response.json()["error"] == "validation_error"
    assert field in response.json()["details"]
    assert not Webhook.objects.exists()


@pytest.mark.parametrize(
    "raw",
    [
        '{"url": "https://hooks.example.com/\\ud800", "events": ["quote.used"]}',
        '{"url": "https://hooks.example.com/", "events": ["quote.used"], "description": "\\ud800"}',
    ],
)
def test_lone_surrogates_are_a_400(auth_client, raw):
    response = auth_client.post("/api/webhooks", raw, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"


def test_an_international_host_name_is_kept_as_written(auth_client):
    response = auth_client.post("/api/webhooks", HOOK | {"url": "https://bücher.example/h"})

    assert response.status_code == 201, response.content
    assert response.json()["url"] == "https://bücher.example/h"


def test_a_loopback_url_is_accepted_when_its_host_is_allowed(auth_client, settings):
    settings.WEBHOOK_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]

    response = auth_client.post("/api/webhooks", HOOK | {"url": "http://127.0.0.1:9/h"})

    assert response.status_code == 201


def test_at_most_the_configured_number_of_webhooks_per_user(auth_client, settings):
    settings.WEBHOOK_MAX_PER_USER = 2
    for _ in range(2):
        assert auth_client.post("/api/webhooks", HOOK, format="json").status_code == 201

    response = auth_client.post("/api/webhooks", HOOK, format="json")

    assert response.status_code == 400
    assert Webhook.objects.count() == 2


def test_idempotency_key_is_checked_but_the_secret_answer_is_never_stored(auth_client):
    bad = auth_client.post("/api/webhooks", HOOK, format="json", HTTP_IDEMPOTENCY_KEY="")
    assert bad.status_code == 400

    first = auth_client.post("/api/webhooks", HOOK, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    again = auth_client.post("/api/webhooks", HOOK, format="json", HTTP_IDEMPOTENCY_KEY="k1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in again.headers
    from config.models import IdempotencyKey

    assert not IdempotencyKey.objects.exists()


def test_deliveries_list_newest_first_with_their_state(auth_client, user):
    hook_id = auth_client.post("/api/webhooks", HOOK, format="json").json()["id"]
    events = [
        webhook_event_emit(
            owner_id=user.pk, event_type="render.completed", object_id=n, data={"n": n}
        )
        for n in range(3)
    ]

    response = auth_client.get(f"/api/webhooks/{hook_id}/deliveries?limit=2")

    assert response.status_code == 200
    page = response.json()
    assert [row["event_id"] for row in page["results"]] == [str(events[2].id), str(events[1].id)]
    first = page["results"][0]
    assert set(first) == {
        "id",
        "event_id",
        "type",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
    }
    assert first["type"] == "render.completed"
    assert first["status"] == "pending"
    assert first["next_attempt_at"] is not None
    rest = auth_client.get(page["next"]).json()
    assert [row["event_id"] for row in rest["results"]] == [str(events[0].id)]
    assert WebhookDelivery.objects.count() == 3
