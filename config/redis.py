"""Redis connections for pub/sub wake-ups and health; None when REDIS_URL is unset."""

import functools

import redis
from django.conf import settings


@functools.lru_cache(maxsize=1)  # a connection pool (rebuildable configuration), not data
def redis_client() -> redis.Redis | None:
    if not settings.REDIS_URL:
        return None
    return redis.Redis.from_url(
        settings.REDIS_URL,
        socket_connect_timeout=settings.REDIS_SOCKET_TIMEOUT_S,
        socket_timeout=settings.REDIS_SOCKET_TIMEOUT_S,
        health_check_interval=30,
    )
