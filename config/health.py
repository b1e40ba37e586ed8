"""GET /api/ping: real checks of the database, Redis and storage."""

import logging

from django.core.files.storage import default_storage
from django.db import connection
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import ServiceUnavailable
from config.redis import redis_client

logger = logging.getLogger(__name__)

HEALTH_OBJECT_KEY = "health/.probe"


def _check_database() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        logger.warning("health: database check failed: %s", exc)
        return False
    return True


def _check_redis() -> str:
    client = redis_client()
    if client is None:
        return "disabled"
    try:
        client.ping()
    except Exception as exc:
        logger.warning("health: redis check failed: %s", exc)
        return "error"
    return "ok"


def _check_storage() -> str:
    try:
        default_storage.exists(HEALTH_OBJECT_KEY)
    except Exception as exc:
        logger.warning("health: storage check failed: %s", exc)
        return "error"
    return "ok"


class PingApi(APIView):
    """Load balancers poll this: no authentication, no rate limit, no writes."""

    authentication_classes = ()
    permission_classes = ()
    throttle_classes = ()

    @extend_schema(
        responses=inline_serializer(
            "Ping",
            {
                "status": serializers.CharField(),
                "database": serializers.CharField(),
                "redis": serializers.CharField(),
                "storage": serializers.CharField(),
            },
        )
    )
    def get(self, request):
        if not _check_database():
            raise ServiceUnavailable("The database is unreachable.")
        checks = {"database": "ok", "redis": _check_redis(), "storage": _check_storage()}
        degraded = "error" in checks.values()
        return Response({"status": "degraded" if degraded else "ok", **checks})
