"""Celery task of webhooks (thin: it calls the delivery service)."""

from celery import shared_task
from django.conf import settings

from accounts.webhooks.delivery import webhook_delivery_attempt

# The hard limit kills a stuck attempt's process before its lease (WEBHOOK_LEASE_S) ends.
HARD_LIMIT_MARGIN_S = 5


@shared_task(
    name="webhooks.deliver",
    ignore_result=True,
    acks_late=True,
    soft_time_limit=settings.WEBHOOK_ATTEMPT_MAX_S,
    time_limit=settings.WEBHOOK_ATTEMPT_MAX_S + HARD_LIMIT_MARGIN_S,
)
def webhook_delivery_task(delivery_id: int) -> str:
    """One attempt of one delivery; a duplicate finds it claimed or done and does nothing."""
    return webhook_delivery_attempt(delivery_id=delivery_id)
