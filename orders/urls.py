"""URL routes of this app (mounted under /api/)."""

from django.urls import path

from orders.api import (
    OrderCancelApi,
    OrderDetailApi,
    OrderListOrPlaceApi,
    OrderTrackingApi,
    ProductListApi,
    TrackingEventCreateApi,
)

urlpatterns = [
    path("products", ProductListApi.as_view(), name="product-list"),
    path("orders", OrderListOrPlaceApi.as_view(), name="order-list"),
    path("orders/<uuid:order_id>", OrderDetailApi.as_view(), name="order-detail"),
    path("orders/<uuid:order_id>/cancel", OrderCancelApi.as_view(), name="order-cancel"),
    path("orders/<uuid:order_id>/tracking", OrderTrackingApi.as_view(), name="order-tracking"),
    path(
        "orders/<uuid:order_id>/tracking/events",
        TrackingEventCreateApi.as_view(),
        name="order-tracking-event-create",
    ),
]
