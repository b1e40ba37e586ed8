"""Fixtures and helpers of the accounts tests."""

import pytest
from django.db import connection

from tests.concurrency import close_db_connections


@pytest.fixture
def small_db_pools():
    """Forked children share a pool per process; cap them so 100 requests use <= 48
    connections."""
    pool = connection.settings_dict.get("OPTIONS", {}).get("pool")
    if not isinstance(pool, dict):
        yield
        return
    previous = pool.get("max_size")
    pool["max_size"] = 12
    close_db_connections()
    yield
    pool["max_size"] = previous


def with_rates(settings, **rates):
    """Override some DRF throttle rates for one test (pytest-django's `settings`)."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
    }
