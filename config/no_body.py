"""A body sent to an /api/ endpoint that takes none is a 400, never silently ignored.

Which handlers take a body follows the view shape of STYLE.md, which the OpenAPI schema
reads too (config.openapi.AutoSchema): a POST/PUT/PATCH of a view with an `InputSerializer`
takes one; every other handler, DELETE included, takes none. No view carries a flag, and
tests/config/test_no_body.py holds the rule against the schema and the handlers' code.

"No body" is an empty body, an empty JSON object (`{}`, JSON whitespace allowed: clients
and generated code often send it) or a form without fields. Anything else (a non-empty
object, an array, a form field, bytes that are not JSON) is a 400 `validation_error` with
details {"body": [...]}. The check runs before the view, like
config.middleware.RequestTextMiddleware, so such a 400 is never stored under an
Idempotency-Key; a body over its limit never gets here (config/edge.py).
"""

import re

from django.http import QueryDict
from rest_framework.views import APIView

from config.middleware import is_api_request, json_error

CHECKED_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
NO_BODY_MESSAGE = "This endpoint takes no request body."
# Empty, or an empty JSON object; JSON whitespace only (RFC 8259 §2).
_NO_INPUT = re.compile(rb"[ \t\r\n]*(?:\{[ \t\r\n]*\}[ \t\r\n]*)?")


def takes_body(view_class: type[APIView], method: str) -> bool:
    """Whether `method` of `view_class` reads a request body (see the module docstring).
    A method the view does not handle counts as taking one: DRF answers it with 405."""
    if getattr(view_class, method.lower(), None) is None:
        return True
    return method in BODY_METHODS and hasattr(view_class, "InputSerializer")


def is_no_input(request) -> bool:
    """An empty body, `{}` with JSON whitespace around or inside it, or a form with no
    field (an HTML form or a test client posting nothing sends a bare multipart ending)."""
    if _NO_INPUT.fullmatch(request.body):
        return True
    if request.content_type == "application/x-www-form-urlencoded":
        return not QueryDict(request.body, encoding=request.encoding)
    if request.content_type == "multipart/form-data":
        # A multipart body without parts is its closing delimiter alone (RFC 2046 §5.1.1).
        boundary = request.content_params.get("boundary", "")
        return bool(boundary) and request.body.strip() == f"--{boundary}--".encode()
    return False


class NoBodyMiddleware:
    """Refuses a body sent to a DRF view's handler that takes none (`takes_body`).

    Sync-only, like the other middleware of the chain (see MIDDLEWARE in settings)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, callback, callback_args, callback_kwargs):
        view_class = getattr(callback, "cls", None)
        if (
            request.method not in CHECKED_METHODS
            or view_class is None
            or not is_api_request(request)
            or takes_body(view_class, request.method)
            or is_no_input(request)
        ):
            return None
        return json_error("validation_error", NO_BODY_MESSAGE, 400, {"body": [NO_BODY_MESSAGE]})
