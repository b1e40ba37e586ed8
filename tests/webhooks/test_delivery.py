"""Delivering: signed per Standard Webhooks, retried with backoff, failed after the window
(owner notified, webhook disabled after a streak), in order per object, under a lease."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Notification
from accounts.webhooks.delivery import (
    Outcome,
    message_body,
    retry_delay_s,
    webhook_delivery_attempt,
    webhook_delivery_claim,
    webhook_delivery_record,
    webhook_delivery_sweep,
)
from accounts.webhooks.models import Webhook, WebhookDelivery, WebhookDeliveryStatus
from accounts.webhooks.services import webhook_delivery_redeliver, webhook_event_emit
from accounts.webhooks.transport import PostResult

PAST = timedelta(seconds=1)


def emit(user, object_id="r1", event_type="render.completed", **data):
    return webhook_event_emit(
        owner_id=user.pk,
        event_type=event_type,
        object_id=object_id,
        data={"id": object_id, **data},
    )


def delivery_of(event) -> WebhookDelivery:
    return WebhookDelivery.objects.get(event=event)


def make_due(delivery: WebhookDelivery) -> None:
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - PAST)


def test_a_delivery_is_signed_and_verifies_with_standardwebhooks(user, make_webhook, receiver):
    _, secret = make_webhook(user, receiver.url())
    event = emit(user, status="completed")

    outcome = webhook_delivery_attempt(delivery_id=delivery_of(event).pk)

    assert outcome == Outcome.SUCCEEDED
    [body] = receiver.verified(secret)
    assert body == {
        "id": str(event.id),
        "type": "render.completed",
        "created_at": body["created_at"],
        "data": {"id": "r1", "status": "completed"},
    }
    headers = receiver.received[0].headers
    assert headers["webhook-id"] == str(event.id)
    assert headers["webhook-signature"].startswith("v1,")
    assert headers["content-type"] == "application/json"
    assert receiver.received[0].body == message_body(event).encode()
    delivery = delivery_of(event)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 1, 200)
    assert delivery.lease is None
    assert delivery.finished_at is not None


def test_a_wrong_secret_does_not_verify(user, make_webhook, receiver):
    from standardwebhooks import Webhook as Verifier
    from standardwebhooks.webhooks import WebhookVerificationError

    make_webhook(user, receiver.url())
    _, other_secret = make_webhook(user, receiver.url("/other"), ["quote.used"])
    webhook_delivery_attempt(delivery_id=delivery_of(emit(user)).pk)

    received = receiver.received[0]
    with pytest.raises(WebhookVerificationError):
        Verifier(other_secret).verify(received.body, received.headers)


def test_every_attempt_counts_in_the_webhook_metric_by_outcome(user, make_webhook, receiver):
    from tests.config.test_metrics import sample

    make_webhook(user, receiver.url())
    receiver.plan = ["500"]
    delivery = delivery_of(emit(user))
    name = "atelier_webhook_deliveries_total"
    before = {o: sample(name, outcome=o) for o in ("delivered", "failed", "gave_up")}

    webhook_delivery_attempt(delivery_id=delivery.pk)
    make_due(delivery)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(retry_until=timezone.now())
    receiver.plan = ["500"]
    webhook_delivery_attempt(delivery_id=delivery.pk)
    webhook_delivery_attempt(delivery_id=delivery_of(emit(user, "r2")).pk)

    after = {o: sample(name, outcome=o) for o in ("delivered", "failed", "gave_up")}
    assert {o: after[o] - before[o] for o in after} == {"delivered": 1, "failed": 1, "gave_up": 1}


def test_a_failed_attempt_is_retried_after_the_backoff_then_succeeds(
    user, make_webhook, receiver, settings
):
    # given a receiver that fails once
    settings.WEBHOOK_RETRY_BASE_S = 5
    make_webhook(user, receiver.url())
    receiver.plan = ["500"]
    delivery = delivery_of(emit(user))

    # when the first attempt fails
    before = timezone.now()
    assert webhook_delivery_attempt(delivery_id=delivery.pk) == Outcome.RETRY

    # then it is due again after 5 to 6 s, and not claimable before
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
    assert delivery.last_error == "HTTP 500"
    wait = delivery.next_attempt_at - before
    assert timedelta(seconds=5) <= wait <= timedelta(seconds=6.5)
    assert webhook_delivery_attempt(delivery_id=delivery.pk) == Outcome.SKIPPED

    # when it is due: the second attempt succeeds, the id is delivered once
    make_due(delivery)
    assert webhook_delivery_attempt(delivery_id=delivery.pk) == Outcome.SUCCEEDED
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", 2)
    assert list(receiver.success_counts().values()) == [1]
    assert len(receiver.received) == 2


def test_backoff_doubles_with_jitter_and_is_capped(settings):
    settings.WEBHOOK_RETRY_BASE_S = 5
    settings.WEBHOOK_RETRY_MAX_DELAY_S = 3600
    for attempts, base in [(1, 5), (2, 10), (3, 20), (8, 640)]:
        for _ in range(20):
            assert base <= retry_delay_s(attempts) <= base * 1.2
    assert retry_delay_s(12) == 3600
    assert retry_delay_s(10_000) == 3600


def test_after_the_retry_window_it_fails_for_good_and_the_owner_is_notified(
    user, make_webhook, receiver
):
    webhook, _ = make_webhook(user, receiver.url())
    receiver.default = "503"
    first, second = emit(user, "r1"), emit(user, "r1", event_type="render.failed")
    delivery = delivery_of(first)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(retry_until=timezone.now())

    assert webhook_delivery_attempt(delivery_id=delivery.pk) == Outcome.FAILED

    delivery.refresh_from_db()
    assert (delivery.status, delivery.last_status_code) == ("failed", 503)
    note = Notification.objects.get(user=user)
    assert note.kind == "webhook.delivery_failed"
    assert note.data["event_id"] == str(first.id)
    webhook.refresh_from_db()
    assert (webhook.consecutive_failures, webhook.is_active) == (1, True)
    # the next event of the same object, which waited, is published now
    assert delivery_of(second).enqueued_at is not None
    assert webhook_delivery_claim(delivery_id=delivery_of(second).pk) is not None


def test_a_streak_of_failed_deliveries_disables_the_webhook(user, make_webhook, receiver, settings):
    # given a webhook that may fail two deliveries in a row
    settings.WEBHOOK_DISABLE_AFTER = 2
    webhook, _ = make_webhook(user, receiver.url())
    receiver.plan = ["500", "200", "500", "500"]

    # when deliveries fail, succeed, fail, fail (each its last attempt)
    for n in range(4):
        delivery = delivery_of(emit(user, f"r{n}"))
        WebhookDelivery.objects.filter(pk=delivery.pk).update(retry_until=timezone.now())
        webhook_delivery_attempt(delivery_id=delivery.pk)
        if n == 1:
            webhook.refresh_from_db()
            assert webhook.consecutive_failures == 0  # a success ends the streak

    # then it is disabled with its reason; the owner is told; no new deliveries
    webhook.refresh_from_db()
    assert (webhook.is_active, webhook.consecutive_failures) == (False, 2)
    assert "2 deliveries in a row failed" in webhook.disabled_reason
    assert "HTTP 500" in webhook.disabled_reason
    kinds = sorted(Notification.objects.filter(user=user).values_list("kind", flat=True))
    assert kinds == ["webhook.delivery_failed"] * 3 + ["webhook.disabled"]
    assert emit(user, "r9") is None


def test_events_of_one_object_go_out_in_order_others_do_not_wait(user, make_webhook, receiver):
    # given two events of object A and one of object B
    make_webhook(user, receiver.url())
    a1, a2 = emit(user, "A"), emit(user, "A", event_type="render.failed")
    b1 = emit(user, "B")
    receiver.plan = ["500"]

    # then only the first of A and the one of B are due
    due = set(WebhookDelivery.objects.due(timezone.now()).values_list("event_id", flat=True))
    assert due == {a1.id, b1.id}
    assert webhook_delivery_attempt(delivery_id=delivery_of(a2).pk) == Outcome.SKIPPED

    # when A's first fails (retry later), B still goes out and A's second still waits
    assert webhook_delivery_attempt(delivery_id=delivery_of(a1).pk) == Outcome.RETRY
    assert webhook_delivery_attempt(delivery_id=delivery_of(b1).pk) == Outcome.SUCCEEDED
    assert webhook_delivery_attempt(delivery_id=delivery_of(a2).pk) == Outcome.SKIPPED

    # when A's first succeeds, A's second goes out
    make_due(delivery_of(a1))
    assert webhook_delivery_attempt(delivery_id=delivery_of(a1).pk) == Outcome.SUCCEEDED
    assert webhook_delivery_attempt(delivery_id=delivery_of(a2).pk) == Outcome.SUCCEEDED
    order = [r.headers["webhook-id"] for r in receiver.succeeded()]
    assert order == [str(b1.id), str(a1.id), str(a2.id)]


def test_a_lease_is_exclusive_until_it_expires_and_a_lost_lease_records_nothing(
    user, make_webhook, receiver
):
    make_webhook(user, receiver.url())
    delivery = delivery_of(emit(user))

    first = webhook_delivery_claim(delivery_id=delivery.pk)
    assert first is not None
    assert webhook_delivery_claim(delivery_id=delivery.pk) is None

    # the first holder "dies": its lease runs out and another attempt takes over
    WebhookDelivery.objects.filter(pk=delivery.pk).update(locked_until=timezone.now() - PAST)
    second = webhook_delivery_claim(delivery_id=delivery.pk)
    assert second is not None
    assert second.attempts == 2

    late = webhook_delivery_record(delivery=first, result=PostResult(status_code=500, error="x"))
    assert late == Outcome.LEASE_LOST
    ok = webhook_delivery_record(delivery=second, result=PostResult(status_code=204, error=""))
    assert ok == Outcome.SUCCEEDED
    delivery.refresh_from_db()
    assert (delivery.status, delivery.last_status_code) == ("succeeded", 204)


def test_a_disabled_webhooks_deliveries_wait(user, make_webhook, receiver):
    webhook, _ = make_webhook(user, receiver.url())
    delivery = delivery_of(emit(user))
    Webhook.objects.filter(pk=webhook.pk).update(is_active=False)

    assert webhook_delivery_attempt(delivery_id=delivery.pk) == Outcome.SKIPPED
    assert webhook_delivery_sweep() == {"webhook_deliveries_published": 0}
    assert receiver.received == []


def test_the_sweep_publishes_due_deliveries_whose_task_is_not_queued(
    user, make_webhook, receiver, settings
):
    # given: one never published, one published just now, one published long ago (lost),
    # one not due yet
    settings.WEBHOOK_REQUEUE_AFTER_S = 300
    make_webhook(user, receiver.url())
    unpublished, fresh, lost, later = (delivery_of(emit(user, f"r{n}")) for n in range(4))
    now = timezone.now()
    WebhookDelivery.objects.filter(pk=unpublished.pk).update(enqueued_at=None)
    WebhookDelivery.objects.filter(pk=lost.pk).update(enqueued_at=now - timedelta(seconds=301))
    WebhookDelivery.objects.filter(pk=later.pk).update(
        enqueued_at=None, next_attempt_at=now + timedelta(minutes=5)
    )

    # when the sweep runs (tasks run in-process in these tests)
    counts = webhook_delivery_sweep()

    # then exactly the unpublished and the lost one were sent
    assert counts == {"webhook_deliveries_published": 2}
    statuses = dict(WebhookDelivery.objects.values_list("pk", "status"))
    assert statuses == {
        unpublished.pk: "succeeded",
        fresh.pk: "pending",
        lost.pk: "succeeded",
        later.pk: "pending",
    }


def test_staff_redeliver_sends_a_finished_delivery_again_as_new(user, make_webhook, receiver):
    make_webhook(user, receiver.url())
    delivery = delivery_of(emit(user))
    webhook_delivery_attempt(delivery_id=delivery.pk)

    assert webhook_delivery_redeliver(delivery_ids=[delivery.pk]) == 1

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.finished_at) == ("pending", 0, None)
    assert webhook_delivery_attempt(delivery_id=delivery.pk) == Outcome.SUCCEEDED
    assert receiver.success_counts() == {str(delivery.event_id): 2}


def test_an_unreadable_secret_is_a_failed_attempt_not_a_crash(user, make_webhook, receiver):
    webhook, _ = make_webhook(user, receiver.url())
    Webhook.objects.filter(pk=webhook.pk).update(secret_encrypted="garbage")
    delivery = delivery_of(emit(user))

    assert webhook_delivery_attempt(delivery_id=delivery.pk) == Outcome.RETRY

    delivery.refresh_from_db()
    assert "secret is unreadable" in delivery.last_error
    assert receiver.received == []
    assert delivery.status == WebhookDeliveryStatus.PENDING


def test_a_crashing_attempt_is_a_failed_attempt_not_a_stuck_lease(
    user, make_webhook, receiver, monkeypatch
):
    import accounts.webhooks.delivery as delivery_module

    make_webhook(user, receiver.url())
    delivery = delivery_of(emit(user))

    def broken(event):
        raise RuntimeError("a bug")

    monkeypatch.setattr(delivery_module, "message_body", broken)

    assert webhook_delivery_attempt(delivery_id=delivery.pk) == Outcome.RETRY
    delivery.refresh_from_db()
    assert (delivery.lease, delivery.locked_until, delivery.attempts) == (None, None, 1)
    assert "a bug" in delivery.last_error
