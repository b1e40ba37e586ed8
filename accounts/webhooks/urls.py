"""URL routes of webhooks (mounted under /api/)."""

from django.urls import path

from accounts.webhooks import api

urlpatterns = [
    path("webhooks", api.WebhookListCreateApi.as_view(), name="webhook-list"),
    path("webhooks/<uuid:webhook_id>", api.WebhookDeleteApi.as_view(), name="webhook-delete"),
    path(
        "webhooks/<uuid:webhook_id>/deliveries",
        api.WebhookDeliveryListApi.as_view(),
        name="webhook-delivery-list",
    ),
]
