"""Signing secrets at rest: encrypted under SECRET_KEY, readable through
SECRET_KEY_FALLBACKS after a rotation, re-encrypted by a command; old events cleaned up."""

import base64
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.webhooks.models import Webhook, WebhookDelivery, WebhookEvent
from accounts.webhooks.secret_store import (
    SecretUnreadable,
    webhook_secret_decrypt,
    webhook_secret_encrypt,
    webhook_secret_new,
)
from accounts.webhooks.services import webhook_event_cleanup, webhook_event_emit

OLD_KEY = "old-secret-key-" + "o" * 40
NEW_KEY = "new-secret-key-" + "n" * 40


def test_a_new_secret_is_whsec_and_32_random_bytes():
    secrets = {webhook_secret_new() for _ in range(50)}
    assert len(secrets) == 50
    for secret in secrets:
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32


def test_a_rotated_secret_key_still_decrypts_through_the_fallbacks(settings):
    settings.SECRET_KEY = OLD_KEY
    token = webhook_secret_encrypt("whsec_abc")
    assert "whsec_abc" not in token

    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW_KEY, [OLD_KEY]
    assert webhook_secret_decrypt(token) == "whsec_abc"

    settings.SECRET_KEY_FALLBACKS = []
    with pytest.raises(SecretUnreadable):
        webhook_secret_decrypt(token)


@pytest.mark.django_db
def test_the_command_reencrypts_under_the_current_key(settings, user, make_webhook):
    settings.SECRET_KEY = OLD_KEY
    webhook, secret = make_webhook(user, "http://127.0.0.1:9/")
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW_KEY, [OLD_KEY]

    call_command("webhook_secrets_reencrypt")

    settings.SECRET_KEY_FALLBACKS = []
    webhook.refresh_from_db()
    assert webhook_secret_decrypt(webhook.secret_encrypted) == secret


@pytest.mark.django_db
def test_the_command_fails_loudly_on_a_secret_no_key_reads(user, make_webhook):
    webhook, _ = make_webhook(user, "http://127.0.0.1:9/")
    Webhook.objects.filter(pk=webhook.pk).update(secret_encrypted="garbage")

    with pytest.raises(CommandError):
        call_command("webhook_secrets_reencrypt")


@pytest.mark.django_db
def test_old_events_are_cleaned_up_unless_a_delivery_is_pending(user, make_webhook, settings):
    settings.WEBHOOK_EVENT_RETENTION = timedelta(days=30)
    make_webhook(user, "http://127.0.0.1:9/")
    done, waiting, recent = (
        webhook_event_emit(owner_id=user.pk, event_type="quote.used", object_id=n, data={})
        for n in range(3)
    )
    old = timezone.now() - timedelta(days=31)
    WebhookEvent.objects.filter(pk__in=[done.pk, waiting.pk]).update(created_at=old)
    WebhookDelivery.objects.filter(event=done).update(status="succeeded")

    webhook_event_cleanup()

    assert set(WebhookEvent.objects.values_list("pk", flat=True)) == {waiting.pk, recent.pk}
    assert WebhookDelivery.objects.count() == 2
