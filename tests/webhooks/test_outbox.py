"""The outbox: an event and its deliveries commit with the change, or not at all; each
emitting service writes its event; a broker outage never fails the change."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.webhooks.models import Webhook, WebhookDelivery, WebhookDeliveryStatus, WebhookEvent
from accounts.webhooks.services import webhook_event_emit
from orders.models import OrderStatus
from orders.services import OrderLine, order_cancel, order_place, tracking_event_add
from quotes.identity import Caller
from quotes.models import Quote
from quotes.runs.events import run_event_append
from quotes.runs.models import QuoteRunEventType
from quotes.services import quote_use
from rendering.services.render_jobs import render_job_claim, render_job_complete, render_job_fail
from tests.accounts.factories import AddressFactory
from tests.conftest import client_for
from tests.e2e.harness import free_port
from tests.orders.factories import ProductFactory
from tests.quote_runs.factories import QuoteRunFactory
from tests.quotes.factories import QuoteFactory
from tests.rendering.factories import ShopFactory
from tests.webhooks.factories import RenderJobFactory

pytestmark = pytest.mark.django_db(transaction=True)

# Nothing listens there: the in-process attempts after each commit fail on loopback.
UNREACHABLE = "http://127.0.0.1:9/hook"


class Boom(Exception):
    pass


def events_of(user) -> list[tuple[str, str]]:
    events = WebhookEvent.objects.filter(owner=user).order_by("created_at")
    return list(events.values_list("type", "object_id"))


def rolled_back(change) -> int:
    """Run `change()` in a transaction that then rolls back; the events written inside."""
    try:
        with transaction.atomic():
            change()
            raise Boom(WebhookEvent.objects.count())
    except Boom as exc:
        return exc.args[0]


def test_a_rolled_back_change_leaves_no_event_and_no_delivery(user, make_webhook):
    # given a webhook for order events and a placed order
    make_webhook(user, UNREACHABLE, ["order.status_changed"])
    product = ProductFactory(stock_quantity=5)
    address = AddressFactory(user=user)
    order = order_place(user=user, lines=[OrderLine(product.sku, 1)], address_id=address.id)
    assert events_of(user) == [("order.status_changed", str(order.id))]

    # when a cancel emits its event, then its transaction rolls back
    written = rolled_back(lambda: order_cancel(user=user, order_id=order.id))

    # then the event was written inside it, and the cancel left nothing behind
    assert written == 2
    order.refresh_from_db()
    assert order.status == OrderStatus.PLACED
    assert events_of(user) == [("order.status_changed", str(order.id))]
    assert WebhookDelivery.objects.count() == 1


def test_a_render_completed_in_a_rolled_back_transaction_emits_nothing(user, make_webhook):
    make_webhook(user, UNREACHABLE)
    job = RenderJobFactory(shop=ShopFactory(owner=user))
    attempt = render_job_claim(job_id=job.pk).attempts

    written = rolled_back(
        lambda: render_job_complete(job_id=job.pk, result_key="renders/x.png", attempt=attempt)
    )

    assert written == 1
    assert not WebhookEvent.objects.exists()
    assert not WebhookDelivery.objects.exists()


def test_every_emitting_service_writes_its_event_for_the_owner(user, make_webhook):
    make_webhook(user, UNREACHABLE)
    shop = ShopFactory(owner=user)
    done, failed = RenderJobFactory(shop=shop), RenderJobFactory(shop=shop)
    attempt = render_job_claim(job_id=done.pk).attempts
    render_job_complete(job_id=done.pk, result_key="renders/x.png", attempt=attempt)
    render_job_fail(job_id=failed.pk, error="bad image")
    run_ok, run_ko = QuoteRunFactory(user=user), QuoteRunFactory(user=user)
    run_event_append(
        run_id=run_ok.pk, event_type=QuoteRunEventType.RUN_COMPLETED, key="t", result={"a": 1}
    )
    run_event_append(run_id=run_ko.pk, event_type=QuoteRunEventType.RUN_FAILED, key="t")
    quote = QuoteFactory(user=user)
    quote_use(quote_id=quote.pk, caller=Caller(user=user, session_id=None))
    product = ProductFactory(stock_quantity=5)
    order = order_place(
        user=user, lines=[OrderLine(product.sku, 1)], address_id=AddressFactory(user=user).id
    )
    tracking_event_add(order_id=order.id, status="in_transit", carrier="DHL", tracking_number="1")
    tracking_event_add(order_id=order.id, status="in_transit")  # no status change: no event
    tracking_event_add(order_id=order.id, status="delivered")

    assert events_of(user) == [
        ("render.completed", str(done.pk)),
        ("render.failed", str(failed.pk)),
        ("quote_run.completed", str(run_ok.pk)),
        ("quote_run.failed", str(run_ko.pk)),
        ("quote.used", str(quote.pk)),
        ("order.status_changed", str(order.id)),
        ("order.status_changed", str(order.id)),
        ("order.status_changed", str(order.id)),
    ]
    statuses = [
        (e.payload["previous_status"], e.payload["status"])
        for e in WebhookEvent.objects.filter(type="order.status_changed").order_by("created_at")
    ]
    assert statuses == [(None, "placed"), ("placed", "shipped"), ("shipped", "delivered")]
    failed_event = WebhookEvent.objects.get(type="render.failed")
    assert failed_event.payload["error"] == "bad image"
    assert failed_event.payload["shop_id"] == str(shop.pk)
    assert WebhookEvent.objects.get(type="quote_run.completed").payload["result"] == {"a": 1}
    assert WebhookDelivery.objects.count() == 8


def test_only_matching_active_webhooks_of_the_owner_get_a_delivery(user, make_user, make_webhook):
    wants, _ = make_webhook(user, UNREACHABLE, ["quote.used"])
    make_webhook(user, UNREACHABLE, ["render.completed"])
    off, _ = make_webhook(user, UNREACHABLE, ["quote.used"])
    Webhook.objects.filter(pk=off.pk).update(is_active=False)
    make_webhook(make_user(), UNREACHABLE, ["quote.used"])

    with transaction.atomic():
        event = webhook_event_emit(
            owner_id=user.pk, event_type="quote.used", object_id="q1", data={"id": "q1"}
        )

    assert event is not None
    assert list(WebhookDelivery.objects.values_list("webhook_id", "event_id", "status")) == [
        (wants.pk, event.pk, WebhookDeliveryStatus.PENDING)
    ]


def test_without_a_matching_webhook_emit_costs_one_query_and_writes_nothing(user, make_webhook):
    make_webhook(user, UNREACHABLE, ["render.completed"])

    with CaptureQueriesContext(connection) as queries:
        event = webhook_event_emit(
            owner_id=user.pk, event_type="quote.used", object_id="q1", data={}
        )
    with CaptureQueriesContext(connection) as anonymous:
        none = webhook_event_emit(owner_id=None, event_type="quote.used", object_id="q", data={})

    assert (event, none) == (None, None)
    assert len(queries) == 1
    assert len(anonymous) == 0
    assert not WebhookEvent.objects.exists()


def test_anonymous_objects_emit_nothing(user, make_webhook):
    make_webhook(user, UNREACHABLE)
    quote = QuoteFactory(user=None, session_id="anon-session-000001")

    quote_use(quote_id=quote.pk, caller=Caller(user=None, session_id="anon-session-000001"))

    assert Quote.objects.get(pk=quote.pk).status == "used"
    assert not WebhookEvent.objects.exists()


@pytest.mark.redis
def test_a_broker_outage_never_fails_the_change_and_the_sweep_delivers_later(
    user, make_webhook, receiver
):
    # given a webhook and a dead broker
    from accounts.webhooks.delivery import webhook_delivery_sweep
    from config.celery import app
    from tests.config.test_idempotency_concurrency import use_broker

    secret = make_webhook(user, receiver.url(), ["order.status_changed"])[1]
    product = ProductFactory(stock_quantity=5)
    address = AddressFactory(user=user)
    previous = app.conf.broker_url
    use_broker(app, url=f"redis://127.0.0.1:{free_port()}/0", eager=False)
    try:
        # when an order is placed
        response = client_for(user).post(
            "/api/orders",
            {"items": [{"sku": product.sku, "quantity": 1}], "address_id": str(address.id)},
            format="json",
        )
    finally:
        use_broker(app, url=previous, eager=True)

    # then the order stands and its delivery waits for the sweep
    assert response.status_code == 201, response.content
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.enqueued_at, delivery.attempts) == ("pending", None, 0)
    assert receiver.received == []

    assert webhook_delivery_sweep() == {"webhook_deliveries_published": 1}
    delivery.refresh_from_db()
    assert delivery.status == WebhookDeliveryStatus.SUCCEEDED
    [body] = receiver.verified(secret)
    assert body["data"] == {
        "id": response.json()["id"],
        "status": "placed",
        "previous_status": None,
        "tracking_status": None,
    }
