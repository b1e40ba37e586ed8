"""Health: /api/ping and /api/health/ready check the database, Redis and storage;
/api/health/live only proves the process answers."""

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
# A refused database is usually back within seconds (a restart, a failover).
RETRY_AFTER_S = 5


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


HEALTH_SCHEMA = inline_serializer(
    "Health",
    {
        "status": serializers.CharField(),
        "database": serializers.CharField(),
        "redis": serializers.CharField(),
        "storage": serializers.CharField(),
    },
)


def health_report() -> dict[str, str]:
    """The checks of ping and ready; ServiceUnavailable (with Retry-After) when the
    database is unreachable. Redis or storage failing only degrades the report."""
    if not _check_database():
        raise ServiceUnavailable(
            "The database is unreachable.", headers={"Retry-After": str(RETRY_AFTER_S)}
        )
    checks = {"database": "ok", "redis": _check_redis(), "storage": _check_storage()}
    degraded = "error" in checks.values()
    return {"status": "degraded" if degraded else "ok", **checks}


class _ProbeApi(APIView):
    """Load balancers and orchestrators poll these: no authentication, no rate limit."""

    authentication_classes = ()
    permission_classes = ()
    throttle_classes = ()


class HealthReadyApi(_ProbeApi):
    """Readiness (also served as /api/ping): 200 when this instance can serve (the
    database answers), else 503."""

    error_codes: tuple[str, ...] = ("service_unavailable",)

    @extend_schema(responses=HEALTH_SCHEMA)
    def get(self, request):
        return Response(health_report())


class HealthLiveApi(_ProbeApi):
    """Liveness: 200 while the process answers HTTP. Touches no database, Redis or storage,
    so an outage of those never gets a healthy process restarted."""

    error_codes: tuple[str, ...] = ()

    @extend_schema(responses=inline_serializer("Live", {"status": serializers.CharField()}))
    def get(self, request):
        return Response({"status": "ok"})
