"""URL routes of this app (mounted under /api/)."""

from django.urls import path

from quotes import api

urlpatterns = [
    path("credit-schedule", api.CreditScheduleGetApi.as_view(), name="credit-schedule"),
    path("quotes", api.QuoteListOrCreateApi.as_view(), name="quote-create"),
    path("quotes/batch", api.QuoteBatchCreateApi.as_view(), name="quote-batch-create"),
    path("quotes/session/<str:session_id>", api.QuoteSessionGetApi.as_view(), name="quote-session"),
    path("quotes/<uuid:quote_id>", api.QuoteGetApi.as_view(), name="quote-get"),
    path("quotes/<uuid:quote_id>/use", api.QuoteUseApi.as_view(), name="quote-use"),
    path("quotes/<uuid:quote_id>/expire", api.QuoteExpireApi.as_view(), name="quote-expire"),
    path("quotes/<uuid:quote_id>/share", api.QuoteShareApi.as_view(), name="quote-share"),
    path("shared-quotes/<str:token>", api.SharedQuoteGetApi.as_view(), name="shared-quote"),
]
