"""POST /api/quote-runs and GET /api/quote-runs/{id} (the stream lives in sse.py)."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import NotFound
from config.idempotency import idempotent
from quotes.api import SESSION_HEADER_PARAMETER
from quotes.identity import caller_identity
from quotes.runs.selectors import quote_run_get_for_caller
from quotes.runs.services import quote_run_create
from quotes.runs.stream_tokens import quote_run_stream_url
from quotes.selectors import credit_schedule_active
from quotes.serializers import JobInputSerializer

MAX_PROVIDERS = 20


class QuoteRunCreateApi(APIView):
    """POST /api/quote-runs: start a quote run; its events stream at `stream_url`."""

    error_codes: tuple[str, ...] = ("validation_error",)

    class InputSerializer(JobInputSerializer):
        providers = serializers.ListField(
            child=serializers.CharField(max_length=64),
            required=False,
            allow_empty=False,
            max_length=MAX_PROVIDERS,
        )

    class OutputSerializer(serializers.Serializer):
        run_id = serializers.UUIDField(source="id")
        status = serializers.CharField()
        stream_url = serializers.SerializerMethodField()
        status_url = serializers.SerializerMethodField()

        def get_stream_url(self, run) -> str:
            return quote_run_stream_url(run=run)

        def get_status_url(self, run) -> str:
            return reverse("quote-run-detail", kwargs={"run_id": run.id})

    @extend_schema(
        request=InputSerializer,
        responses={202: OutputSerializer},
        parameters=[SESSION_HEADER_PARAMETER],
    )
    @idempotent
    def post(self, request):
        caller = caller_identity(request)
        schedule = credit_schedule_active()
        serializer = self.InputSerializer(data=request.data, context={"schedule": schedule})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        run = quote_run_create(
            caller=caller,
            session_id=data.get("session_id"),
            files=data["files"],
            ops=data["ops"],
            schedule=schedule,
            providers=data.get("providers"),
        )
        return Response(self.OutputSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class QuoteRunDetailApi(APIView):
    """GET /api/quote-runs/{id}: a run's status and result."""

    error_codes: tuple[str, ...] = ("validation_error", "not_found")

    class OutputSerializer(serializers.Serializer):
        run_id = serializers.UUIDField(source="id")
        status = serializers.CharField()
        providers = serializers.ListField(child=serializers.CharField())
        last_event_id = serializers.IntegerField()
        result = serializers.JSONField()
        error = serializers.SerializerMethodField()
        created_at = serializers.DateTimeField()
        expires_at = serializers.DateTimeField()
        finished_at = serializers.DateTimeField(allow_null=True)
        stream_url = serializers.SerializerMethodField()

        def get_stream_url(self, run) -> str:
            return quote_run_stream_url(run=run)

        def get_error(self, run) -> str | None:
            """null while nothing failed, like a render's error."""
            return run.error or None

    @extend_schema(responses={200: OutputSerializer}, parameters=[SESSION_HEADER_PARAMETER])
    def get(self, request, run_id):
        run = quote_run_get_for_caller(run_id=run_id, caller=caller_identity(request))
        if run is None:
            raise NotFound("No such quote run.")
        return Response(self.OutputSerializer(run).data)
