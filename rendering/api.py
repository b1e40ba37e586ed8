"""HTTP endpoints of shops, room sessions and renders (API.md, Rendering)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from config.filters import filter_parameters, query_filters
from config.idempotency import idempotent
from config.pagination import CursorPagination, paginated_response
from config.parsers import JSONParser
from config.serializers import StrictInputSerializer
from rendering.filters import RenderJobFilter
from rendering.keys import room_upload_key
from rendering.models import PLACEMENT_SCALE_MAX, PLACEMENT_SCALE_MIN, validate_timezone
from rendering.selectors import (
    USAGE_HISTORY_MAX_DAYS,
    render_job_get_for_user,
    render_job_list_for_user,
    room_session_get_for_user,
    shop_get_for_user,
    shop_list_for_user,
    shop_usage_history,
    shop_usage_today,
)
from rendering.services.render_jobs import render_job_create
from rendering.services.room_sessions import (
    room_session_confirm,
    room_session_create,
    room_session_set_cleaned,
)
from rendering.services.shops import shop_create
from uploads.storage import signed_read_url, signed_upload


def signed_url(key: str, request) -> str | None:
    """A freshly signed GET URL for a stored key (None for no key). Never stored; its
    lifetime is uploads.storage's one rule (≤ 1 h)."""
    if not key:
        return None
    return signed_read_url(key, request=request)


class ShopOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    daily_quota = serializers.IntegerField()
    timezone = serializers.CharField()
    created_at = serializers.DateTimeField()


class ShopCreateApi(APIView):
    """POST /api/shops: a new shop of the caller, with the default daily quota."""

    error_codes: tuple[str, ...] = (
        "validation_error",
        "invalid_token",
        "rate_limited",
        "idempotency_key_in_use",
        "idempotency_key_reused",
        "request_too_large",
    )
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]

    class InputSerializer(StrictInputSerializer):
        name = serializers.CharField(max_length=200)
        timezone = serializers.CharField(
            max_length=64, required=False, default="UTC", validators=[validate_timezone]
        )

    OutputSerializer = ShopOutputSerializer

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    @idempotent
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        shop = shop_create(owner=request.user, name=values["name"], time_zone=values["timezone"])
        return Response(self.OutputSerializer(shop).data, status=status.HTTP_201_CREATED)


class ShopListApi(APIView):
    """GET /api/shops: the caller's shops, newest first."""

    error_codes: tuple[str, ...] = ("validation_error", "invalid_token", "rate_limited")
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]
    pagination_class = CursorPagination
    OutputSerializer = ShopOutputSerializer

    @extend_schema(responses=ShopOutputSerializer(many=True))
    def get(self, request):
        return paginated_response(
            request=request,
            view=self,
            queryset=shop_list_for_user(user=request.user, filters=query_filters(request)),
            serializer_class=self.OutputSerializer,
        )


class ShopListOrCreateApi(ShopListApi, ShopCreateApi):
    """/api/shops: one URL, two views; APIView.dispatch sends GET to ShopListApi.get and
    POST to ShopCreateApi.post (both views' settings agree)."""


class ShopDetailApi(APIView):
    """GET /api/shops/{id}: one of the caller's shops (someone else's: 404)."""

    error_codes: tuple[str, ...] = ("invalid_token", "not_found", "rate_limited")
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]
    OutputSerializer = ShopOutputSerializer

    @extend_schema(responses={200: ShopOutputSerializer})
    def get(self, request, shop_id):
        shop = shop_get_for_user(user=request.user, shop_id=shop_id)
        return Response(self.OutputSerializer(shop).data)


class UsedSerializer(serializers.Serializer):
    render = serializers.IntegerField()
    prep = serializers.IntegerField()
    cleanup = serializers.IntegerField()


class ShopUsageApi(APIView):
    """GET /api/shops/{id}/usage: today's usage; with ?from=&to= (YYYY-MM-DD, both
    included, at most USAGE_HISTORY_MAX_DAYS days) one row per day, oldest first."""

    error_codes: tuple[str, ...] = (
        "validation_error",
        "invalid_token",
        "not_found",
        "rate_limited",
    )
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]

    class InputSerializer(StrictInputSerializer):
        def get_fields(self):
            # "from" is a Python keyword, so the fields cannot be class attributes.
            return {
                "from": serializers.DateField(input_formats=["iso-8601"]),
                "to": serializers.DateField(input_formats=["iso-8601"]),
            }

        def validate(self, attrs):
            first, last = attrs["from"], attrs["to"]
            if last < first:
                raise serializers.ValidationError({"to": ["Must not be before `from`."]})
            if (last - first).days + 1 > USAGE_HISTORY_MAX_DAYS:
                raise serializers.ValidationError(
                    {"to": [f"At most {USAGE_HISTORY_MAX_DAYS} days, both ends included."]}
                )
            return attrs

    class OutputSerializer(serializers.Serializer):
        date = serializers.DateField()
        daily_quota = serializers.IntegerField()
        used = UsedSerializer()
        reserved = serializers.IntegerField()
        remaining = serializers.IntegerField()
        resets_at = serializers.DateTimeField()

    class HistoryOutputSerializer(serializers.Serializer):
        class DaySerializer(serializers.Serializer):
            date = serializers.DateField()
            daily_quota = serializers.IntegerField()
            used = UsedSerializer()
            reserved = serializers.IntegerField()

        results = DaySerializer(many=True)

    @extend_schema(
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATE, OpenApiParameter.QUERY, required=False),
            OpenApiParameter("to", OpenApiTypes.DATE, OpenApiParameter.QUERY, required=False),
        ],
        responses={
            200: PolymorphicProxySerializer(
                component_name="ShopUsage",
                serializers=[OutputSerializer, HistoryOutputSerializer],
                resource_type_field_name=None,
            )
        },
    )
    def get(self, request, shop_id):
        params = query_filters(request)
        if not params:
            shop = shop_get_for_user(user=request.user, shop_id=shop_id)
            return Response(self.OutputSerializer(shop_usage_today(shop=shop)).data)
        data = self.InputSerializer(data=params)
        data.is_valid(raise_exception=True)
        shop = shop_get_for_user(user=request.user, shop_id=shop_id)
        days = shop_usage_history(
            shop=shop, first=data.validated_data["from"], last=data.validated_data["to"]
        )
        return Response(self.HistoryOutputSerializer({"results": days}).data)


class RoomSessionCreateApi(APIView):
    """POST /api/shops/{id}/room-sessions: a room session and where to PUT its image."""

    error_codes: tuple[str, ...] = ("invalid_token", "not_found")
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]

    class OutputSerializer(serializers.Serializer):
        class UploadSerializer(serializers.Serializer):
            method = serializers.CharField()
            url = serializers.CharField()
            headers = serializers.DictField(child=serializers.CharField())
            key = serializers.CharField()

        id = serializers.UUIDField()
        upload = UploadSerializer()

    @extend_schema(request=None, responses={201: OutputSerializer})
    @idempotent
    def post(self, request, shop_id):
        shop = shop_get_for_user(user=request.user, shop_id=shop_id)
        session = room_session_create(shop=shop, created_by=request.user)
        upload = signed_upload(
            room_upload_key(shop_id=shop.pk, session_id=session.pk),
            content_type="image/jpeg",
            request=request,
        )
        body = self.OutputSerializer({"id": session.pk, "upload": upload}).data
        return Response(body, status=status.HTTP_201_CREATED)


class RoomSessionOutputSerializer(serializers.Serializer):
    """A room session with freshly signed URLs of its images."""

    id = serializers.UUIDField()
    shop_id = serializers.UUIDField()
    original_image_key = serializers.CharField(source="original_room_image_key")
    original_image_url = serializers.SerializerMethodField()
    cleaned_image_key = serializers.CharField(source="cleaned_room_image_key")
    cleaned_image_url = serializers.SerializerMethodField()
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    confirmed_at = serializers.DateTimeField(allow_null=True)

    def get_original_image_url(self, session) -> str | None:
        return signed_url(session.original_room_image_key, self.context["request"])

    def get_cleaned_image_url(self, session) -> str | None:
        return signed_url(session.cleaned_room_image_key, self.context["request"])


class RoomSessionConfirmApi(APIView):
    """POST /api/room-sessions/{id}/confirm: confirm the uploaded room image."""

    error_codes: tuple[str, ...] = ("invalid_token", "not_found", "image_missing", "file_too_large")
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]
    OutputSerializer = RoomSessionOutputSerializer

    @extend_schema(request=None, responses={200: RoomSessionOutputSerializer})
    @idempotent
    def post(self, request, room_session_id):
        session = room_session_get_for_user(user=request.user, room_session_id=room_session_id)
        session = room_session_confirm(session=session)
        return Response(self.OutputSerializer(session, context={"request": request}).data)


class RoomSessionCleanedApi(APIView):
    """POST /api/room-sessions/{id}/cleaned: record the cleaned room image."""

    error_codes: tuple[str, ...] = (
        "validation_error",
        "invalid_token",
        "not_found",
        "image_missing",
    )
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]
    OutputSerializer = RoomSessionOutputSerializer

    class InputSerializer(StrictInputSerializer):
        upload_id = serializers.UUIDField()

    @extend_schema(request=InputSerializer, responses={200: RoomSessionOutputSerializer})
    @idempotent
    def post(self, request, room_session_id):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        session = room_session_get_for_user(user=request.user, room_session_id=room_session_id)
        session = room_session_set_cleaned(
            session=session, user=request.user, upload_id=data.validated_data["upload_id"]
        )
        return Response(self.OutputSerializer(session, context={"request": request}).data)


class RenderCreateApi(APIView):
    """POST /api/renders: accept a render under the shop's daily quota and queue it."""

    error_codes: tuple[str, ...] = (
        "validation_error",
        "invalid_token",
        "not_found",
        "image_missing",
        "quota_exceeded",
        "rate_limited",
        "idempotency_key_in_use",
        "idempotency_key_reused",
        "request_too_large",
        "service_unavailable",
    )
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]

    class InputSerializer(StrictInputSerializer):
        class PlacementSerializer(StrictInputSerializer):
            x = serializers.FloatField(min_value=0, max_value=1)
            y = serializers.FloatField(min_value=0, max_value=1)
            scale = serializers.FloatField(
                min_value=PLACEMENT_SCALE_MIN, max_value=PLACEMENT_SCALE_MAX
            )

        shop_id = serializers.UUIDField()
        room_session_id = serializers.UUIDField()
        product_image_id = serializers.UUIDField()
        placement = PlacementSerializer()

    class OutputSerializer(serializers.Serializer):
        id = serializers.UUIDField()
        status = serializers.CharField()

    @extend_schema(request=InputSerializer, responses={202: OutputSerializer})
    @idempotent
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        shop = shop_get_for_user(user=request.user, shop_id=values["shop_id"])
        room_session = room_session_get_for_user(
            user=request.user, room_session_id=values["room_session_id"], shop_id=shop.pk
        )
        job = render_job_create(
            user=request.user,
            shop=shop,
            room_session=room_session,
            product_upload_id=values["product_image_id"],
            **values["placement"],
        )
        # The job may already have moved on (eager mode); the contract's answer is "queued".
        body = self.OutputSerializer({"id": job.pk, "status": "queued"}).data
        return Response(body, status=status.HTTP_202_ACCEPTED)


class RenderOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    result_image_url = serializers.SerializerMethodField()
    error = serializers.CharField(allow_null=True, source="error_or_none")
    shop_id = serializers.UUIDField()
    room_session_id = serializers.UUIDField()
    product_image_id = serializers.UUIDField(source="product_upload_id")
    placement = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)

    def get_result_image_url(self, job) -> str | None:
        return signed_url(job.result_image_key, self.context["request"])

    def get_placement(self, job) -> dict[str, float]:
        return {"x": job.placement_x, "y": job.placement_y, "scale": job.placement_scale}


class RenderListApi(APIView):
    """GET /api/renders: the renders of the caller's shops, newest first, filtered by
    shop_id and status."""

    error_codes: tuple[str, ...] = ("validation_error", "invalid_token", "rate_limited")
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]
    pagination_class = CursorPagination

    @extend_schema(
        responses=RenderOutputSerializer(many=True), parameters=filter_parameters(RenderJobFilter)
    )
    def get(self, request):
        return paginated_response(
            request=request,
            view=self,
            queryset=render_job_list_for_user(user=request.user, filters=query_filters(request)),
            # Not self.OutputSerializer: on /api/renders that is RenderCreateApi's.
            serializer_class=RenderOutputSerializer,
            context={"request": request},
        )


class RenderListOrCreateApi(RenderListApi, RenderCreateApi):
    """/api/renders: one URL, two views; APIView.dispatch sends GET to RenderListApi.get and
    POST to RenderCreateApi.post (both views' settings agree)."""


class RenderDetailApi(APIView):
    """GET /api/renders/{id}: one render of the caller's shops, URLs freshly signed."""

    error_codes: tuple[str, ...] = ("invalid_token", "not_found", "rate_limited")
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]
    OutputSerializer = RenderOutputSerializer

    @extend_schema(responses={200: OutputSerializer})
    def get(self, request, render_id):
        job = render_job_get_for_user(user=request.user, render_job_id=render_id)
        return Response(self.OutputSerializer(job, context={"request": request}).data)
