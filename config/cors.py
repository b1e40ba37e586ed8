"""CORS headers on the answers that never pass through Django's middleware.

django-cors-headers' CorsMiddleware (first in MIDDLEWARE) decorates every response Django
makes. The ASGI guards wrapped around Django (config/edge.py's 413, ...) answer before
Django runs, so a browser would see those answers as opaque network errors. The outermost
ASGI wrapper here adds the very headers CorsMiddleware would have added, by asking
CorsMiddleware itself: one policy, the CORS_* settings, wherever the answer comes from.
"""

from corsheaders.middleware import CorsMiddleware
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

ORIGIN = b"origin"
ALLOW_ORIGIN = b"access-control-allow-origin"
VARY = b"vary"
HEADER_ENCODING = "latin-1"


def _not_a_view(request: HttpRequest) -> HttpResponse:
    raise AssertionError("CorsMiddleware is only asked for headers here")


_cors = CorsMiddleware(_not_a_view)


def cors_headers(*, method: str, path: str, origin: str) -> list[tuple[bytes, bytes]]:
    """The headers (Vary included) CorsMiddleware adds to an answer to this request."""
    request = HttpRequest()
    request.method = method
    request.path = request.path_info = path
    request.META["HTTP_ORIGIN"] = origin
    response = HttpResponse()
    del response["Content-Type"]
    _cors.add_response_headers(request, response)
    return [
        (name.lower().encode(HEADER_ENCODING), value.encode(HEADER_ENCODING))
        for name, value in response.items()
    ]


def _merged(headers: list[tuple[bytes, bytes]], extra: list[tuple[bytes, bytes]]) -> list:
    """`headers` plus `extra`; Vary values are merged into the one Vary header."""
    vary = HttpResponse()
    for name, value in headers:
        if name.lower() == VARY:
            values = [v.strip() for v in value.decode(HEADER_ENCODING).split(",")]
            patch_vary_headers(vary, [v for v in values if v])
    merged = [(name, value) for name, value in headers if name.lower() != VARY]
    for name, value in extra:
        if name == VARY:
            patch_vary_headers(vary, [value.decode(HEADER_ENCODING)])
        else:
            merged.append((name, value))
    if vary.has_header("Vary"):
        merged.append((VARY, vary["Vary"].encode(HEADER_ENCODING)))
    return merged


class CorsAsgiMiddleware:
    """Outermost ASGI wrapper: `application = CorsAsgiMiddleware(guards(django_app))`.

    Costs nothing for requests without an Origin header. An answer that already carries
    Access-Control-Allow-Origin (CorsMiddleware ran) is passed on untouched.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        origin = next((value for name, value in scope["headers"] if name == ORIGIN), None)
        if origin is None:
            return await self.app(scope, receive, send)

        async def send_with_cors(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                if not any(name.lower() == ALLOW_ORIGIN for name, _ in headers):
                    extra = cors_headers(
                        method=scope["method"],
                        path=scope["path"].removeprefix(scope.get("root_path", "")),
                        origin=origin.decode(HEADER_ENCODING),
                    )
                    message = {**message, "headers": _merged(headers, extra)}
            await send(message)

        return await self.app(scope, receive, send_with_cors)
