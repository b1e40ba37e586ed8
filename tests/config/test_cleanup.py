"""The batched loop every cleanup runs: batches of primary keys, each its own transaction."""

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.models import RateLimitToken
from config.cleanup import delete_in_batches, in_batches

LABEL = RateLimitToken._meta.label


def tokens(count: int, *, prefix: str = "t") -> None:
    now = timezone.now()
    RateLimitToken.objects.bulk_create(
        RateLimitToken(key=f"{prefix}:{i}", count=1, window_start=now, window_end=now)
        for i in range(count)
    )


@pytest.mark.django_db
def test_deletes_the_matching_rows_only_a_batch_at_a_time():
    # given: 7 matching rows, 2 others, and an action that records each batch's size
    tokens(7)
    tokens(2, prefix="keep")
    sizes = []

    def delete(batch) -> int:
        sizes.append(batch.count())
        return batch.delete()[0]

    # when
    deleted, batches = in_batches(
        RateLimitToken.objects.filter(key__startswith="t:"), delete, batch_size=3
    )

    # then
    assert (deleted, batches) == (7, 3)
    assert sizes == [3, 3, 1]
    assert set(RateLimitToken.objects.values_list("key", flat=True)) == {"keep:0", "keep:1"}


@pytest.mark.django_db
def test_delete_in_batches_counts_per_model():
    tokens(5)

    deleted = delete_in_batches(RateLimitToken.objects.all(), batch_size=2)

    assert deleted == {LABEL: 5}
    assert not RateLimitToken.objects.exists()


@pytest.mark.django_db
def test_nothing_matching_runs_no_batch():
    def never(batch) -> int:
        raise AssertionError("called without rows")

    assert in_batches(RateLimitToken.objects.all(), never, batch_size=2) == (0, 0)


@pytest.mark.django_db(transaction=True)
def test_each_batch_commits_on_its_own():
    # given: 5 rows and an action that fails on the second batch of 2
    tokens(5)
    calls = []

    def delete_then_fail(batch) -> int:
        calls.append(1)
        deleted = batch.delete()[0]
        if len(calls) == 2:
            raise RuntimeError("worker died mid-cleanup")
        return deleted

    # when
    with pytest.raises(RuntimeError):
        in_batches(RateLimitToken.objects.all(), delete_then_fail, batch_size=2)

    # then: the first batch stays deleted, the failed one rolled back
    assert RateLimitToken.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_a_batch_never_joins_a_callers_transaction():
    tokens(1)

    with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
        delete_in_batches(RateLimitToken.objects.all(), batch_size=10)

    assert RateLimitToken.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_without_atomic_the_action_runs_in_the_callers_transaction_mode():
    # atomic=False is for actions that commit as they go, so it opens no transaction
    tokens(3)

    with transaction.atomic():
        deleted, batches = in_batches(
            RateLimitToken.objects.all(),
            lambda batch: batch.delete()[0],
            batch_size=2,
            atomic=False,
        )

    assert (deleted, batches) == (3, 2)
    assert not RateLimitToken.objects.exists()
