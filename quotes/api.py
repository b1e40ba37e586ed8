"""HTTP API of credit schedules and quotes (thin: validate, call a service, render)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import NotFound, ValidationFailed
from config.filters import filter_parameters, query_filters
from config.idempotency import idempotent
from config.pagination import CursorPagination, paginated_response
from quotes.filters import QuoteFilter
from quotes.identity import (
    SESSION_ID_HEADER,
    SESSION_ID_RULE,
    caller_identity,
    caller_require_known,
    session_id_is_valid,
)
from quotes.selectors import (
    credit_schedule_active,
    quote_get_for_caller,
    quote_list_for_caller,
    quote_newest_active_for_session,
)
from quotes.serializers import (
    QuoteBatchInputSerializer,
    QuoteInputSerializer,
    QuoteOutputSerializer,
    SharedQuoteOutputSerializer,
)
from quotes.services import quote_create, quote_create_many, quote_expire, quote_use
from quotes.shares import (
    quote_get_shared,
    quote_share_create,
    quote_share_revoke,
    share_token_issue,
    share_url_path,
)
from quotes.throttling import SharedQuoteThrottle

SESSION_HEADER_PARAMETER = OpenApiParameter(
    SESSION_ID_HEADER,
    str,
    OpenApiParameter.HEADER,
    required=False,
    description=f"Anonymous caller identity: {SESSION_ID_RULE}.",
)


class CreditScheduleGetApi(APIView):
    """GET /api/credit-schedule: the active price list."""

    error_codes: tuple[str, ...] = ("rate_limited", "service_unavailable")

    class OutputSerializer(serializers.Serializer):
        version = serializers.IntegerField()
        ops = serializers.JSONField()
        max_files = serializers.IntegerField()
        quote_ttl_seconds = serializers.IntegerField()
        max_quote_ttl_seconds = serializers.IntegerField()

    @extend_schema(responses=OutputSerializer)
    def get(self, request):
        return Response(self.OutputSerializer(credit_schedule_active()).data)


class QuoteCreateApi(APIView):
    """POST /api/quotes: price a job against the active schedule and store the quote."""

    error_codes: tuple[str, ...] = (
        "validation_error",
        "invalid_token",
        "rate_limited",
        "idempotency_key_in_use",
        "idempotency_key_reused",
        "request_too_large",
        "service_unavailable",
    )

    InputSerializer = QuoteInputSerializer
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


class QuoteListApi(APIView):
    """GET /api/quotes: the caller's quotes (its user's and its X-Session-Id's), newest
    first, filtered by status, session_id, created_after (≥), created_before (<)."""

    error_codes: tuple[str, ...] = ("validation_error", "rate_limited")
    pagination_class = CursorPagination
    OutputSerializer = QuoteOutputSerializer

    @extend_schema(
        responses=OutputSerializer(many=True),
        parameters=[SESSION_HEADER_PARAMETER, *filter_parameters(QuoteFilter)],
    )
    def get(self, request):
        caller = caller_require_known(caller_identity(request))
        return paginated_response(
            request=request,
            view=self,
            queryset=quote_list_for_caller(caller=caller, filters=query_filters(request)),
            serializer_class=self.OutputSerializer,
        )


class QuoteListOrCreateApi(QuoteListApi, QuoteCreateApi):
    """/api/quotes: one URL, two views; APIView.dispatch sends GET to QuoteListApi.get and
    POST to QuoteCreateApi.post (neither sets permissions, throttles or parsers)."""


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


class QuoteBatchCreateApi(APIView):
    """POST /api/quotes/batch: up to 50 quotes in one request, all created or none."""

    error_codes: tuple[str, ...] = (
        "validation_error",
        "invalid_token",
        "idempotency_key_in_use",
        "idempotency_key_reused",
        "rate_limited",
        "service_unavailable",
    )

    InputSerializer = QuoteBatchInputSerializer

    class OutputSerializer(serializers.Serializer):
        results = QuoteOutputSerializer(many=True)

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
        data = serializer.validated_data
        quotes = quote_create_many(
            caller=caller,
            jobs=data["quotes"],
            schedule=schedule,
            session_id=data.get("session_id"),
        )
        return Response(
            self.OutputSerializer({"results": quotes}).data, status=status.HTTP_201_CREATED
        )


class QuoteShareApi(APIView):
    """POST /api/quotes/{id}/share: the quote's read-only link (the same one while it is
    unrevoked); DELETE revokes it. Owner only; anyone else gets 404."""

    error_codes: tuple[str, ...] = (
        "not_found",
        "quote_expired",
        "share_conflict",
        "invalid_token",
        "validation_error",
        "idempotency_key_in_use",
        "idempotency_key_reused",
        "rate_limited",
    )

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField()
        share_url = serializers.CharField()
        expires_at = serializers.DateTimeField()

    @extend_schema(
        request=None,
        responses={201: OutputSerializer},
        parameters=[SESSION_HEADER_PARAMETER],
    )
    @idempotent
    def post(self, request, quote_id):
        share = quote_share_create(quote_id=quote_id, caller=caller_identity(request))
        token = share_token_issue(share=share)
        body = {
            "token": token,
            "share_url": request.build_absolute_uri(share_url_path(token)),
            "expires_at": share.expires_at,
        }
        return Response(self.OutputSerializer(body).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None}, parameters=[SESSION_HEADER_PARAMETER])
    def delete(self, request, quote_id):
        quote_share_revoke(quote_id=quote_id, caller=caller_identity(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class SharedQuoteGetApi(APIView):
    """GET /api/shared-quotes/{token}: the quote a share link opens, for anyone holding it.

    No authentication and no session: the token alone decides, and a bearer header or
    X-Session-Id is ignored. Every refusal is the same 404, and the per-IP throttle bounds
    how fast anyone can probe tokens. Answers are never cached, so a revocation is seen on
    the next request.
    """

    error_codes: tuple[str, ...] = ("not_found", "rate_limited", "service_unavailable")

    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = (SharedQuoteThrottle,)
    OutputSerializer = SharedQuoteOutputSerializer

    @extend_schema(responses=OutputSerializer, auth=[])
    def get(self, request, token):
        quote = quote_get_shared(token=token)
        response = Response(self.OutputSerializer(quote).data)
        response["Cache-Control"] = "private, no-store"
        response["Referrer-Policy"] = "no-referrer"
        return response
