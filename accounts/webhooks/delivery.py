"""Delivering the outbox: claim a due delivery under a lease, POST it signed (Standard
Webhooks), record the outcome, retry with backoff, give up after the retry window, disable
a webhook that keeps failing; the sweep publishes whatever is due and was not published."""

import json
import logging
import random
import time
import uuid
from datetime import UTC, datetime, timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from standardwebhooks import Webhook as SignatureScheme

from accounts.models import User
from accounts.services.notifications import notification_create
from accounts.webhooks.models import (
    Webhook,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEvent,
)
from accounts.webhooks.secret_store import SecretUnreadable, webhook_secret_decrypt
from accounts.webhooks.services import webhook_delivery_publish_on_commit
from accounts.webhooks.transport import PostResult, http_post
from config.metrics import webhook_delivery_count
from config.queue import BROKER_ERRORS

logger = logging.getLogger(__name__)

RETRY_JITTER = 0.2  # each delay is stretched by up to 20 %, so retries of many spread out
MAX_BACKOFF_EXPONENT = 30  # 2**30 times any base is past every sensible cap
MAX_ERROR_CHARS = 1000
NOTIFICATION_KIND_FAILED = "webhook.delivery_failed"
NOTIFICATION_KIND_DISABLED = "webhook.disabled"

_jitter = random.SystemRandom()


class Outcome:
    SUCCEEDED = "succeeded"
    RETRY = "retry"
    FAILED = "failed"  # for good: the retry window is over
    SKIPPED = "skipped"  # not claimable: done, not due, leased, blocked or gone
    LEASE_LOST = "lease_lost"  # the attempt outlived its lease; another one owns it now


# The label of config.metrics' webhook counter for each attempt's outcome (an attempt whose
# lease was lost counts by its answer).
_METRIC_OUTCOMES = {
    Outcome.SUCCEEDED: "delivered",
    Outcome.RETRY: "failed",
    Outcome.FAILED: "gave_up",
}


# --- what is sent ---------------------------------------------------------------------------


def message_body(event: WebhookEvent) -> str:
    """The JSON body of every delivery of `event`: {id, type, created_at, data}."""
    return json.dumps(
        {
            "id": str(event.id),
            "type": event.type,
            "created_at": event.created_at,
            "data": event.payload,
        },
        cls=DjangoJSONEncoder,
        separators=(",", ":"),
    )


def signed_headers(*, secret: str, msg_id: str, body: str, at: datetime) -> dict[str, str]:
    """webhook-id, webhook-timestamp (Unix seconds) and webhook-signature (`v1,<base64
    HMAC-SHA256 of id.timestamp.body>`), made by the standardwebhooks package."""
    at = at.astimezone(UTC).replace(microsecond=0)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": SignatureScheme(secret).sign(msg_id=msg_id, timestamp=at, data=body),
    }


def retry_delay_s(attempts: int) -> float:
    """Seconds before the next attempt after `attempts` failed ones: WEBHOOK_RETRY_BASE_S,
    doubling, stretched by up to RETRY_JITTER, never over WEBHOOK_RETRY_MAX_DELAY_S."""
    exponent = min(max(attempts - 1, 0), MAX_BACKOFF_EXPONENT)
    delay = settings.WEBHOOK_RETRY_BASE_S * 2**exponent
    return min(delay * (1 + _jitter.uniform(0, RETRY_JITTER)), settings.WEBHOOK_RETRY_MAX_DELAY_S)


# --- claim ----------------------------------------------------------------------------------


def webhook_delivery_claim(*, delivery_id: int) -> WebhookDelivery | None:
    """Take the delivery for one attempt, or None when it is not claimable now.

    One guarded UPDATE (WebhookDeliveryQuerySet.due: pending, due, unleased, active webhook,
    first pending of its webhook and object) sets a fresh lease for WEBHOOK_LEASE_S and
    counts the attempt: of any number of concurrent claimers exactly one wins, and a worker
    killed mid-attempt frees the delivery when the lease ends.
    """
    now = timezone.now()
    lease = uuid.uuid4()
    claimed = (
        WebhookDelivery.objects.due(now)
        .filter(pk=delivery_id)
        .update(
            lease=lease,
            locked_until=now + timedelta(seconds=settings.WEBHOOK_LEASE_S),
            attempts=F("attempts") + 1,
            last_attempt_at=now,
            enqueued_at=None,
        )
    )
    if not claimed:
        return None
    return (
        WebhookDelivery.objects.select_related("webhook", "event")
        .filter(pk=delivery_id, lease=lease)
        .first()
    )


# --- one attempt ----------------------------------------------------------------------------


def _post(delivery: WebhookDelivery) -> PostResult:
    try:
        secret = webhook_secret_decrypt(delivery.webhook.secret_encrypted)
    except SecretUnreadable as exc:
        return PostResult(status_code=None, error=f"the signing secret is unreadable: {exc}")
    body = message_body(delivery.event)
    headers = signed_headers(
        secret=secret, msg_id=str(delivery.event_id), body=body, at=timezone.now()
    )
    return http_post(
        url=delivery.webhook.url,
        body=body.encode(),
        headers=headers,
        allowed_private_hosts=settings.WEBHOOK_ALLOWED_PRIVATE_HOSTS,
        connect_timeout_s=settings.WEBHOOK_CONNECT_TIMEOUT_S,
        read_timeout_s=settings.WEBHOOK_READ_TIMEOUT_S,
        max_response_bytes=settings.WEBHOOK_RESPONSE_MAX_BYTES,
    )


def webhook_delivery_attempt(*, delivery_id: int) -> str:
    """Claim the delivery, POST it once, record what happened; returns the Outcome.

    Safe to run any number of times, concurrently too (duplicate or redelivered tasks): only
    the claimer posts, and only while it holds the lease is its outcome recorded.
    """
    delivery = webhook_delivery_claim(delivery_id=delivery_id)
    if delivery is None:
        return Outcome.SKIPPED
    started = time.monotonic()
    try:
        result = _post(delivery)
    except SoftTimeLimitExceeded:
        result = PostResult(
            status_code=None,
            error=f"no answer within {settings.WEBHOOK_ATTEMPT_MAX_S} s (attempt time limit)",
        )
    except Exception as exc:
        # A bug must not leave the delivery to spin on lease expiries forever: it counts as
        # a failed attempt, so the retry window still ends it.
        logger.exception("webhook delivery %s: attempt crashed", delivery.pk)
        result = PostResult(status_code=None, error=f"internal error: {exc!r}")
    outcome = webhook_delivery_record(delivery=delivery, result=result)
    _log_attempt(delivery, result, outcome, duration_s=time.monotonic() - started)
    webhook_delivery_count(
        outcome=_METRIC_OUTCOMES.get(outcome, "delivered" if result.ok else "failed")
    )
    return outcome


def _log_attempt(
    delivery: WebhookDelivery, result: PostResult, outcome: str, *, duration_s: float
) -> None:
    # One line per attempt (with LOG_FORMAT=json, one JSON object): what the counter
    # atelier_webhook_deliveries cannot say, which delivery and why.
    logger.info(
        "webhook_delivery outcome=%s delivery=%s webhook=%s event=%s type=%s attempt=%s "
        "status=%s duration_ms=%d error=%r",
        outcome,
        delivery.pk,
        delivery.webhook_id,
        delivery.event_id,
        delivery.event.type,
        delivery.attempts,
        result.status_code if result.status_code is not None else "-",
        duration_s * 1000,
        result.error,
    )


# --- the outcome ----------------------------------------------------------------------------


@transaction.atomic
def webhook_delivery_record(*, delivery: WebhookDelivery, result: PostResult) -> str:
    """Write the outcome of the attempt that holds `delivery.lease`, in one transaction:

    - 2xx: succeeded; the webhook's failure streak ends; the next pending delivery of the
      same object is published (it waited for this one).
    - otherwise, within the retry window: due again after retry_delay_s(attempts);
    - otherwise: failed for good; the owner is notified, the streak grows (at
      WEBHOOK_DISABLE_AFTER the webhook is disabled, with its reason), and the next
      delivery of the object is published.

    A lease that is no longer ours (expired and taken over, or reset by staff) records
    nothing: LEASE_LOST.
    """
    now = timezone.now()
    mine = WebhookDelivery.objects.filter(
        pk=delivery.pk, lease=delivery.lease, status=WebhookDeliveryStatus.PENDING
    )
    released = {
        "lease": None,
        "locked_until": None,
        "enqueued_at": None,  # this attempt's task is done; the sweep publishes the next
        "last_status_code": result.status_code,
        "last_error": result.error[:MAX_ERROR_CHARS],
    }
    if result.ok:
        if not mine.update(status=WebhookDeliveryStatus.SUCCEEDED, finished_at=now, **released):
            return Outcome.LEASE_LOST
        Webhook.objects.filter(pk=delivery.webhook_id, consecutive_failures__gt=0).update(
            consecutive_failures=0
        )
        _publish_next_of_object(delivery)
        return Outcome.SUCCEEDED
    if now < delivery.retry_until:
        delay = timedelta(seconds=retry_delay_s(delivery.attempts))
        next_at = min(now + delay, delivery.retry_until)
        if not mine.update(next_attempt_at=next_at, **released):
            return Outcome.LEASE_LOST
        return Outcome.RETRY
    if not mine.update(status=WebhookDeliveryStatus.FAILED, finished_at=now, **released):
        return Outcome.LEASE_LOST
    _webhook_failed_for_good(delivery, result)
    _publish_next_of_object(delivery)
    return Outcome.FAILED


def _publish_next_of_object(delivery: WebhookDelivery) -> None:
    """The oldest delivery still pending for the same webhook and object is next in line."""
    next_id = (
        WebhookDelivery.objects.pending()
        .filter(webhook_id=delivery.webhook_id, object_key=delivery.object_key)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    if next_id is not None:
        WebhookDelivery.objects.filter(pk=next_id).update(enqueued_at=timezone.now())
        webhook_delivery_publish_on_commit(delivery_id=next_id)


def _webhook_failed_for_good(delivery: WebhookDelivery, result: PostResult) -> None:
    """Notify the owner; grow the webhook's streak (under its row lock), disabling it at
    WEBHOOK_DISABLE_AFTER."""
    webhook = Webhook.objects.select_for_update().filter(pk=delivery.webhook_id).first()
    if webhook is None:
        return
    owner = User.objects.get(pk=webhook.owner_id)
    window_h = settings.WEBHOOK_RETRY_WINDOW_S / 3600
    notification_create(
        user=owner,
        kind=NOTIFICATION_KIND_FAILED,
        title=f"Webhook delivery failed: {delivery.event.type}",
        body=(
            f"{webhook.url} did not accept event {delivery.event_id} after {delivery.attempts} "
            f"attempts over {window_h:g} h. Last error: {result.error}"
        ),
        data={
            "webhook_id": str(webhook.pk),
            "delivery_id": delivery.pk,
            "event_id": str(delivery.event_id),
            "type": delivery.event.type,
        },
    )
    webhook.consecutive_failures += 1
    fields = ["consecutive_failures"]
    if webhook.is_active and webhook.consecutive_failures >= settings.WEBHOOK_DISABLE_AFTER:
        webhook.is_active = False
        webhook.disabled_at = timezone.now()
        webhook.disabled_reason = (
            f"{webhook.consecutive_failures} deliveries in a row failed for good "
            f"(each retried for {window_h:g} h). Last error: {result.error}"
        )[:MAX_ERROR_CHARS]
        fields += ["is_active", "disabled_at", "disabled_reason"]
        notification_create(
            user=owner,
            kind=NOTIFICATION_KIND_DISABLED,
            title="Webhook disabled",
            body=f"{webhook.url} was disabled: {webhook.disabled_reason}",
            data={"webhook_id": str(webhook.pk)},
        )
        logger.warning("webhook %s disabled: %s", webhook.pk, webhook.disabled_reason)
    webhook.save(update_fields=fields)


# --- the sweep ------------------------------------------------------------------------------


def webhook_delivery_sweep() -> dict[str, int]:
    """Publish deliveries that are due and have no task believed queued: retries whose
    time has come, deliveries whose publish failed (broker down), whose worker died
    (lease expired) or whose task has not run within WEBHOOK_REQUEUE_AFTER_S (lost).
    Registered in settings.CLEANUPS (beat, single-flight under a short lease,
    WEBHOOK_SWEEP_LEASE_S: a killed sweep does not stop the next for long; two that overlap
    only publish a task twice, which the claim absorbs); at most WEBHOOK_SWEEP_BATCH a run.
    A sweep killed between marking and publishing leaves its batch to the sweep after
    WEBHOOK_REQUEUE_AFTER_S.
    """
    from accounts.webhooks.tasks import webhook_delivery_task  # the tasks import this module

    now = timezone.now()
    stale = now - timedelta(seconds=settings.WEBHOOK_REQUEUE_AFTER_S)
    with transaction.atomic():
        # Row locks until the mark commits: a claim racing the sweep waits, then clears the
        # mark (its task ran), instead of the sweep marking a delivery a worker just took.
        ids = list(
            WebhookDelivery.objects.due(now)
            .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lte=stale))
            .select_for_update(skip_locked=True)
            .order_by("pk")
            .values_list("pk", flat=True)[: settings.WEBHOOK_SWEEP_BATCH]
        )
        WebhookDelivery.objects.filter(pk__in=ids).update(enqueued_at=now)
    published = 0
    for delivery_id in ids:
        try:
            webhook_delivery_task.apply_async(args=[delivery_id])
        except BROKER_ERRORS as exc:
            logger.warning("webhook sweep: broker unreachable: %r", exc)
            WebhookDelivery.objects.filter(pk__in=ids[published:]).update(enqueued_at=None)
            break
        published += 1
    return {"webhook_deliveries_published": published}
