"""Admin: webhooks with their state and why one was disabled, events, deliveries with
attempts and last error, and the staff actions (redeliver, enable, disable)."""

import json

from django.contrib import admin, messages
from django.utils.html import format_html

from accounts.webhooks.models import Webhook, WebhookDelivery, WebhookEvent
from accounts.webhooks.services import (
    webhook_delivery_redeliver,
    webhook_disable,
    webhook_enable,
)

DISABLED_BY_STAFF = "Disabled by staff."


def _pretty_json(value) -> str:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True, default=str))


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    """The signing secret is never shown (only its encryption is stored)."""

    list_display = (
        "url",
        "owner",
        "is_active",
        "consecutive_failures",
        "disabled_reason",
        "created_at",
    )
    list_filter = ("is_active", "created_at")
    search_fields = ("url", "owner__email", "=id")
    raw_id_fields = ("owner",)
    fields = (
        "id",
        "owner",
        "url",
        "events",
        "description",
        "is_active",
        "consecutive_failures",
        "disabled_reason",
        "disabled_at",
        "created_at",
    )
    readonly_fields = (
        "id",
        "owner",
        "url",
        "events",
        "is_active",
        "consecutive_failures",
        "disabled_reason",
        "disabled_at",
        "created_at",
    )
    actions = ("enable", "disable")

    def has_add_permission(self, request):
        return False  # created through the API, which shows the secret once

    @admin.action(
        description="Enable (resets the failure streak; pending deliveries resume)",
        permissions=["change"],
    )
    def enable(self, request, queryset):
        count = webhook_enable(webhook_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} webhook(s) enabled.", messages.SUCCESS)

    @admin.action(description="Disable (pending deliveries wait)", permissions=["change"])
    def disable(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        count = webhook_disable(webhook_ids=ids, reason=DISABLED_BY_STAFF)
        self.message_user(request, f"{count} webhook(s) disabled.", messages.SUCCESS)


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = ("id", "type", "owner", "object_type", "object_id", "created_at")
    list_filter = ("type", "created_at")
    search_fields = ("=id", "=object_id", "owner__email")
    date_hierarchy = "created_at"
    fields = ("id", "type", "owner", "object_type", "object_id", "pretty_payload", "created_at")
    readonly_fields = fields
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="data")
    def pretty_payload(self, event: WebhookEvent) -> str:
        return _pretty_json(event.payload)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "webhook",
        "event_type",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "next_attempt_at",
        "created_at",
    )
    list_filter = ("status", "event__type", "created_at")
    search_fields = ("=id", "=event__id", "webhook__url", "webhook__owner__email")
    list_select_related = ("webhook", "event")
    date_hierarchy = "created_at"
    fields = (
        "id",
        "webhook",
        "event",
        "object_key",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "last_attempt_at",
        "next_attempt_at",
        "retry_until",
        "enqueued_at",
        "locked_until",
        "finished_at",
        "created_at",
    )
    readonly_fields = fields
    actions = ("redeliver",)
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    @admin.display(description="type", ordering="event__type")
    def event_type(self, delivery: WebhookDelivery) -> str:
        return delivery.event.type

    @admin.action(
        description="Redeliver (as new: attempts from 0, a fresh retry window)",
        permissions=["change"],
    )
    def redeliver(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        count = webhook_delivery_redeliver(delivery_ids=ids)
        skipped = len(ids) - count
        note = f" ({skipped} in flight, left alone)" if skipped else ""
        self.message_user(request, f"{count} delivery(ies) queued again{note}.", messages.SUCCESS)
