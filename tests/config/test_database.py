"""The PostgreSQL engine's health check: dead pooled connections are skipped, no query spent."""

import time

import psycopg
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config.postgres.base import connection_is_alive

WAIT_FOR_TERMINATION_S = 10


def _admin_connection() -> psycopg.Connection:
    params = connection.get_connection_params()
    params.pop("pool", None)
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return psycopg.connect(**params, autocommit=True)


def _terminate_other_backends(admin: psycopg.Connection) -> list[int]:
    """Terminate every other session of this database: all connections of the pool."""
    pids = [
        row[0]
        for row in admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
    ]
    for pid in pids:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    deadline = time.monotonic() + WAIT_FOR_TERMINATION_S
    while time.monotonic() < deadline:
        alive = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", [pids]
        ).fetchone()[0]
        if alive == 0:
            break
        time.sleep(0.05)
    return pids


@pytest.mark.postgres
def test_connection_is_alive_until_the_server_ends_it(db):
    with _admin_connection() as admin, _admin_connection() as victim:
        assert connection_is_alive(victim)

        admin.execute("SELECT pg_terminate_backend(%s)", [victim.info.backend_pid])
        deadline = time.monotonic() + WAIT_FOR_TERMINATION_S
        while connection_is_alive(victim) and time.monotonic() < deadline:
            time.sleep(0.05)

        assert not connection_is_alive(victim)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_pooled_connections_killed_while_idle_are_replaced_before_a_query_uses_them():
    # given: the pool's connections all terminated by the server while idle in the pool
    connection.ensure_connection()
    connection.close()  # back to the pool
    with _admin_connection() as admin:
        killed = _terminate_other_backends(admin)
    assert killed

    # when: the next request's first query
    with CaptureQueriesContext(connection) as queries, connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]

    # then: it ran on a fresh connection, and the check itself sent no query
    assert pid not in killed
    assert [q["sql"] for q in queries] == ["SELECT pg_backend_pid()"]
