"""Probes: live touches nothing, ready checks like ping; a refusing database fails fast."""

import socket

import pytest
from django.db import OperationalError, connection

from config.postgres import base as postgres_base
from tests.e2e.harness import free_port


def test_live_answers_without_touching_the_database(api_client):
    # No db fixture: pytest-django makes any database access raise, so a query anywhere
    # in the chain would turn this into a 500.
    response = api_client.get("/api/health/live")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_runs_the_checks_of_ping(api_client, db):
    ready = api_client.get("/api/health/ready")
    ping = api_client.get("/api/ping")

    assert ready.status_code == ping.status_code == 200
    assert ready.json() == ping.json()
    assert ready.json()["database"] == "ok"


def test_probes_take_no_rate_limit_and_no_credentials(api_client, db):
    responses = [
        api_client.get(path, HTTP_AUTHORIZATION="Bearer not-a-token")
        for path in ("/api/health/live", "/api/health/ready")
        for _ in range(3)
    ]

    assert [r.status_code for r in responses] == [200] * 6
    assert all("X-RateLimit-Limit" not in r for r in responses)


def test_probe_tells_a_refused_port_from_a_listening_server():
    postgres_base._verdicts.clear()

    with socket.create_server(("127.0.0.1", 0)) as listener:
        listening = listener.getsockname()[1]
        assert postgres_base.server_refuses("127.0.0.1", listening) is False
    assert postgres_base.server_refuses("127.0.0.1", free_port()) is True


def test_a_verdict_is_reused_within_its_horizon(monkeypatch):
    postgres_base._verdicts.clear()
    port = free_port()
    probes = []
    real_probe = postgres_base._probe_refused

    def counting_probe(host, port):
        probes.append((host, port))
        return real_probe(host, port)

    monkeypatch.setattr(postgres_base, "_probe_refused", counting_probe)

    verdicts = [postgres_base.server_refuses("127.0.0.1", port) for _ in range(5)]

    assert verdicts == [True] * 5
    assert len(probes) == 1


@pytest.mark.postgres
def test_a_pool_facing_a_refused_port_raises_at_once_instead_of_waiting(db):
    """With a 30 s pool timeout, only the probe can make this raise the refusal: the
    pool's own path would end in a PoolTimeout after 30 s."""
    postgres_base._verdicts.clear()
    settings_dict = {
        **connection.settings_dict,
        "PORT": str(free_port()),
        "OPTIONS": {
            **connection.settings_dict["OPTIONS"],
            "pool": {"min_size": 1, "max_size": 2, "timeout": 30},
        },
    }
    refused = postgres_base.DatabaseWrapper(settings_dict, alias="refused-probe-test")
    try:
        with pytest.raises(OperationalError, match="refused"):
            refused.ensure_connection()
    finally:
        refused.close_pool()
