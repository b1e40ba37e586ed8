"""The scheduler lease admits exactly one holder, from any number of processes."""

from datetime import timedelta

import pytest

from config.locks import lease_acquire, lease_release, single_flight
from tests.concurrency import fire_concurrently


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_exactly_one_of_many_processes_gets_the_lease():
    outcomes = fire_concurrently(
        lambda i: lease_acquire(name="race", ttl=timedelta(minutes=5), holder=f"h{i}"),
        count=24,
        processes=4,
    )

    assert outcomes.count(True) == 1, outcomes
    assert outcomes.count(False) == 23


@pytest.mark.django_db
def test_lease_is_free_again_after_release_and_nested_use_is_refused():
    with single_flight("job") as first, single_flight("job") as second:
        assert first is True
        assert second is False
    with single_flight("job") as again:
        assert again is True


@pytest.mark.django_db
def test_expired_lease_of_a_dead_holder_can_be_taken():
    assert lease_acquire(name="dead", ttl=timedelta(seconds=-1), holder="gone")
    assert lease_acquire(name="dead", ttl=timedelta(minutes=1), holder="alive")
    lease_release(name="dead", holder="someone-else")  # not the holder: no effect
    assert not lease_acquire(name="dead", ttl=timedelta(minutes=1), holder="third")
