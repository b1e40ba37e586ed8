"""Idempotency-Key under real commits: concurrent retries from several processes, and a
broker that refuses the task after the change committed."""

import pytest
from rest_framework.test import APIClient

from config.models import IdempotencyKey
from orders.models import Order, Product
from quotes.runs.models import QuoteRun
from rendering.models import RenderJob, RenderJobStatus, UsageDaily
from rendering.quota import quota_day
from tests.accounts.factories import AddressFactory
from tests.concurrency import fire_concurrently
from tests.e2e.harness import free_port
from tests.orders.factories import ProductFactory
from tests.quote_runs.factories import job_files
from tests.rendering.factories import ShopFactory, confirmed_session, product_png, product_upload

pytestmark = pytest.mark.django_db(transaction=True)

KEY = "retry-storm-1"
REQUESTS = 20


def client_with(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.mark.postgres
def test_20_concurrent_retries_from_4_processes_place_one_order(auth_client, user):
    # given 20 copies of one order request, all with the same key
    ProductFactory(sku="ONE-KEY", stock_quantity=100)
    address = AddressFactory(user=user, is_default=True)
    body = {"address_id": str(address.id), "items": [{"sku": "ONE-KEY", "quantity": 3}]}
    token = auth_client.token

    def place(_index: int):
        response = client_with(token).post(
            "/api/orders", body, format="json", HTTP_IDEMPOTENCY_KEY=KEY
        )
        payload = response.json()
        return (
            response.status_code,
            payload.get("id") or payload.get("error"),
            response.get("Idempotent-Replayed"),
            response.get("Retry-After"),
        )

    # when they arrive at once from four processes
    outcomes = fire_concurrently(place, REQUESTS, processes=4)

    # then one order exists, stock was taken once, every 2xx names that order
    order = Order.objects.get()
    assert Product.objects.get(sku="ONE-KEY").stock_quantity == 97
    created = [o for o in outcomes if o[0] == 201]
    in_flight = [o for o in outcomes if o[0] == 409]
    assert len(created) + len(in_flight) == REQUESTS, outcomes
    assert created, outcomes
    assert {o[1] for o in created} == {str(order.id)}
    assert [o[2] for o in created].count(None) == 1, outcomes  # the one that ran
    assert all(o[1] == "idempotency_key_in_use" and int(o[3]) >= 1 for o in in_flight)
    assert IdempotencyKey.objects.get().response_status == 201


def use_broker(app, *, url: str, eager: bool) -> None:
    """Point the Celery app at another broker: drop its cached connection pools."""
    app.conf.task_always_eager, app.conf.broker_url = eager, url
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def dead_broker():
    from config.celery import app

    previous = app.conf.broker_url
    use_broker(app, url=f"redis://127.0.0.1:{free_port()}/0", eager=False)
    yield
    use_broker(app, url=previous, eager=True)


@pytest.mark.redis
def test_a_task_the_broker_refuses_after_commit_is_a_503_that_is_not_stored(api_client):
    # given a dead broker
    body = {"files": job_files(1), "ops": {"upscale": True}, "session_id": "anon-session-000001"}
    from config.celery import app

    previous = app.conf.broker_url
    use_broker(app, url=f"redis://127.0.0.1:{free_port()}/0", eager=False)
    try:
        refused = api_client.post("/api/quote-runs", body, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
    finally:
        use_broker(app, url=previous, eager=True)

    # then the run committed but was compensated (failed), and the key is free again
    assert refused.status_code == 503, refused.json()
    assert refused.json()["error"] == "service_unavailable"
    assert int(refused["Retry-After"]) > 0
    assert QuoteRun.objects.get().status == "failed"
    assert not IdempotencyKey.objects.exists()

    # when the broker is back, the same key runs a new run
    retried = api_client.post("/api/quote-runs", body, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
    assert retried.status_code == 202, retried.json()
    assert "Idempotent-Replayed" not in retried
    assert QuoteRun.objects.count() == 2
    assert IdempotencyKey.objects.get().response_status == 202


@pytest.mark.redis
def test_a_render_the_broker_refuses_gives_its_slot_back_once_and_stores_nothing(
    auth_client, user, dead_broker
):
    shop = ShopFactory(owner=user, daily_quota=1)
    session = confirmed_session(shop)
    product = product_upload(user, product_png())
    body = {
        "shop_id": str(shop.pk),
        "room_session_id": str(session.pk),
        "product_image_id": str(product.pk),
        "placement": {"x": 0.5, "y": 0.5, "scale": 0.5},
    }

    first = auth_client.post("/api/renders", body, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
    second = auth_client.post("/api/renders", body, format="json", HTTP_IDEMPOTENCY_KEY=KEY)

    assert (first.status_code, second.status_code) == (503, 503)
    assert "Idempotent-Replayed" not in second
    usage = UsageDaily.objects.get(shop=shop, date=quota_day(shop=shop))
    assert (usage.reserved, usage.composite_renders) == (0, 0)
    jobs = RenderJob.objects.filter(shop=shop)
    assert [job.status for job in jobs] == [RenderJobStatus.FAILED] * 2
    assert not IdempotencyKey.objects.exists()
