"""Webhooks of a user, the outbox of events for them, and one delivery row per event and hook."""

import uuid
from datetime import datetime

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone


class WebhookEventType(models.TextChoices):
    RENDER_COMPLETED = "render.completed", "Render completed"
    RENDER_FAILED = "render.failed", "Render failed"
    QUOTE_RUN_COMPLETED = "quote_run.completed", "Quote run completed"
    QUOTE_RUN_FAILED = "quote_run.failed", "Quote run failed"
    QUOTE_USED = "quote.used", "Quote used"
    ORDER_STATUS_CHANGED = "order.status_changed", "Order status changed"


class Webhook(models.Model):
    """An endpoint a user registered for some event types.

    The signing secret is kept encrypted (`secret_encrypted`, Fernet under a key derived from
    SECRET_KEY: accounts.webhooks.secrets); the plain secret is shown once, at creation.
    `consecutive_failures` counts deliveries that failed for good since the last success;
    at WEBHOOK_DISABLE_AFTER the hook is disabled with `disabled_reason`.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhooks"
    )
    url = models.CharField(max_length=2000)
    events = models.JSONField(help_text="Event types this endpoint receives.")
    description = models.CharField(max_length=200, blank=True)
    secret_encrypted = models.TextField(help_text="Fernet token of the whsec_ secret.")
    is_active = models.BooleanField(default=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    disabled_reason = models.TextField(blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # webhook_event_emit: the owner's active hooks, on every emitting change.
            models.Index(fields=["owner", "is_active"], name="webhook_owner_active_idx"),
            models.Index(fields=["owner", "-created_at"], name="webhook_owner_created_idx"),
        ]

    def __str__(self):
        return self.url


class WebhookEvent(models.Model):
    """One event of one object of a user, written in the transaction of the change itself
    (the outbox). `id` is the message id receivers see (`webhook-id`, `id` in the body)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=40, choices=WebhookEventType.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_events"
    )
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=64)
    payload = models.JSONField(encoder=DjangoJSONEncoder, help_text="The event's `data`.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["created_at"], name="webhook_event_created_idx"),
            models.Index(fields=["object_type", "object_id"], name="webhook_event_object_idx"),
        ]

    def __str__(self):
        return f"{self.type} {self.object_id}"


class WebhookDeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class WebhookDeliveryQuerySet(models.QuerySet):
    def pending(self):
        return self.filter(status=WebhookDeliveryStatus.PENDING)

    def due(self, now: datetime):
        """Pending, due, not leased, of an active webhook, and first in line: no older
        delivery of the same webhook and object is still pending (per-object order)."""
        older_pending = WebhookDelivery.objects.filter(
            webhook_id=OuterRef("webhook_id"),
            object_key=OuterRef("object_key"),
            status=WebhookDeliveryStatus.PENDING,
            pk__lt=OuterRef("pk"),
        )
        # Conditions on the row itself, plus EXISTS: an UPDATE with this filter stays a
        # plain `UPDATE ... WHERE` (no `pk IN (subquery)`), so PostgreSQL re-checks the
        # status and lease on the row it locks and concurrent claimers cannot both win.
        active_hook = Webhook.objects.filter(pk=OuterRef("webhook_id"), is_active=True)
        return (
            self.pending()
            .filter(next_attempt_at__lte=now)
            .filter(Q(locked_until__isnull=True) | Q(locked_until__lte=now))
            .filter(Exists(active_hook))
            .exclude(Exists(older_pending))
        )


class WebhookDelivery(models.Model):
    """One event to one webhook, until it succeeds or fails for good.

    The primary key is a sequence: per (webhook, object_key) it follows the commit order
    of the events (callers emit under the object's row lock), and a delivery is attempted
    only when no older one of the same webhook and object is still pending. An attempt
    holds a lease (`lease`, `locked_until`) taken by one guarded UPDATE; `enqueued_at` is
    set while a task for it is believed to be in the queue, so the sweep does not publish
    it twice.
    """

    id = models.BigAutoField(primary_key=True)
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    object_key = models.CharField(max_length=110, help_text="<object_type>:<object_id>")
    status = models.CharField(
        max_length=16, choices=WebhookDeliveryStatus.choices, default=WebhookDeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    retry_until = models.DateTimeField(help_text="After this, a failed attempt is the last.")
    enqueued_at = models.DateTimeField(null=True, blank=True)
    lease = models.UUIDField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = WebhookDeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            # The sweep: pending deliveries by due time.
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_delivery_due_idx",
                condition=Q(status="pending"),
            ),
            # Per-object order: an older pending delivery of the same hook and object.
            models.Index(
                fields=["webhook", "object_key", "id"],
                name="webhook_delivery_order_idx",
                condition=Q(status="pending"),
            ),
            models.Index(fields=["webhook", "-created_at"], name="webhook_delivery_list_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in WebhookDeliveryStatus]),
                name="webhook_delivery_status_valid",
            ),
            models.UniqueConstraint(
                fields=["webhook", "event"], name="webhook_delivery_once_per_event"
            ),
        ]

    def __str__(self):
        return f"delivery {self.pk} ({self.status})"
