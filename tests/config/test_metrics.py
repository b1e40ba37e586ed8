"""GET /metrics: Prometheus text, bounded route labels, refusals by code, the token guard;
the multiprocess directory is wiped at a server's start and kept for its siblings."""

import os
import subprocess
import sys

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from config import metrics
from rendering.models import RenderJobStatus


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scrape(client, **headers) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.content.decode())
        for s in family.samples
    }


def test_requests_are_counted_by_route_pattern_and_status(api_client, db):
    before = sample(
        "atelier_http_requests_total", method="GET", route="/api/health/live", status="200"
    )

    for _ in range(3):
        api_client.get("/api/health/live")
    figures = scrape(api_client)

    key = (
        "atelier_http_requests_total",
        (("method", "GET"), ("route", "/api/health/live"), ("status", "200")),
    )
    assert figures[key] == before + 3
    histogram_count = (
        "atelier_http_request_duration_seconds_count",
        (("method", "GET"), ("route", "/api/health/live"), ("status", "200")),
    )
    assert figures[histogram_count] == before + 3


def test_routes_are_patterns_and_unknown_paths_one_label(api_client, db):
    raw_id = "3f0c5d7e-0000-4000-8000-00000000abcd"

    api_client.get(f"/api/quotes/{raw_id}")
    api_client.get("/api/no-such-endpoint/xyz-123")
    api_client.get("/some/random/page-456")
    text = api_client.get("/metrics").content.decode()

    assert 'route="/api/quotes/<uuid:quote_id>"' in text
    assert 'route="unmatched"' in text
    for raw in (raw_id, "xyz-123", "page-456"):
        assert raw not in text


def test_429_answers_are_counted_by_their_error_code(api_client, db, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "login_ip": "1/min",
        },
    }
    before = sample("atelier_http_refusals_total", code="rate_limited")
    body = {"email": "nobody@example.com", "password": "wrong-password-1"}

    statuses = [
        api_client.post("/api/users/login", body, format="json").status_code for _ in range(3)
    ]

    assert statuses.count(429) == 2, statuses
    assert sample("atelier_http_refusals_total", code="rate_limited") == before + 2


def test_render_jobs_in_flight_come_from_the_database(api_client, db, user):
    from rendering.models import RenderJob
    from rendering.quota import quota_day
    from tests.rendering.factories import (
        ShopFactory,
        confirmed_session,
        product_png,
        product_upload,
    )

    shop = ShopFactory(owner=user)
    session = confirmed_session(shop)
    product = product_upload(user, product_png())
    for status in (RenderJobStatus.QUEUED, RenderJobStatus.RUNNING, RenderJobStatus.RUNNING):
        RenderJob.objects.create(
            shop=shop,
            room_session=session,
            product_upload_id=product.pk,
            product_image_key=product.key,
            room_image_key=session.original_room_image_key,
            placement_x=0.5,
            placement_y=0.5,
            placement_scale=0.5,
            usage_date=quota_day(shop=shop),
            status=status,
        )

    figures = scrape(api_client)

    assert figures[("atelier_render_jobs_in_flight", (("status", "queued"),))] == 1
    assert figures[("atelier_render_jobs_in_flight", (("status", "running"),))] == 2


def test_the_token_guards_metrics_when_set(api_client, db, settings):
    settings.METRICS_TOKEN = "s3cret-metrics-token"

    missing = api_client.get("/metrics")
    wrong = api_client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope")
    right = api_client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-metrics-token")

    assert missing.status_code == wrong.status_code == 401
    assert missing.json()["error"] == "invalid_token"
    assert missing["WWW-Authenticate"].startswith("Bearer")
    assert right.status_code == 200
    assert b"atelier_http_requests_total" in right.content


def test_metrics_take_no_api_throttle_and_refuse_writes_as_json(api_client, db):
    response = api_client.post("/metrics", {}, format="json")

    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"
    assert "X-RateLimit-Limit" not in api_client.get("/metrics")


def test_celery_task_outcomes_are_counted(db):
    from config.tasks import cleanup_task

    before = sample("atelier_tasks_total", task="config.cleanup", outcome="success")
    runs_before = sample("atelier_task_duration_seconds_count", task="config.cleanup")

    cleanup_task.apply(kwargs={"name": "rate_limits"})

    assert sample("atelier_tasks_total", task="config.cleanup", outcome="success") == before + 1
    assert sample("atelier_task_duration_seconds_count", task="config.cleanup") == runs_before + 1


# --- The multiprocess directory ------------------------------------------------------------


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_server_start_wipes_the_files_of_a_dead_run(tmp_path):
    dead = _dead_pid()
    for name in (f"counter_{dead}.db", f"gauge_livesum_{dead}.db", f"writer_{dead}"):
        (tmp_path / name).write_bytes(b"")

    metrics.multiproc_dir_prepare(str(tmp_path))

    assert sorted(os.listdir(tmp_path)) == sorted([".lock", f"writer_{os.getpid()}"])


def test_a_sibling_worker_keeps_the_counts_and_marks_the_dead_dead(tmp_path):
    sibling = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    dead = _dead_pid()
    try:
        for name in (
            f"counter_{sibling.pid}.db",
            f"writer_{sibling.pid}",
            f"counter_{dead}.db",
            f"gauge_livesum_{dead}.db",
            f"writer_{dead}",
        ):
            (tmp_path / name).write_bytes(b"")

        metrics.multiproc_dir_prepare(str(tmp_path))

        assert sorted(os.listdir(tmp_path)) == sorted(
            [
                ".lock",
                f"counter_{sibling.pid}.db",
                f"writer_{sibling.pid}",
                f"counter_{dead}.db",  # its counts stay in the totals
                f"writer_{os.getpid()}",
            ]
        )
    finally:
        sibling.kill()
        sibling.wait()


@pytest.mark.parametrize("authorization", [None, "", "Basic abc", "Bearer", "Bearer wrong"])
def test_authorization_values_that_do_not_match(settings, authorization):
    settings.METRICS_TOKEN = "right"

    assert metrics.metrics_authorized(authorization) is False
    assert metrics.metrics_authorized("Bearer right") is True
    assert metrics.metrics_authorized("bearer right") is True
