"""config.transactions: undo callbacks run exactly when the transaction does not commit."""

import pytest
from django.db import transaction
from django.utils import timezone

from config.models import SchedulerLease
from config.transactions import atomic_with_undo, on_rollback

pytestmark = pytest.mark.django_db(transaction=True)


class Boom(Exception):
    pass


def boom() -> None:
    raise Boom


def write_row(name: str) -> None:
    SchedulerLease.objects.create(name=name, expires_at=timezone.now())


def run_block(*steps, block=atomic_with_undo) -> None:
    with block():
        for step in steps:
            step()


def test_an_exception_inside_rolls_back_and_undoes():
    undone = []

    with pytest.raises(Boom):
        run_block(lambda: write_row("a"), lambda: on_rollback(lambda: undone.append("a")), boom)

    assert undone == ["a"]
    assert not SchedulerLease.objects.exists()


def test_a_commit_undoes_nothing():
    undone = []

    run_block(lambda: write_row("a"), lambda: on_rollback(lambda: undone.append("a")))

    assert undone == []
    assert SchedulerLease.objects.count() == 1


def test_a_failing_on_commit_hook_comes_after_the_commit_and_undoes_nothing():
    undone = []

    with pytest.raises(Boom):
        run_block(
            lambda: write_row("a"),
            lambda: on_rollback(lambda: undone.append("a")),
            lambda: transaction.on_commit(boom),
        )

    assert undone == []
    assert SchedulerLease.objects.count() == 1


def test_a_nested_block_hands_its_callbacks_to_the_outer_one():
    undone = []

    def inner() -> None:
        run_block(lambda: write_row("inner"), lambda: on_rollback(lambda: undone.append("in")))
        assert undone == []

    with pytest.raises(Boom):
        run_block(inner, boom)

    assert undone == ["in"]
    assert not SchedulerLease.objects.exists()


def test_callbacks_run_newest_first_and_one_failing_does_not_stop_the_others():
    undone = []

    with pytest.raises(Boom):
        run_block(
            lambda: on_rollback(lambda: undone.append("first")),
            lambda: on_rollback(boom),
            lambda: on_rollback(lambda: undone.append("last")),
            boom,
        )

    assert undone == ["last", "first"]


def test_outside_a_transaction_or_a_scope_there_is_nothing_to_undo():
    undone = []

    on_rollback(lambda: undone.append("autocommit"))
    with pytest.raises(Boom):
        run_block(
            lambda: on_rollback(lambda: undone.append("plain")), boom, block=transaction.atomic
        )

    assert undone == []
