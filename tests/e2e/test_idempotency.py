"""Idempotency-Key across two real instances: 20 identical retries from several processes
change things once (an order, a render's quota slot, an upload), and every 2xx names it."""

import requests
from django.conf import settings

from accounts.services.auth import auth_session_create
from config.models import IdempotencyKey
from orders.models import Order, OrderItem, Product
from rendering.models import RenderJob, RenderJobStatus, UsageDaily
from rendering.quota import quota_day
from tests.accounts.factories import AddressFactory
from tests.concurrency import fire_concurrently
from tests.e2e.test_rendering import wait_for
from tests.orders.factories import ProductFactory
from tests.rendering.factories import ShopFactory, confirmed_session, product_png, product_upload
from tests.uploads.images import png_bytes
from uploads.models import UploadedFile

REQUESTS = 20
PROCESSES = 4
KEY = "e2e-retry-storm"
TIMEOUT_S = 60


def bearer(user) -> dict[str, str]:
    _, token = auth_session_create(user=user)
    return {"Authorization": f"Bearer {token}", "Idempotency-Key": KEY}


def outcome(response) -> tuple[int, str, str | None]:
    """(status, the created id or the error code, Idempotent-Replayed)."""
    payload = response.json()
    return (
        response.status_code,
        payload.get("id") or payload.get("error"),
        response.headers.get("Idempotent-Replayed"),
    )


def assert_one_winner(outcomes: list, created_status: int, created_id: str) -> None:
    """Every answer is the created object (run once, the rest replays) or a 409 in flight."""
    succeeded = [o for o in outcomes if o[0] == created_status]
    in_flight = [o for o in outcomes if o[0] == 409]
    assert len(succeeded) + len(in_flight) == REQUESTS, outcomes
    assert {o[1] for o in succeeded} == {created_id}, outcomes
    assert [o[2] for o in succeeded].count(None) == 1, outcomes
    assert all(o[2] == "true" for o in succeeded if o[2] is not None), outcomes
    assert all(o[1] == "idempotency_key_in_use" for o in in_flight), outcomes


def test_20_identical_order_retries_over_two_instances_place_one_order(cluster, make_user):
    # given a customer with stock to buy and two instances
    customer = make_user()
    address = AddressFactory(user=customer, is_default=True)
    ProductFactory(sku="E2E-ONCE", price_cents=900, stock_quantity=50)
    headers = bearer(customer)
    servers = [cluster.add_server(), cluster.add_server()]
    cluster.wait_ready()
    body = {"address_id": str(address.id), "items": [{"sku": "E2E-ONCE", "quantity": 2}]}

    def place(index: int):
        server = servers[index % 2]
        response = requests.post(
            f"{server.url}/api/orders", json=body, headers=headers, timeout=TIMEOUT_S
        )
        return outcome(response)

    # when 20 copies arrive at once from four processes, spread over both instances
    outcomes = fire_concurrently(place, REQUESTS, processes=PROCESSES)

    # then exactly one order exists and the stock was taken once
    order = Order.objects.get()
    assert OrderItem.objects.get().quantity == 2
    assert Product.objects.get(sku="E2E-ONCE").stock_quantity == 48
    assert_one_winner(outcomes, 201, str(order.id))
    assert IdempotencyKey.objects.get().response_status == 201
    # and a later retry on either instance replays it
    assert [place(0), place(1)] == [(201, str(order.id), "true")] * 2


def test_20_identical_render_retries_over_two_instances_take_one_quota_slot(cluster, make_user):
    user = make_user()
    shop = ShopFactory(owner=user, daily_quota=5)
    session = confirmed_session(shop)
    product = product_upload(user, product_png())
    headers = bearer(user)
    servers = [cluster.add_server(), cluster.add_server()]
    cluster.add_worker()
    cluster.wait_ready()
    body = {
        "shop_id": str(shop.pk),
        "room_session_id": str(session.pk),
        "product_image_id": str(product.pk),
        "placement": {"x": 0.5, "y": 0.5, "scale": 0.3},
    }

    def render(index: int):
        server = servers[index % 2]
        response = requests.post(
            f"{server.url}/api/renders", json=body, headers=headers, timeout=TIMEOUT_S
        )
        return outcome(response)

    outcomes = fire_concurrently(render, REQUESTS, processes=PROCESSES)

    job = RenderJob.objects.get(shop=shop)
    assert_one_winner(outcomes, 202, str(job.pk))
    wait_for(
        lambda: RenderJob.objects.get(pk=job.pk).status == RenderJobStatus.COMPLETED,
        what="the worker to finish the one render",
    )
    usage = UsageDaily.objects.get(shop=shop, date=quota_day(shop=shop))
    assert (usage.composite_renders, usage.reserved) == (1, 0)
    assert [render(0), render(1)] == [(202, str(job.pk), "true")] * 2
    assert RenderJob.objects.count() == 1


def test_20_identical_upload_retries_over_two_instances_store_one_file(cluster, make_user):
    user = make_user()
    headers = bearer(user)
    servers = [cluster.add_server(), cluster.add_server()]
    cluster.wait_ready()
    data = png_bytes(64, 32)
    uploads_root = settings.MEDIA_ROOT / "uploads"
    assert not uploads_root.exists()

    def upload(index: int):
        server = servers[index % 2]
        # Each request is its own multipart body with its own boundary.
        response = requests.post(
            f"{server.url}/api/uploads",
            files={"file": ("pic.png", data, "image/png")},
            headers=headers,
            timeout=TIMEOUT_S,
        )
        return outcome(response)

    outcomes = fire_concurrently(upload, REQUESTS, processes=PROCESSES)

    upload_row = UploadedFile.objects.get()
    assert_one_winner(outcomes, 201, str(upload_row.id))
    on_disk = [path for path in uploads_root.rglob("*") if path.is_file()]
    assert [path.relative_to(settings.MEDIA_ROOT).as_posix() for path in on_disk] == [
        upload_row.key
    ]
    assert on_disk[0].read_bytes() == data
    assert [upload(0), upload(1)] == [(201, str(upload_row.id), "true")] * 2
    assert UploadedFile.objects.count() == 1
