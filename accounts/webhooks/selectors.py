"""Reads of webhooks, scoped to their owner: someone else's webhook never leaves here."""

import uuid

from django.db.models import QuerySet

from accounts.models import User
from accounts.webhooks.models import Webhook, WebhookDelivery
from config.errors import NotFound


def webhook_list_for_user(*, user: User) -> QuerySet[Webhook]:
    return Webhook.objects.filter(owner=user)


def webhook_get_for_user(*, user: User, webhook_id: uuid.UUID) -> Webhook:
    """The user's own webhook; someone else's or an unknown id is NotFound (404)."""
    webhook = Webhook.objects.filter(pk=webhook_id, owner=user).first()
    if webhook is None:
        raise NotFound("No such webhook.")
    return webhook


def webhook_delivery_list(*, webhook: Webhook) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.filter(webhook=webhook).select_related("event")
