"""HTTP API of a user's notifications (API.md)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import (
    notification_list_for_user,
)
from accounts.services.notifications import notification_mark_all_read, notification_mark_read
from config.idempotency import idempotent
from config.pagination import CursorPagination, paginated_response

TRUE_VALUES = {"1", "true", "yes", "on"}


class NotificationOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.CharField()
    title = serializers.CharField()
    body = serializers.CharField()
    # A declared field (the metaclass takes it out of the class), not Serializer.data.
    data = serializers.JSONField()  # type: ignore[assignment]
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)


class NotificationListApi(APIView):
    """GET /api/notifications: the user's notifications, newest first."""

    error_codes: tuple[str, ...] = ("validation_error", "invalid_token")
    permission_classes = [IsAuthenticated]
    pagination_class = CursorPagination

    @extend_schema(
        parameters=[OpenApiParameter("unread", bool, description="Only unread ones.")],
        responses=NotificationOutputSerializer(many=True),
    )
    def get(self, request):
        unread = request.query_params.get("unread", "").strip().lower() in TRUE_VALUES
        notifications = notification_list_for_user(user=request.user, unread=unread)
        return paginated_response(
            request=request,
            view=self,
            queryset=notifications,
            serializer_class=NotificationOutputSerializer,
        )


class NotificationReadApi(APIView):
    """POST /api/notifications/{id}/read: mark one notification read."""

    error_codes: tuple[str, ...] = ("invalid_token", "not_found")
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=NotificationOutputSerializer)
    @idempotent
    def post(self, request, notification_id):
        notification = notification_mark_read(user=request.user, notification_id=notification_id)
        return Response(NotificationOutputSerializer(notification).data)


class NotificationReadAllApi(APIView):
    """POST /api/notifications/read-all: mark every notification read."""

    error_codes: tuple[str, ...] = ("invalid_token",)
    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        marked_read = serializers.IntegerField()

    @extend_schema(request=None, responses=OutputSerializer)
    @idempotent
    def post(self, request):
        marked = notification_mark_all_read(user=request.user)
        return Response(self.OutputSerializer({"marked_read": marked}).data)
