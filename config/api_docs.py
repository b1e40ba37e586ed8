"""The offline docs pages: Swagger UI and Redoc from drf-spectacular-sidecar, under a
Content-Security-Policy that keeps every request the page makes on this host."""

from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView

# Both pages inline their start-up script and styles; Redoc renders its schema in a blob:
# worker. Nothing else is allowed: Redoc's sidebar logo from cdn.redoc.ly is never fetched.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' blob:; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
    "worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'"
)


class _SameHostOnly:
    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)  # type: ignore[misc]
        response["Content-Security-Policy"] = DOCS_CSP
        return response


class SwaggerDocsView(_SameHostOnly, SpectacularSwaggerView):
    """GET /api/docs/: Swagger UI."""


class RedocDocsView(_SameHostOnly, SpectacularRedocView):
    """GET /api/redoc/: Redoc, without its Google Fonts (templates/atelier/redoc.html)."""

    template_name = "atelier/redoc.html"
