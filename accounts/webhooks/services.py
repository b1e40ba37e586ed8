"""Webhook use cases: register and delete endpoints, emit events into the outbox (in the
transaction of the change), staff actions, retention."""

import functools
import logging
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.webhooks.models import (
    Webhook,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEvent,
    WebhookEventType,
)
from accounts.webhooks.secret_store import (
    SecretUnreadable,
    webhook_secret_encrypt,
    webhook_secret_new,
    webhook_secret_reencrypt,
)
from accounts.webhooks.transport import address_refusal, host_allowed, ip_literal, target_parse
from config.cleanup import delete_in_batches
from config.errors import NotFound, ValidationFailed
from config.queue import enqueue_on_commit

logger = logging.getLogger(__name__)

URL_MAX_CHARS = 2000
EVENT_CLEANUP_BATCH_SIZE = 1000


# --- endpoints ------------------------------------------------------------------------------


def webhook_url_check(url: str) -> str:
    """An http(s) URL of at most URL_MAX_CHARS, without credentials or fragment, and not a
    literal address the delivery guard would refuse; else ValidationFailed. Host names are
    checked when delivering (they may resolve differently by then)."""
    problem = ""
    if len(url) > URL_MAX_CHARS:
        problem = f"At most {URL_MAX_CHARS} characters."
    else:
        try:
            target = target_parse(url)
        except ValueError as exc:
            problem = str(exc) or "Not a valid URL."
        else:
            literal = ip_literal(target.host)
            if literal is not None:
                allowed = host_allowed(target.host, settings.WEBHOOK_ALLOWED_PRIVATE_HOSTS)
                refusal = address_refusal(literal, host_allowed=allowed)
                if refusal:
                    problem = f"Deliveries to {refusal} are refused."
    if problem:
        raise ValidationFailed("The webhook URL is not allowed.", details={"url": [problem]})
    return url


def webhook_create(
    *, owner: User, url: str, events: list[str], description: str = ""
) -> tuple[Webhook, str]:
    """Register an endpoint of `owner` for `events`; returns it and its signing secret,
    which is never readable through the API again (only its encryption is stored).

    At most WEBHOOK_MAX_PER_USER per user, however many requests race: they take turns on
    the user's row lock.
    """
    webhook_url_check(url)
    unknown = sorted(set(events) - set(WebhookEventType.values))
    if unknown or not events:
        raise ValidationFailed(
            "Unknown event types.",
            details={"events": [f"Choose from {', '.join(WebhookEventType.values)}."]},
        )
    secret = webhook_secret_new()
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=owner.pk).exists()
        if Webhook.objects.filter(owner=owner).count() >= settings.WEBHOOK_MAX_PER_USER:
            raise ValidationFailed(
                f"At most {settings.WEBHOOK_MAX_PER_USER} webhooks per user.",
                details={"url": ["Delete a webhook first."]},
            )
        webhook = Webhook.objects.create(
            owner=owner,
            url=url,
            events=list(dict.fromkeys(events)),
            description=description,
            secret_encrypted=webhook_secret_encrypt(secret),
        )
    return webhook, secret


def webhook_delete(*, owner: User, webhook_id: uuid.UUID) -> None:
    """Delete the owner's webhook with its deliveries (a pending one is never sent); someone
    else's or an unknown one → NotFound."""
    deleted, _ = Webhook.objects.filter(pk=webhook_id, owner=owner).delete()
    if not deleted:
        raise NotFound("No such webhook.")


# --- the outbox -----------------------------------------------------------------------------


def webhook_event_emit(
    *, owner_id: Any, event_type: str, object_id: Any, data: dict[str, Any]
) -> WebhookEvent | None:
    """Record that `event_type` happened to an object of `owner_id`, for each of the owner's
    active webhooks that wants it; None when none does (or the object has no owner).

    Call it inside the transaction that makes the change, after the statement that locks or
    changes the object's row: the event and its deliveries then commit or roll back with the
    change (no event for a rolled-back change, none lost), and events of one object get
    delivery ids in commit order, which is the order they are delivered in. The delivery
    tasks are published after the commit; a broker outage only leaves them to the sweep.
    Cost without a matching webhook: one indexed query.
    """
    if owner_id is None:
        return None
    hook_ids = [
        hook_id
        for hook_id, events in Webhook.objects.filter(
            owner_id=owner_id, is_active=True
        ).values_list("id", "events")
        if event_type in events
    ]
    if not hook_ids:
        return None
    now = timezone.now()
    object_type = event_type.partition(".")[0]
    object_key = f"{object_type}:{object_id}"
    with transaction.atomic(savepoint=False):  # joins the caller's transaction
        event = WebhookEvent.objects.create(
            type=event_type,
            owner_id=owner_id,
            object_type=object_type,
            object_id=str(object_id),
            payload=data,
            created_at=now,
        )
        deliveries = WebhookDelivery.objects.bulk_create(
            WebhookDelivery(
                webhook_id=hook_id,
                event=event,
                object_key=object_key,
                next_attempt_at=now,
                retry_until=now + timedelta(seconds=settings.WEBHOOK_RETRY_WINDOW_S),
                enqueued_at=now,
                created_at=now,
            )
            for hook_id in hook_ids
        )
        for delivery in deliveries:
            webhook_delivery_publish_on_commit(delivery_id=delivery.pk)
    return event


def _mark_unqueued(*, delivery_id: int) -> None:
    """The broker refused the task: let the sweep publish it as soon as it is due."""
    WebhookDelivery.objects.filter(pk=delivery_id).update(enqueued_at=None)


def webhook_delivery_publish_on_commit(*, delivery_id: int) -> None:
    """Publish the delivery's task after the commit; a broker error is logged and leaves
    the delivery to the sweep (the committed change stands)."""
    from accounts.webhooks.tasks import webhook_delivery_task  # the tasks import services

    enqueue_on_commit(
        webhook_delivery_task,
        args=[delivery_id],
        on_broker_error=functools.partial(_mark_unqueued, delivery_id=delivery_id),
        best_effort=True,
    )


# --- staff actions --------------------------------------------------------------------------


def webhook_delivery_redeliver(*, delivery_ids: list[int]) -> int:
    """Staff: send these deliveries again, whatever their state, as new ones (attempts
    from 0, a fresh retry window); an attempt in flight keeps its lease. Returns how many."""
    now = timezone.now()
    with transaction.atomic():
        idle = WebhookDelivery.objects.exclude(locked_until__gt=now)
        ids = list(idle.filter(pk__in=delivery_ids).order_by("pk").values_list("pk", flat=True))
        count = idle.filter(pk__in=ids).update(
            status=WebhookDeliveryStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
            retry_until=now + timedelta(seconds=settings.WEBHOOK_RETRY_WINDOW_S),
            finished_at=None,
            enqueued_at=now,
            last_error="",
            last_status_code=None,
        )
        for delivery_id in ids:
            webhook_delivery_publish_on_commit(delivery_id=delivery_id)
    return count


def webhook_enable(*, webhook_ids: list) -> int:
    """Staff: turn disabled webhooks back on with a clean failure count; their pending
    deliveries resume (the sweep finds them)."""
    return Webhook.objects.filter(pk__in=webhook_ids, is_active=False).update(
        is_active=True, consecutive_failures=0, disabled_reason="", disabled_at=None
    )


def webhook_disable(*, webhook_ids: list, reason: str) -> int:
    """Staff: stop delivering to these webhooks (pending deliveries wait)."""
    return Webhook.objects.filter(pk__in=webhook_ids, is_active=True).update(
        is_active=False, disabled_reason=reason, disabled_at=timezone.now()
    )


# --- retention ------------------------------------------------------------------------------


def webhook_event_cleanup() -> dict[str, int]:
    """Delete events older than WEBHOOK_EVENT_RETENTION with their deliveries, except events
    a delivery is still pending for (a disabled webhook's, say)."""
    cutoff = timezone.now() - settings.WEBHOOK_EVENT_RETENTION
    pending = WebhookDelivery.objects.pending().values("event_id")
    old = WebhookEvent.objects.filter(created_at__lt=cutoff).exclude(pk__in=pending)
    deleted = delete_in_batches(old, batch_size=EVENT_CLEANUP_BATCH_SIZE)
    return {
        "webhook_events_deleted": deleted[WebhookEvent._meta.label],
        "webhook_deliveries_deleted": deleted[WebhookDelivery._meta.label],
    }


def webhook_secrets_reencrypt() -> dict[str, int]:
    """Re-encrypt every stored signing secret under the current SECRET_KEY, so that an old
    key can leave SECRET_KEY_FALLBACKS. A secret no key decrypts is counted, not touched."""
    counts = {"reencrypted": 0, "unreadable": 0}
    for webhook_id, token in Webhook.objects.values_list("id", "secret_encrypted").iterator():
        try:
            fresh = webhook_secret_reencrypt(token)
        except SecretUnreadable:
            logger.warning("webhook %s: signing secret unreadable with every key", webhook_id)
            counts["unreadable"] += 1
            continue
        Webhook.objects.filter(pk=webhook_id, secret_encrypted=token).update(secret_encrypted=fresh)
        counts["reencrypted"] += 1
    return counts
