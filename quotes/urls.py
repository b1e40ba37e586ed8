"""URL routes of this app (mounted under /api/)."""

from django.urls import path

from quotes import api

urlpatterns = [
    path("credit-schedule", api.CreditScheduleGetApi.as_view(), name="credit-schedule"),
]
