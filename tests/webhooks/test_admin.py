"""Admin: webhooks with their state and reason, deliveries with attempts and last error,
and the redeliver / enable actions."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.webhooks.delivery import webhook_delivery_attempt
from accounts.webhooks.models import Webhook, WebhookDelivery
from accounts.webhooks.services import webhook_event_emit

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_browser(make_user):
    browser = Client()
    browser.force_login(make_user(is_staff=True, is_superuser=True))
    return browser


def test_changelists_and_detail_pages_render_without_the_secret(
    admin_browser, user, make_webhook, receiver
):
    webhook, secret = make_webhook(user, receiver.url())
    receiver.plan = ["500"]
    event = webhook_event_emit(owner_id=user.pk, event_type="quote.used", object_id="q", data={})
    delivery = WebhookDelivery.objects.get(event=event)
    webhook_delivery_attempt(delivery_id=delivery.pk)
    Webhook.objects.filter(pk=webhook.pk).update(
        is_active=False, disabled_reason="20 deliveries in a row failed for good"
    )

    pages = {
        "webhook": webhook.pk,
        "webhookevent": event.pk,
        "webhookdelivery": delivery.pk,
    }
    for model, pk in pages.items():
        listing = admin_browser.get(reverse(f"admin:webhooks_{model}_changelist"), {"q": "x"})
        detail = admin_browser.get(reverse(f"admin:webhooks_{model}_change", args=[pk]))
        assert (listing.status_code, detail.status_code) == (200, 200), model
        assert secret.encode() not in listing.content + detail.content
    hooks = admin_browser.get(reverse("admin:webhooks_webhook_changelist")).content.decode()
    assert "20 deliveries in a row failed for good" in hooks
    deliveries = admin_browser.get(reverse("admin:webhooks_webhookdelivery_changelist"))
    assert "HTTP 500" in deliveries.content.decode()


def test_redeliver_and_enable_actions(admin_browser, user, make_webhook, receiver):
    webhook, _ = make_webhook(user, receiver.url())
    event = webhook_event_emit(owner_id=user.pk, event_type="quote.used", object_id="q", data={})
    delivery = WebhookDelivery.objects.get(event=event)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status="failed", attempts=30, finished_at=timezone.now()
    )
    Webhook.objects.filter(pk=webhook.pk).update(is_active=False, consecutive_failures=20)

    admin_browser.post(
        reverse("admin:webhooks_webhook_changelist"),
        {"action": "enable", "_selected_action": [str(webhook.pk)]},
    )
    admin_browser.post(
        reverse("admin:webhooks_webhookdelivery_changelist"),
        {"action": "redeliver", "_selected_action": [str(delivery.pk)]},
    )

    webhook.refresh_from_db()
    assert (webhook.is_active, webhook.consecutive_failures, webhook.disabled_reason) == (
        True,
        0,
        "",
    )
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.finished_at) == ("pending", 0, None)
    assert webhook_delivery_attempt(delivery_id=delivery.pk) == "succeeded"
