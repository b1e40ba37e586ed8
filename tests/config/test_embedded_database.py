"""The bare-machine test database behaves like `make run`'s SQLite file: WAL, no table locks."""

import threading

import pytest
from django.db import connection, transaction

from accounts.models import User

WAIT_S = 30
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _sqlite_only():
    if connection.vendor != "sqlite":
        pytest.skip("about the embedded default (SQLite); this run uses DATABASE_URL")


def pragma(name: str):
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA {name}")
        return cursor.fetchone()[0]


def test_the_test_database_is_a_wal_file_with_the_run_options():
    name = connection.settings_dict["NAME"]

    assert not connection.creation.is_in_memory_db(name)
    assert pragma("journal_mode") == "wal"
    assert pragma("busy_timeout") == connection.settings_dict["OPTIONS"]["timeout"] * 1000
    assert connection.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


def test_a_reader_never_fails_while_another_thread_holds_a_write():
    # given: a writer thread inside an open transaction that has written a row
    written, read_done = threading.Event(), threading.Event()

    def writer():
        try:
            with transaction.atomic():
                User.objects.create_user(email="writer@example.com", password=None)
                written.set()
                read_done.wait(WAIT_S)
        finally:
            connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    assert written.wait(WAIT_S)

    # when: this thread reads the same table before the writer commits
    try:
        before = User.objects.filter(email="writer@example.com").count()
    finally:
        read_done.set()
        thread.join(WAIT_S)

    # then: it reads the last committed state (no "database table is locked"), then the row
    assert before == 0
    assert User.objects.filter(email="writer@example.com").count() == 1
