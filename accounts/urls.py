"""URL routes of this app (mounted under /api/)."""

from django.urls import path

from accounts import api

urlpatterns = [
    path("users/register", api.UserRegisterApi.as_view(), name="user-register"),
    path("users/login", api.UserLoginApi.as_view(), name="user-login"),
    path("users/logout", api.UserLogoutApi.as_view(), name="user-logout"),
    path("users/logout-all", api.UserLogoutAllApi.as_view(), name="user-logout-all"),
    path("users/me", api.UserMeApi.as_view(), name="user-me"),
    path("users/password", api.UserPasswordChangeApi.as_view(), name="user-password"),
    path("users/sessions", api.AuthSessionListApi.as_view(), name="auth-session-list"),
    path(
        "users/sessions/<uuid:session_id>",
        api.AuthSessionDeleteApi.as_view(),
        name="auth-session-delete",
    ),
    path("addresses", api.AddressListCreateApi.as_view(), name="address-list"),
    path("addresses/<uuid:address_id>", api.AddressDetailApi.as_view(), name="address-detail"),
    path(
        "addresses/<uuid:address_id>/default",
        api.AddressSetDefaultApi.as_view(),
        name="address-set-default",
    ),
    path("notifications", api.NotificationListApi.as_view(), name="notification-list"),
    path(
        "notifications/read-all",
        api.NotificationReadAllApi.as_view(),
        name="notification-read-all",
    ),
    path(
        "notifications/<uuid:notification_id>/read",
        api.NotificationReadApi.as_view(),
        name="notification-read",
    ),
]
