"""Webhooks across real processes: a render's completion reaches a real receiver signed
(verified with standardwebhooks) through failing first attempts, each event id accepted
once; a worker killed mid-delivery loses nothing."""

import json
import time

import requests
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from accounts.services.auth import auth_session_create
from accounts.webhooks.models import WebhookDelivery, WebhookEvent
from config.models import SchedulerLease
from tests.accounts.factories import AddressFactory
from tests.orders.factories import ProductFactory
from tests.rendering.factories import ShopFactory, confirmed_session, product_png, product_upload
from tests.webhooks.receiver import Receiver

WAIT_S = 90
TIMEOUT_S = 30
SWEEP = "cleanup: webhook_deliveries"
SWEEP_LEASE = "cleanup:webhook_deliveries"
# Loopback receivers are allowed; retries come quickly.
WEBHOOK_ENV = {"WEBHOOK_ALLOWED_PRIVATE_HOSTS": "127.0.0.1", "WEBHOOK_RETRY_BASE_S": "1"}


def wait_for(predicate, *, what: str, timeout_s: float = WAIT_S):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def sweep_every_second() -> None:
    """Beat publishes due deliveries (retries, lost tasks) every second."""
    every_second, _ = IntervalSchedule.objects.get_or_create(
        every=1, period=IntervalSchedule.SECONDS
    )
    PeriodicTask.objects.update_or_create(
        name=SWEEP,
        defaults={
            "task": "config.cleanup",
            "interval": every_second,
            "kwargs": json.dumps({"name": "webhook_deliveries"}),
            "enabled": True,
        },
    )


def wait_for_sweeps(count: int) -> None:
    """Until the sweep has run `count` more times (each run takes its single-flight lease)."""
    for _ in range(count):
        seen = (
            SchedulerLease.objects.filter(name=SWEEP_LEASE)
            .values_list("acquired_at", flat=True)
            .first()
        )
        wait_for(
            lambda seen=seen: (
                SchedulerLease.objects.filter(name=SWEEP_LEASE).exclude(acquired_at=seen).exists()
            ),
            what="another sweep",
        )


def register(server, headers, receiver: Receiver, events: list[str]) -> dict:
    response = requests.post(
        f"{server.url}/api/webhooks",
        json={"url": receiver.url(), "events": events},
        headers=headers,
        timeout=TIMEOUT_S,
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_a_render_completion_arrives_signed_through_failing_attempts_once(cluster, make_user):
    # given a receiver that answers 500 twice, a shop owner with a webhook for it, a cluster
    receiver = Receiver(plan=["500", "500"]).start()
    try:
        user = make_user()
        shop = ShopFactory(owner=user)
        session = confirmed_session(shop)
        product = product_upload(user, product_png())
        _, token = auth_session_create(user=user)
        headers = {"Authorization": f"Bearer {token}"}
        cluster.base_env.update(WEBHOOK_ENV)
        sweep_every_second()
        server = cluster.add_server()
        cluster.add_worker()
        cluster.add_beat()
        cluster.wait_ready()
        hook = register(server, headers, receiver, ["render.completed", "render.failed"])

        # when a render is made
        render = requests.post(
            f"{server.url}/api/renders",
            json={
                "shop_id": str(shop.pk),
                "room_session_id": str(session.pk),
                "product_image_id": str(product.pk),
                "placement": {"x": 0.5, "y": 0.5, "scale": 0.2},
            },
            headers=headers,
            timeout=TIMEOUT_S,
        )
        assert render.status_code == 202, render.text
        job_id = render.json()["id"]

        # then its completion arrives after two refused attempts, signed
        wait_for(lambda: receiver.succeeded(), what="the webhook to be accepted")
        [message] = receiver.verified(hook["secret"])
        assert message["type"] == "render.completed"
        assert message["data"]["id"] == job_id
        assert message["data"]["status"] == "completed"
        event = WebhookEvent.objects.get()
        assert message["id"] == str(event.id)
        assert [r.answered for r in receiver.received] == [500, 500, 200]
        assert {r.headers["webhook-id"] for r in receiver.received} == {str(event.id)}

        # and it stays accepted once while the sweep keeps running
        wait_for_sweeps(3)
        assert receiver.success_counts() == {str(event.id): 1}
        deliveries = requests.get(
            f"{server.url}/api/webhooks/{hook['id']}/deliveries", headers=headers, timeout=10
        ).json()["results"]
        assert [
            (d["event_id"], d["status"], d["attempts"], d["last_status_code"]) for d in deliveries
        ] == [(str(event.id), "succeeded", 3, 200)]
    finally:
        receiver.stop()


def test_a_worker_killed_mid_delivery_loses_nothing(cluster, make_user):
    # given a receiver that stalls on the first request, and an attempt lease of 23 s
    receiver = Receiver(plan=["stall"]).start()
    attempt_env = {
        "WEBHOOK_CONNECT_TIMEOUT_S": "3",
        "WEBHOOK_READ_TIMEOUT_S": "10",
        "WEBHOOK_ATTEMPT_MAX_S": "13",
        "WEBHOOK_LEASE_S": "23",
        # The kill may hit a sweep too: its single-flight lease must not outlive the test.
        "WEBHOOK_SWEEP_LEASE_S": "5",
    }
    try:
        user = make_user()
        product = ProductFactory(stock_quantity=3)
        address = AddressFactory(user=user)
        _, token = auth_session_create(user=user)
        headers = {"Authorization": f"Bearer {token}"}
        cluster.base_env.update(WEBHOOK_ENV | attempt_env)
        sweep_every_second()
        server = cluster.add_server()
        worker = cluster.add_worker()
        cluster.add_beat()
        cluster.wait_ready()
        hook = register(server, headers, receiver, ["order.status_changed"])

        # when an order is placed and the worker is killed while the receiver stalls
        placed = requests.post(
            f"{server.url}/api/orders",
            json={"address_id": str(address.id), "items": [{"sku": product.sku, "quantity": 1}]},
            headers=headers,
            timeout=TIMEOUT_S,
        )
        assert placed.status_code == 201, placed.text
        wait_for(lambda: receiver.received, what="the first attempt to reach the receiver")
        worker.kill9()
        delivery = WebhookDelivery.objects.get()
        assert (delivery.status, delivery.attempts) == ("pending", 1)
        assert delivery.locked_until is not None  # the dead attempt's lease
        assert receiver.succeeded() == []

        # then a new worker delivers it once the lease has run out
        cluster.restart(worker)
        wait_for(lambda: receiver.succeeded(), what="the delivery after the restart")
        [message] = receiver.verified(hook["secret"])
        assert message["type"] == "order.status_changed"
        assert message["data"] == {
            "id": placed.json()["id"],
            "status": "placed",
            "previous_status": None,
            "tracking_status": None,
        }
        assert receiver.success_counts() == {message["id"]: 1}
        assert len(receiver.received) == 2
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == ("succeeded", 2)
    finally:
        receiver.stop()
