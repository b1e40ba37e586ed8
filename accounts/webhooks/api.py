"""HTTP API of webhooks: register, list and delete endpoints, list their deliveries."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.webhooks.models import WebhookDeliveryStatus, WebhookEventType
from accounts.webhooks.selectors import (
    webhook_delivery_list,
    webhook_get_for_user,
    webhook_list_for_user,
)
from accounts.webhooks.services import URL_MAX_CHARS, webhook_create, webhook_delete
from config.idempotency import idempotent
from config.pagination import CursorPagination, paginated_response
from config.serializers import StrictInputSerializer

DESCRIPTION_MAX_CHARS = 200


class WebhookOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    url = serializers.CharField()
    events = serializers.ListField(child=serializers.CharField())
    description = serializers.CharField()
    created_at = serializers.DateTimeField()
    is_active = serializers.BooleanField()
    disabled_reason = serializers.SerializerMethodField()

    def get_disabled_reason(self, webhook) -> str | None:
        return webhook.disabled_reason or None


class WebhookListCreateApi(APIView):
    """/api/webhooks: the user's endpoints (GET) and a new one (POST)."""

    error_codes: tuple[str, ...] = ("validation_error", "invalid_token")
    permission_classes = [IsAuthenticated]
    pagination_class = CursorPagination

    class InputSerializer(StrictInputSerializer):
        url = serializers.CharField(max_length=URL_MAX_CHARS, trim_whitespace=False)
        events = serializers.ListField(
            child=serializers.ChoiceField(choices=WebhookEventType.values),
            min_length=1,
            max_length=len(WebhookEventType.values),
        )
        description = serializers.CharField(
            max_length=DESCRIPTION_MAX_CHARS, required=False, allow_blank=True, default=""
        )

    class CreatedSerializer(WebhookOutputSerializer):
        secret = serializers.SerializerMethodField(
            help_text="whsec_ + base64 of the signing key; shown only in this answer."
        )

        def get_secret(self, webhook) -> str:
            return self.context["secret"]

    @extend_schema(responses=WebhookOutputSerializer(many=True))
    def get(self, request):
        """The user's webhook endpoints."""
        return paginated_response(
            request=request,
            view=self,
            queryset=webhook_list_for_user(user=request.user),
            serializer_class=WebhookOutputSerializer,
        )

    @extend_schema(request=InputSerializer, responses={201: CreatedSerializer})
    # The answer holds the signing secret, which is kept encrypted only: like a login, the
    # key is checked but the answer never stored, so a retry registers another webhook.
    @idempotent(store=False)
    def post(self, request):
        """Register an endpoint; its signing secret is shown only in this answer."""
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        webhook, secret = webhook_create(owner=request.user, **serializer.validated_data)
        data = self.CreatedSerializer(webhook, context={"secret": secret}).data
        return Response(data, status=status.HTTP_201_CREATED)


class WebhookDeleteApi(APIView):
    """DELETE /api/webhooks/{id}: remove an endpoint."""

    error_codes: tuple[str, ...] = ("invalid_token", "not_found")
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={204: None})
    def delete(self, request, webhook_id):
        webhook_delete(owner=request.user, webhook_id=webhook_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeliveryPagination(CursorPagination):
    ordering = "-id"  # unique and in creation order


class WebhookDeliveryListApi(APIView):
    """GET /api/webhooks/{id}/deliveries: an endpoint's deliveries."""

    error_codes: tuple[str, ...] = ("validation_error", "invalid_token", "not_found")
    permission_classes = [IsAuthenticated]
    pagination_class = DeliveryPagination

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        event_id = serializers.UUIDField()
        type = serializers.CharField(source="event.type")
        status = serializers.ChoiceField(choices=WebhookDeliveryStatus.choices)
        attempts = serializers.IntegerField()
        last_status_code = serializers.IntegerField(allow_null=True)
        next_attempt_at = serializers.SerializerMethodField()

        def get_next_attempt_at(self, delivery) -> str | None:
            """When the next attempt is due; null once it succeeded or failed for good."""
            if delivery.status != WebhookDeliveryStatus.PENDING:
                return None
            return serializers.DateTimeField().to_representation(delivery.next_attempt_at)

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request, webhook_id):
        webhook = webhook_get_for_user(user=request.user, webhook_id=webhook_id)
        return paginated_response(
            request=request,
            view=self,
            queryset=webhook_delivery_list(webhook=webhook),
            serializer_class=self.OutputSerializer,
        )
