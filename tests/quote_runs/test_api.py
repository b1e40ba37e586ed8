"""POST /api/quote-runs and GET /api/quote-runs/{id}: shape, identity, retention, cleanup."""

from datetime import timedelta

import pytest
from django.utils import timezone

from config.cleanup import cleanup_run
from quotes.runs.models import QuoteRun, QuoteRunEvent
from quotes.runs.services import quote_run_cleanup, quote_run_execute
from tests.conftest import client_for
from tests.e2e.harness import free_port
from tests.quote_runs.factories import QuoteRunFactory, job_files

SESSION = "anon-session-0000000001"
OTHER_SESSION = "anon-session-0000000002"
STATUS_FIELDS = {
    "run_id",
    "status",
    "last_event_id",
    "result",
    "error",
    "created_at",
    "expires_at",
    "stream_url",
}


def age_past_retention(run) -> None:
    now = timezone.now()
    QuoteRun.objects.filter(pk=run.pk).update(
        created_at=now - timedelta(hours=3), expires_at=now - timedelta(seconds=1)
    )


def job(**extra) -> dict:
    return {"files": job_files(2), "ops": {"upscale": True}, **extra}


def start(client, django_capture_on_commit_callbacks, **body):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post("/api/quote-runs", job(**body), format="json")


@pytest.mark.django_db
def test_anonymous_run_answers_202_and_completes(api_client, django_capture_on_commit_callbacks):
    # when
    response = start(api_client, django_capture_on_commit_callbacks, session_id=SESSION)

    # then: 202 with the run's URLs, and (tasks are eager here) the run completed
    assert response.status_code == 202, response.json()
    body = response.json()
    run_id = body["run_id"]
    stream_path, _, stream_query = body["stream_url"].partition("?")
    assert body == {
        "run_id": run_id,
        "status": "processing",
        "stream_url": f"/api/quote-runs/{run_id}/stream?{stream_query}",
        "status_url": f"/api/quote-runs/{run_id}",
    }
    assert stream_query.startswith("token=")
    status = api_client.get(body["status_url"], HTTP_X_SESSION_ID=SESSION).json()
    assert set(status) >= STATUS_FIELDS
    assert status["stream_url"].startswith(f"{stream_path}?token=")
    assert status["status"] == "completed"
    assert status["last_event_id"] == QuoteRunEvent.objects.filter(run_id=run_id).count()
    credits = [offer["credits_total"] for offer in status["result"]["offers"]]
    assert credits == sorted(credits)
    assert status["error"] is None


@pytest.mark.django_db
def test_session_header_identifies_an_anonymous_creator(
    api_client, django_capture_on_commit_callbacks
):
    api_client.credentials(HTTP_X_SESSION_ID=SESSION)

    response = start(api_client, django_capture_on_commit_callbacks)

    assert response.status_code == 202
    assert QuoteRun.objects.get(pk=response.json()["run_id"]).session_id == SESSION


@pytest.mark.django_db
def test_body_and_header_session_ids_must_agree(api_client):
    api_client.credentials(HTTP_X_SESSION_ID=OTHER_SESSION)

    response = api_client.post("/api/quote-runs", job(session_id=SESSION), format="json")

    assert response.status_code == 400
    assert "session_id" in response.json()["details"]


@pytest.mark.django_db
def test_only_the_owner_reads_a_run(auth_client, make_user, api_client):
    run = QuoteRunFactory(user=make_user(), session_id=SESSION)
    owner = client_for(run.user)
    url = f"/api/quote-runs/{run.id}"

    assert owner.get(url).status_code == 200
    assert api_client.get(url, HTTP_X_SESSION_ID=SESSION).status_code == 200
    assert auth_client.get(url).status_code == 404
    assert api_client.get(url, HTTP_X_SESSION_ID=OTHER_SESSION).status_code == 404
    assert api_client.get(url).status_code == 404
    assert api_client.get(url).json()["error"] == "not_found"


@pytest.mark.django_db
def test_run_past_retention_is_gone_before_cleanup(api_client):
    run = QuoteRunFactory(session_id=SESSION)
    age_past_retention(run)

    response = api_client.get(f"/api/quote-runs/{run.id}", HTTP_X_SESSION_ID=SESSION)

    assert response.status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"session_id": SESSION, "providers": ["standard", "nope"]}, "providers"),
        ({"session_id": SESSION, "providers": []}, "providers"),
        ({"session_id": SESSION, "ops": {"teleport": True}}, "ops"),
        ({"session_id": SESSION, "files": []}, "files"),
        ({"session_id": "short"}, "session_id"),
        ({}, "session_id"),
    ],
)
def test_invalid_input_is_a_400(api_client, body, field):
    payload = {**job(), **body}

    response = api_client.post("/api/quote-runs", payload, format="json")

    assert response.status_code == 400, response.json()
    assert response.json()["error"] == "validation_error"
    assert field in response.json()["details"]
    assert not QuoteRun.objects.exists()


@pytest.mark.django_db
def test_malformed_body_is_a_400(api_client):
    response = api_client.post("/api/quote-runs", b"{not json", content_type="application/json")

    assert response.status_code == 400


@pytest.mark.django_db
def test_chosen_providers_are_the_only_ones_asked(auth_client, django_capture_on_commit_callbacks):
    response = start(auth_client, django_capture_on_commit_callbacks, providers=["priority"])

    run = QuoteRun.objects.get(pk=response.json()["run_id"])
    assert run.providers == ["priority"]
    assert [o["provider"] for o in run.result["offers"]] == ["priority"]


@pytest.mark.django_db
def test_disabled_provider_is_refused(settings, auth_client):
    settings.QUOTE_PROVIDERS = ["standard"]

    response = auth_client.post("/api/quote-runs", job(providers=["bulk"]), format="json")

    assert response.status_code == 400


@pytest.mark.django_db
def test_unknown_run_id_is_a_404(auth_client):
    assert auth_client.get("/api/quote-runs/not-a-uuid").status_code == 404
    response = auth_client.get("/api/quote-runs/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404


@pytest.mark.django_db
def test_cleanup_deletes_runs_and_events_past_retention_only():
    old, fresh = QuoteRunFactory(), QuoteRunFactory()
    for run in (old, fresh):
        quote_run_execute(run_id=run.id)
    old_events = QuoteRunEvent.objects.filter(run=old).count()
    age_past_retention(old)

    counts = quote_run_cleanup()

    # Partitions past retention may be dropped too: an empty one the migration made passes
    # retention at a turn of the hour (tests/quote_runs/test_partitions.py counts those);
    # none of them held an event.
    partitions = counts.pop("quote_run_event_partitions_dropped")
    assert counts == {
        "quote_runs": 1,
        "quote_run_events": old_events,
        "quote_run_events_dropped": 0,
    }
    assert partitions >= 0
    assert list(QuoteRun.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert not QuoteRunEvent.objects.filter(run_id=old.pk).exists()
    assert QuoteRunEvent.objects.filter(run=fresh).exists()


@pytest.mark.django_db
def test_cleanup_is_registered_and_works_in_batches(monkeypatch):
    monkeypatch.setattr("quotes.runs.services.QUOTE_RUN_CLEANUP_BATCH", 2)
    past = timezone.now() - timedelta(hours=3)
    for _ in range(5):
        QuoteRunFactory(created_at=past - timedelta(hours=2), expires_at=past)

    counts = cleanup_run(name="quote_runs")

    assert (counts["quote_runs"], counts["quote_run_events"]) == (5, 0)
    assert not QuoteRun.objects.exists()


def _use_broker(app, *, url: str, eager: bool) -> None:
    """Point the Celery app at another broker: drop its cached connection pools."""
    app.conf.task_always_eager, app.conf.broker_url = eager, url
    app._pool = None
    app.amqp._producer_pool = None


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_unreachable_queue_is_a_503_and_the_run_is_marked_failed(api_client):
    from config.celery import app

    previous = app.conf.broker_url
    _use_broker(app, url=f"redis://127.0.0.1:{free_port()}/0", eager=False)
    try:
        response = api_client.post("/api/quote-runs", job(session_id=SESSION), format="json")
    finally:
        _use_broker(app, url=previous, eager=True)

    assert response.status_code == 503, response.json()
    assert response.json()["error"] == "service_unavailable"
    run = QuoteRun.objects.get()
    assert run.status == "failed"
    assert QuoteRunEvent.objects.get(run=run).type == "run.failed"


@pytest.mark.django_db
def test_http_provider_without_a_url_is_not_enabled(settings, auth_client):
    settings.QUOTE_HTTP_PROVIDER_URL = ""

    response = auth_client.post("/api/quote-runs", job(providers=["http"]), format="json")

    assert response.status_code == 400
    assert "http" in str(response.json()["details"]["providers"])
