"""Under real concurrency (forked processes, PostgreSQL): one claimer per delivery, one POST
per attempt, and events of one object queued in their commit order."""

import itertools
from collections import Counter

import pytest
from django.db import connections

from accounts.webhooks.delivery import Outcome, webhook_delivery_attempt, webhook_delivery_claim
from accounts.webhooks.models import WebhookDelivery, WebhookEvent
from accounts.webhooks.services import webhook_event_emit
from config.errors import ApplicationError
from orders.services import OrderLine, order_cancel, order_place, tracking_event_add
from tests.accounts.factories import AddressFactory
from tests.concurrency import fire_concurrently
from tests.orders.factories import ProductFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CALLS = 20


def test_twenty_concurrent_claims_of_one_delivery_have_one_winner(user, make_webhook, no_worker):
    make_webhook(user, "http://127.0.0.1:9/hook")
    event = webhook_event_emit(owner_id=user.pk, event_type="quote.used", object_id="q", data={})
    delivery_id = WebhookDelivery.objects.get(event=event).pk

    def claim(_):
        claimed = webhook_delivery_claim(delivery_id=delivery_id)
        connections.close_all()
        return None if claimed is None else str(claimed.lease)

    outcomes = fire_concurrently(claim, CALLS, processes=4)

    winners = [lease for lease in outcomes if lease is not None]
    assert len(winners) == 1, outcomes
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert (str(delivery.lease), delivery.attempts) == (winners[0], 1)


def test_twenty_concurrent_attempts_post_once(user, make_webhook, receiver, no_worker):
    _, secret = make_webhook(user, receiver.url())
    event = webhook_event_emit(owner_id=user.pk, event_type="quote.used", object_id="q", data={})
    delivery_id = WebhookDelivery.objects.get(event=event).pk

    outcomes = fire_concurrently(
        lambda _: webhook_delivery_attempt(delivery_id=delivery_id), CALLS, processes=4
    )

    assert Counter(outcomes) == {Outcome.SUCCEEDED: 1, Outcome.SKIPPED: CALLS - 1}, outcomes
    assert len(receiver.received) == 1
    assert len(receiver.verified(secret)) == 1
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert (delivery.status, delivery.attempts) == ("succeeded", 1)


def test_racing_status_changes_of_one_order_queue_their_events_in_commit_order(user, make_webhook):
    # given a placed order of a user with a webhook
    make_webhook(user, "http://127.0.0.1:9/hook", ["order.status_changed"])
    product = ProductFactory(stock_quantity=5)
    order = order_place(
        user=user, lines=[OrderLine(product.sku, 1)], address_id=AddressFactory(user=user).id
    )
    moves = ["in_transit", "delivered", "cancel", "out_for_delivery"] * (CALLS // 4)

    def move(index):
        try:
            if moves[index] == "cancel":
                order_cancel(user=user, order_id=order.id)
            else:
                tracking_event_add(
                    order_id=order.id, status=moves[index], carrier="DHL", tracking_number="1"
                )
        except ApplicationError as exc:
            return exc.code
        return "ok"

    # when cancels and tracking events race from several processes
    fire_concurrently(move, CALLS, processes=4)

    # then, in delivery order, each event starts where the one before ended
    events = [
        d.event
        for d in WebhookDelivery.objects.select_related("event").order_by("pk")
        if d.event.object_id == str(order.id)
    ]
    chain = [(e.payload["previous_status"], e.payload["status"]) for e in events]
    assert chain[0] == (None, "placed")
    for (_, before), (after_previous, _) in itertools.pairwise(chain):
        assert after_previous == before, chain
    assert len(chain) == WebhookEvent.objects.count() >= 2
