"""Quota reservations: exact under concurrency, settled once, counted per shop day."""

import datetime as dt

import pytest
from django.db import IntegrityError, connections, transaction

from rendering.models import Shop, UsageDaily
from rendering.quota import (
    quota_day,
    quota_reserve,
    quota_resets_at,
    quota_settle,
    usage_count,
)
from tests.concurrency import fire_concurrently
from tests.rendering.factories import ShopFactory

DAY = dt.date(2030, 1, 15)


def usage(shop, day=DAY) -> UsageDaily:
    return UsageDaily.objects.get(shop=shop, date=day)


@pytest.mark.django_db
def test_reservations_stop_at_the_quota_and_completed_renders_keep_counting(user):
    shop = ShopFactory(owner=user, daily_quota=3)

    assert [quota_reserve(shop_id=shop.pk, day=DAY) for _ in range(5)] == [True] * 3 + [False] * 2
    assert usage(shop).reserved == 3

    quota_settle(shop_id=shop.pk, day=DAY, completed=True)
    quota_settle(shop_id=shop.pk, day=DAY, completed=False)
    row = usage(shop)
    assert (row.composite_renders, row.reserved) == (1, 1)
    # One slot came back from the failure; the completed one stays used.
    assert quota_reserve(shop_id=shop.pk, day=DAY) is True
    assert quota_reserve(shop_id=shop.pk, day=DAY) is False


@pytest.mark.django_db
def test_prep_and_cleanup_are_counted_but_do_not_consume_the_quota(user):
    shop = ShopFactory(owner=user, daily_quota=1)
    for _ in range(3):
        usage_count(shop_id=shop.pk, day=DAY, counter="prep_renders")
    usage_count(shop_id=shop.pk, day=DAY, counter="cleanup_renders")

    assert quota_reserve(shop_id=shop.pk, day=DAY) is True
    row = usage(shop)
    assert (row.prep_renders, row.cleanup_renders, row.reserved) == (3, 1, 1)


@pytest.mark.django_db
def test_a_lowered_quota_applies_to_the_next_reservation_at_once(user):
    shop = ShopFactory(owner=user, daily_quota=5)
    assert quota_reserve(shop_id=shop.pk, day=DAY)
    assert quota_reserve(shop_id=shop.pk, day=DAY)
    Shop.objects.filter(pk=shop.pk).update(daily_quota=2)

    assert quota_reserve(shop_id=shop.pk, day=DAY) is False


@pytest.mark.django_db
def test_counters_cannot_go_negative(user):
    shop = ShopFactory(owner=user)
    UsageDaily.objects.create(shop=shop, date=DAY)
    with pytest.raises(IntegrityError), transaction.atomic():
        quota_settle(shop_id=shop.pk, day=DAY, completed=False)


def test_quota_day_and_reset_follow_the_shop_time_zone():
    shop = Shop(timezone="Pacific/Auckland")  # UTC+13 in January
    now = dt.datetime(2030, 1, 15, 12, 0, tzinfo=dt.UTC)

    day = quota_day(shop=shop, now=now)

    assert day == dt.date(2030, 1, 16)
    assert quota_resets_at(shop=shop, day=day) == dt.datetime(2030, 1, 16, 11, 0, tzinfo=dt.UTC)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_forty_concurrent_reservations_from_four_processes_take_exactly_the_quota(make_user):
    shop = ShopFactory(owner=make_user(), daily_quota=7)

    def reserve(_index):
        try:
            return quota_reserve(shop_id=shop.pk, day=DAY)
        finally:
            connections.close_all()

    outcomes = fire_concurrently(reserve, 40, processes=4)

    assert outcomes.count(True) == 7, outcomes
    assert outcomes.count(False) == 33
    assert usage(shop).reserved == 7
