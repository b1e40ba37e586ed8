"""Fixtures of webhook tests: a real local receiver, webhooks registered for it."""

import pytest

from accounts.webhooks.services import webhook_create
from tests.webhooks.receiver import Receiver


@pytest.fixture
def receiver():
    started = Receiver().start()
    yield started
    started.stop()


@pytest.fixture
def loopback_allowed(settings):
    """Deliveries to 127.0.0.1 are allowed (the receiver runs there)."""
    settings.WEBHOOK_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]


@pytest.fixture
def make_webhook(loopback_allowed):
    def make(owner, url: str, events: list[str] | None = None):
        events = events or [
            "render.completed",
            "render.failed",
            "quote_run.completed",
            "quote_run.failed",
            "quote.used",
            "order.status_changed",
        ]
        return webhook_create(owner=owner, url=url, events=events)

    return make


@pytest.fixture
def no_worker(monkeypatch):
    """Deliveries are not run after the commit (tests run tasks in-process otherwise): as if
    no worker were up, so the test drives the attempts itself."""
    import accounts.webhooks.services as services

    monkeypatch.setattr(services, "webhook_delivery_publish_on_commit", lambda **kwargs: None)
