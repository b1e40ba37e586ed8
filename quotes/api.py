"""HTTP API of credit schedules and quotes (thin: validate, call a service, render)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import NotFound, ValidationFailed
from config.idempotency import idempotent
from quotes.identity import SESSION_ID_HEADER, SESSION_ID_RULE, caller_identity, session_id_is_valid
from quotes.selectors import (
    credit_schedule_active,
    quote_get_for_caller,
    quote_newest_active_for_session,
)
from quotes.serializers import JobInputSerializer, QuoteOutputSerializer
from quotes.services import quote_create, quote_expire, quote_use

SESSION_HEADER_PARAMETER = OpenApiParameter(
    SESSION_ID_HEADER,
    str,
    OpenApiParameter.HEADER,
    required=False,
    description=f"Anonymous caller identity: {SESSION_ID_RULE}.",
)


class CreditScheduleGetApi(APIView):
    """GET /api/credit-schedule: the active price list."""

    error_codes: tuple[str, ...] = ()

    class OutputSerializer(serializers.Serializer):
        version = serializers.IntegerField()
        ops = serializers.JSONField()
        max_files = serializers.IntegerField()
        quote_ttl_seconds = serializers.IntegerField()

    @extend_schema(responses=OutputSerializer)
    def get(self, request):
        return Response(self.OutputSerializer(credit_schedule_active()).data)


class QuoteCreateApi(APIView):
    """POST /api/quotes: price a job against the active schedule and store the quote."""

    error_codes: tuple[str, ...] = ("validation_error",)
    InputSerializer = JobInputSerializer
    OutputSerializer = QuoteOutputSerializer

    @extend_schema(
        request=InputSerializer,
        responses={201: OutputSerializer},
        parameters=[SESSION_HEADER_PARAMETER],
    )
    @idempotent
    def post(self, request):
        caller = caller_identity(request)
        schedule = credit_schedule_active()
        serializer = self.InputSerializer(data=request.data, context={"schedule": schedule})
        serializer.is_valid(raise_exception=True)
        quote = quote_create(caller=caller, schedule=schedule, **serializer.validated_data)
        return Response(self.OutputSerializer(quote).data, status=status.HTTP_201_CREATED)


class QuoteGetApi(APIView):
    """GET /api/quotes/{id}: visible to its user (token) or its session (X-Session-Id)."""

    error_codes: tuple[str, ...] = ("validation_error", "not_found")
    OutputSerializer = QuoteOutputSerializer

    @extend_schema(responses=OutputSerializer, parameters=[SESSION_HEADER_PARAMETER])
    def get(self, request, quote_id):
        quote = quote_get_for_caller(quote_id=quote_id, caller=caller_identity(request))
        if quote is None:
            raise NotFound("Quote not found.")
        return Response(self.OutputSerializer(quote).data)


class QuoteSessionGetApi(APIView):
    """GET /api/quotes/session/{session_id}: the session's newest active, unexpired quote.

    Knowing a session id is what identifies an anonymous caller, so the path is enough.
    """

    error_codes: tuple[str, ...] = ("validation_error", "not_found")
    OutputSerializer = QuoteOutputSerializer

    @extend_schema(responses=OutputSerializer)
    def get(self, request, session_id):
        if not session_id_is_valid(session_id):
            raise ValidationFailed(
                "Malformed session id.", details={"session_id": [f"Must be {SESSION_ID_RULE}."]}
            )
        quote = quote_newest_active_for_session(session_id=session_id)
        if quote is None:
            raise NotFound("No active quote for this session.")
        return Response(self.OutputSerializer(quote).data)


class QuoteUseApi(APIView):
    """POST /api/quotes/{id}/use: exactly one caller ever gets 200."""

    error_codes: tuple[str, ...] = (
        "validation_error",
        "not_found",
        "quote_used",
        "quote_expired",
        "quote_conflict",
    )
    OutputSerializer = QuoteOutputSerializer

    @extend_schema(request=None, responses=OutputSerializer, parameters=[SESSION_HEADER_PARAMETER])
    @idempotent
    def post(self, request, quote_id):
        quote = quote_use(quote_id=quote_id, caller=caller_identity(request))
        return Response(self.OutputSerializer(quote).data)


class QuoteExpireApi(APIView):
    """POST /api/quotes/{id}/expire: give up a quote before its expiry."""

    error_codes: tuple[str, ...] = ("validation_error", "not_found", "quote_used")
    OutputSerializer = QuoteOutputSerializer

    @extend_schema(request=None, responses=OutputSerializer, parameters=[SESSION_HEADER_PARAMETER])
    @idempotent
    def post(self, request, quote_id):
        quote = quote_expire(quote_id=quote_id, caller=caller_identity(request))
        return Response(self.OutputSerializer(quote).data)
