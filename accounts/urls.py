"""URL routes of this app (mounted under /api/)."""

from django.urls import path

from accounts.api import addresses, auth, notifications

urlpatterns = [
    path("users/register", auth.UserRegisterApi.as_view(), name="user-register"),
    path("users/login", auth.UserLoginApi.as_view(), name="user-login"),
    path("users/logout", auth.UserLogoutApi.as_view(), name="user-logout"),
    path("users/logout-all", auth.UserLogoutAllApi.as_view(), name="user-logout-all"),
    path("users/me", auth.UserMeApi.as_view(), name="user-me"),
    path("users/password", auth.UserPasswordChangeApi.as_view(), name="user-password"),
    path("users/sessions", auth.AuthSessionListApi.as_view(), name="auth-session-list"),
    path(
        "users/sessions/<uuid:session_id>",
        auth.AuthSessionDeleteApi.as_view(),
        name="auth-session-delete",
    ),
    path("addresses", addresses.AddressListCreateApi.as_view(), name="address-list"),
    path(
        "addresses/<uuid:address_id>", addresses.AddressDetailApi.as_view(), name="address-detail"
    ),
    path(
        "addresses/<uuid:address_id>/default",
        addresses.AddressSetDefaultApi.as_view(),
        name="address-set-default",
    ),
    path("notifications", notifications.NotificationListApi.as_view(), name="notification-list"),
    path(
        "notifications/read-all",
        notifications.NotificationReadAllApi.as_view(),
        name="notification-read-all",
    ),
    path(
        "notifications/<uuid:notification_id>/read",
        notifications.NotificationReadApi.as_view(),
        name="notification-read",
    ),
]
