"""Orders HTTP API: products, placing/cancelling/reading orders, delivery tracking."""

import uuid

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAdminUser, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from config.filters import filter_parameters, query_filters
from config.idempotency import idempotent
from config.pagination import CursorPagination, paginated_response
from config.serializers import StrictInputSerializer
from orders.filters import OrderFilter
from orders.models import TrackingStatus
from orders.selectors import (
    order_get_for_user,
    order_list_for_user,
    product_list_public,
    tracking_get_for_user,
)
from orders.services import (
    MAX_LINE_QUANTITY,
    MAX_ORDER_LINES,
    OrderLine,
    order_cancel,
    order_place,
    tracking_event_add,
)

SKU_MAX_CHARS = 64


class OrderItemOutputSerializer(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    unit_price_cents = serializers.IntegerField()
    quantity = serializers.IntegerField()
    line_total_cents = serializers.IntegerField()


class OrderOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    items = OrderItemOutputSerializer(many=True, source="items.all")
    total_cents = serializers.IntegerField()
    shipping_address = serializers.JSONField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class TrackingEventOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    location = serializers.CharField()
    note = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()


class ProductListApi(APIView):
    """GET /api/products: the active catalogue, by sku, public."""

    error_codes: tuple[str, ...] = ("validation_error",)
    permission_classes = [AllowAny]

    class Pagination(CursorPagination):
        ordering = "sku"

    pagination_class = Pagination

    class OutputSerializer(serializers.Serializer):
        sku = serializers.CharField()
        name = serializers.CharField()
        price_cents = serializers.IntegerField()
        in_stock = serializers.SerializerMethodField()

        def get_in_stock(self, product) -> bool:
            return product.stock_quantity > 0

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request):
        return paginated_response(
            request=request,
            view=self,
            queryset=product_list_public(),
            serializer_class=self.OutputSerializer,
        )


class OrderPlaceApi(APIView):
    """POST /api/orders: place an order (stock taken atomically, all or nothing)."""

    error_codes: tuple[str, ...] = (
        "validation_error",
        "invalid_token",
        "not_found",
        "out_of_stock",
    )
    permission_classes = [IsAuthenticated]

    class InputSerializer(StrictInputSerializer):
        class LineSerializer(StrictInputSerializer):
            sku = serializers.CharField(max_length=SKU_MAX_CHARS)
            quantity = serializers.IntegerField(min_value=1, max_value=MAX_LINE_QUANTITY)

        # The stubs leave out the list-only max_length/min_length that many=True accepts.
        items = LineSerializer(many=True, allow_empty=False, max_length=MAX_ORDER_LINES)  # type: ignore[call-arg]
        address_id = serializers.UUIDField()

    @extend_schema(request=InputSerializer, responses={201: OrderOutputSerializer})
    @idempotent
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        order = order_place(
            user=request.user,
            lines=[OrderLine(sku=x["sku"], quantity=x["quantity"]) for x in data["items"]],
            address_id=data["address_id"],
        )
        return Response(OrderOutputSerializer(order).data, status=status.HTTP_201_CREATED)


class OrderListApi(APIView):
    """GET /api/orders: the caller's orders, newest first, filtered by status."""

    error_codes: tuple[str, ...] = ("validation_error", "invalid_token", "rate_limited")
    permission_classes = [IsAuthenticated]
    pagination_class = CursorPagination

    @extend_schema(
        responses=OrderOutputSerializer(many=True), parameters=filter_parameters(OrderFilter)
    )
    def get(self, request):
        return paginated_response(
            request=request,
            view=self,
            queryset=order_list_for_user(user=request.user, filters=query_filters(request)),
            serializer_class=OrderOutputSerializer,
        )


class OrderListOrPlaceApi(OrderListApi, OrderPlaceApi):
    """/api/orders: one URL, two views; APIView.dispatch sends GET to OrderListApi.get and
    POST to OrderPlaceApi.post (both views' settings agree)."""


class OrderDetailApi(APIView):
    """GET /api/orders/{id}: one of the caller's orders (someone else's: 404)."""

    error_codes: tuple[str, ...] = ("invalid_token", "not_found")
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=OrderOutputSerializer)
    def get(self, request, order_id: uuid.UUID):
        order = order_get_for_user(user=request.user, order_id=order_id)
        return Response(OrderOutputSerializer(order).data)


class OrderCancelApi(APIView):
    """POST /api/orders/{id}/cancel: placed → cancelled, stock returned exactly once."""

    error_codes: tuple[str, ...] = ("invalid_token", "not_found", "order_not_cancellable")
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=OrderOutputSerializer)
    @idempotent
    def post(self, request, order_id: uuid.UUID):
        order = order_cancel(user=request.user, order_id=order_id)
        return Response(OrderOutputSerializer(order).data)


class OrderTrackingApi(APIView):
    """GET /api/orders/{id}/tracking: carrier, status and the timeline, oldest event first."""

    error_codes: tuple[str, ...] = ("invalid_token", "not_found", "order_cancelled")
    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        carrier = serializers.CharField()
        tracking_number = serializers.CharField()
        status = serializers.CharField()
        estimated_delivery = serializers.DateField(allow_null=True)
        events = TrackingEventOutputSerializer(many=True, source="events.all")
        updated_at = serializers.DateTimeField()

    @extend_schema(responses=OutputSerializer)
    def get(self, request, order_id: uuid.UUID):
        tracking = tracking_get_for_user(user=request.user, order_id=order_id)
        return Response(self.OutputSerializer(tracking).data)


class TrackingEventCreateApi(APIView):
    """POST /api/orders/{id}/tracking/events (staff): append to the timeline."""

    error_codes: tuple[str, ...] = (
        "validation_error",
        "invalid_token",
        "forbidden",
        "not_found",
        "order_cancelled",
        "order_not_placed",
    )
    permission_classes = [IsAdminUser]

    class InputSerializer(StrictInputSerializer):
        status = serializers.ChoiceField(choices=TrackingStatus.choices)
        location = serializers.CharField(max_length=200, required=False, allow_blank=True)
        note = serializers.CharField(max_length=2000, required=False, allow_blank=True)
        occurred_at = serializers.DateTimeField(required=False)
        carrier = serializers.CharField(max_length=100, required=False, allow_blank=True)
        tracking_number = serializers.CharField(max_length=100, required=False, allow_blank=True)
        estimated_delivery = serializers.DateField(required=False, allow_null=True)

    @extend_schema(request=InputSerializer, responses={201: TrackingEventOutputSerializer})
    @idempotent
    def post(self, request, order_id: uuid.UUID):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        event = tracking_event_add(order_id=order_id, by=request.user, **serializer.validated_data)
        return Response(TrackingEventOutputSerializer(event).data, status=status.HTTP_201_CREATED)
