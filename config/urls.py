"""Root URLs: the API under /api/, the admin, the OpenAPI schema and its offline docs."""

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView

from config.api_docs import RedocDocsView, SwaggerDocsView
from config.health import HealthLiveApi, HealthReadyApi
from config.metrics import API_NOT_FOUND_URL_NAME, metrics_view
from config.middleware import api_not_found

api_patterns: list[URLPattern | URLResolver] = [
    path("ping", HealthReadyApi.as_view(), name="ping"),
    path("health/live", HealthLiveApi.as_view(), name="health-live"),
    path("health/ready", HealthReadyApi.as_view(), name="health-ready"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SwaggerDocsView.as_view(url_name="schema"), name="docs"),
    path("redoc/", RedocDocsView.as_view(url_name="schema"), name="redoc"),
    path("", include("accounts.urls")),
    path("", include("accounts.webhooks.urls")),
    path("", include("quotes.urls")),
    path("", include("quotes.runs.urls")),
    path("", include("uploads.urls")),
    path("", include("rendering.urls")),
    path("", include("orders.urls")),
]

urlpatterns = [
    path("api/", include(api_patterns)),
    # Exempt like every API view: it changes nothing, and an unknown path is a 404 for any
    # method, not Django's HTML CSRF page.
    re_path(r"^api/", csrf_exempt(api_not_found), name=API_NOT_FOUND_URL_NAME),
    # Prometheus scrapes it: outside /api/, so no API throttle or middleware applies.
    path("metrics", metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
]

handler400 = "config.middleware.handler400"
handler404 = "config.middleware.handler404"
handler500 = "config.middleware.handler500"
