"""Redis clients for pub/sub wake-ups and health; None when no URL is configured."""

import functools

import redis
from django.conf import settings


@functools.lru_cache(maxsize=4)  # connection pools per URL (rebuildable configuration), not data
def _client_for(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=settings.REDIS_SOCKET_TIMEOUT_S,
        socket_timeout=settings.REDIS_SOCKET_TIMEOUT_S,
        health_check_interval=30,
    )


def redis_client(url: str | None = None) -> redis.Redis | None:
    """A client of `url` (default REDIS_URL); None when that is empty."""
    url = settings.REDIS_URL if url is None else url
    return _client_for(url) if url else None
