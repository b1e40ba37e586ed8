"""Credit schedules: versioned, exactly one active, seeded, public endpoint."""

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction

from config.errors import ServiceUnavailable
from quotes.models import CreditSchedule
from quotes.selectors import credit_schedule_active
from quotes.services import (
    credit_schedule_activate,
    credit_schedule_ensure_default,
    credit_schedule_publish,
)

SEEDED_OPS = {"upscale", "remove_background", "enhance", "resize"}


@pytest.mark.django_db
def test_migration_seeds_version_1_active():
    schedule = credit_schedule_active()

    assert schedule.version == 1
    assert set(schedule.ops) == SEEDED_OPS
    assert CreditSchedule.objects.filter(is_active=True).count() == 1


@pytest.mark.django_db
def test_database_refuses_a_second_active_schedule():
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditSchedule.objects.create(version=99, is_active=True, ops={"x": {}})


@pytest.mark.django_db
def test_ensure_default_seeds_after_flush_and_is_idempotent():
    CreditSchedule.objects.all().delete()

    first = credit_schedule_ensure_default()
    second = credit_schedule_ensure_default()

    assert first.pk == second.pk
    assert first.is_active
    assert set(first.ops) == SEEDED_OPS


@pytest.mark.django_db
def test_reading_the_schedule_never_writes_one():
    CreditSchedule.objects.all().delete()

    with pytest.raises(ServiceUnavailable):
        credit_schedule_active()
    assert not CreditSchedule.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_flush_leaves_an_active_schedule_behind():
    call_command("flush", interactive=False, verbosity=0)

    assert credit_schedule_active().is_active
    assert CreditSchedule.objects.count() == 1


@pytest.mark.django_db
def test_publish_makes_a_new_active_version_and_keeps_the_old():
    # given
    old = credit_schedule_active()

    # when
    new = credit_schedule_publish(
        ops={"upscale": {"base_credits": 5, "credits_per_megapixel": 1}},
        max_files=3,
        quote_ttl_seconds=60,
    )

    # then
    old.refresh_from_db()
    assert new.version == old.version + 1
    assert new.is_active
    assert not old.is_active
    assert credit_schedule_active().pk == new.pk

    # when: the old version is activated again
    credit_schedule_activate(schedule=old)
    # then
    assert credit_schedule_active().pk == old.pk
    assert CreditSchedule.objects.filter(is_active=True).count() == 1


@pytest.mark.django_db
def test_get_credit_schedule_endpoint(api_client):
    response = api_client.get("/api/credit-schedule")

    assert response.status_code == 200
    body = response.json()
    assert body["version"] == 1
    assert set(body["ops"]) == SEEDED_OPS
    assert body["ops"]["upscale"] == {"base_credits": 2, "credits_per_megapixel": 4}
    assert body["max_files"] == 20
    assert body["quote_ttl_seconds"] == 900
