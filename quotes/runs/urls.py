"""URL routes of quote runs (mounted under /api/)."""

from django.urls import path

from quotes.runs.api import QuoteRunCreateApi, QuoteRunDetailApi
from quotes.runs.sse import quote_run_stream

urlpatterns = [
    path("quote-runs", QuoteRunCreateApi.as_view(), name="quote-run-create"),
    path("quote-runs/<uuid:run_id>", QuoteRunDetailApi.as_view(), name="quote-run-detail"),
    path("quote-runs/<uuid:run_id>/stream", quote_run_stream, name="quote-run-stream"),
]
