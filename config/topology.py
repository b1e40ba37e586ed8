"""Which process serves what: request/response on WSGI, event streams on ASGI (Procfile).

An SSE stream needs the ASGI process (a coroutine per open stream); under WSGI Django
would buffer the async stream to its end, so a client would see nothing until the run
finished. The WSGI entry point therefore answers stream paths with a JSON 503 naming the
fix, instead of hanging; the ASGI entry point serves every path.
"""

import json
import re

STREAM_PATH = re.compile(r"^/api/quote-runs/[^/]+/stream/?$")
STREAM_RETRY_AFTER_S = 5


class StreamsOnAsgiOnly:
    """WSGI wrapper: `application = StreamsOnAsgiOnly(get_wsgi_application())`."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if not STREAM_PATH.match(environ.get("PATH_INFO", "")):
            return self.app(environ, start_response)
        body = json.dumps(
            {
                "error": "service_unavailable",
                "message": (
                    "Event streams are served by the ASGI process (Procfile `stream`); "
                    "route /api/quote-runs/<id>/stream to it."
                ),
            }
        ).encode()
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("Retry-After", str(STREAM_RETRY_AFTER_S)),
        ]
        origin = environ.get("HTTP_ORIGIN")
        if origin:  # an error answer carries the CORS headers too (API.md)
            from config.cors import HEADER_ENCODING, cors_headers

            headers += [
                (name.decode(HEADER_ENCODING), value.decode(HEADER_ENCODING))
                for name, value in cors_headers(
                    method=environ.get("REQUEST_METHOD", "GET"),
                    path=environ.get("PATH_INFO", ""),
                    origin=origin,
                )
            ]
        start_response("503 Service Unavailable", headers)
        return [body]
