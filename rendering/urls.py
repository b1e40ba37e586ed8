"""URL routes of this app (mounted under /api/)."""

from django.urls import path

from rendering import api

urlpatterns = [
    path("shops", api.ShopListOrCreateApi.as_view(), name="shop-create"),
    path("shops/<uuid:shop_id>", api.ShopDetailApi.as_view(), name="shop-detail"),
    path("shops/<uuid:shop_id>/usage", api.ShopUsageApi.as_view(), name="shop-usage"),
    path(
        "shops/<uuid:shop_id>/room-sessions",
        api.RoomSessionCreateApi.as_view(),
        name="room-session-create",
    ),
    path(
        "room-sessions/<uuid:room_session_id>/confirm",
        api.RoomSessionConfirmApi.as_view(),
        name="room-session-confirm",
    ),
    path(
        "room-sessions/<uuid:room_session_id>/cleaned",
        api.RoomSessionCleanedApi.as_view(),
        name="room-session-cleaned",
    ),
    path("renders", api.RenderListOrCreateApi.as_view(), name="render-create"),
    path("renders/<uuid:render_id>", api.RenderDetailApi.as_view(), name="render-detail"),
]
