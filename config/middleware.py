"""Keep /api/ answers JSON even when the failure happens outside a DRF view; run the admin's
cookie machinery (sessions, CSRF, auth, messages) only outside /api/."""

import sys

from django.contrib.auth import middleware as auth_middleware
from django.contrib.messages import middleware as messages_middleware
from django.contrib.sessions import middleware as sessions_middleware
from django.core.exceptions import DisallowedHost, RequestDataTooBig
from django.http import Http404, JsonResponse
from django.middleware import csrf

from config.body_limits import body_limit, too_large_error
from config.errors import ApplicationError, error_body, unexpected_error_response
from config.parsers import printable, text_problem

API_PREFIX = "/api/"


def is_api_request(request) -> bool:
    return request.path.startswith(API_PREFIX)


def json_error(code: str, message: str, status: int, details=None) -> JsonResponse:
    return JsonResponse(error_body(code, message, details), status=status)


def _drf_response_to_json(response) -> JsonResponse:
    json_response = JsonResponse(response.data, status=response.status_code)
    for header, value in response.items():
        if header.lower() != "content-type":
            json_response[header] = value
    return json_response


class RequestTextMiddleware:
    """Query parameters and headers under /api/ hold nothing a database or an encoder
    refuses (a NUL, a lone surrogate): 400 naming the parameter or header in `details`
    (as a view would: `cursor`, `Idempotency-Key`), before any view, throttle or log line
    sees it. The JSON body gets the same check in config.parsers."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if is_api_request(request):
            problem = _text_problem_in(request)
            if problem is not None:
                where, reason = problem
                return json_error(
                    "validation_error", f"{where} {reason}.", 400, {where: [f"It {reason}."]}
                )
        return self.get_response(request)


def _text_problem_in(request) -> tuple[str, str] | None:
    for name, values in request.GET.lists():
        for text in (name, *values):
            if reason := text_problem(text):
                return printable(name), reason
    for key, value in request.META.items():
        if key.startswith("HTTP_") and isinstance(value, str) and (reason := text_problem(value)):
            return key.removeprefix("HTTP_").replace("_", "-").title(), reason
    return None


class _OutsideApi:
    """Mixin for a middleware that only the admin's HTML pages need: under /api/ it is
    passed through. Bearer and X-Session-Id calls never use a session cookie, a CSRF
    token, request.user from a session or flash messages (DRF authenticates them and its
    views are CSRF-exempt), so they skip that work: a session store, a messages store and
    cookie parsing per request. Subclasses keep Django's class names and ancestry, so the
    admin's system checks still find them."""

    def __call__(self, request):
        if is_api_request(request):
            return self.get_response(request)  # type: ignore[attr-defined]
        return super().__call__(request)  # type: ignore[misc]


class SessionMiddleware(_OutsideApi, sessions_middleware.SessionMiddleware):
    pass


class CsrfViewMiddleware(_OutsideApi, csrf.CsrfViewMiddleware):
    def process_view(self, request, callback, callback_args, callback_kwargs):
        if is_api_request(request):
            return None
        return super().process_view(request, callback, callback_args, callback_kwargs)


class AuthenticationMiddleware(_OutsideApi, auth_middleware.AuthenticationMiddleware):
    pass


class MessageMiddleware(_OutsideApi, messages_middleware.MessageMiddleware):
    pass


class ApiErrorMiddleware:
    """Turns exceptions escaping plain Django views under /api/ into the API error shape.

    Deliberately sync-only and last in MIDDLEWARE: see the comment there.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_api_request(request):
            return None
        if isinstance(exception, Http404):
            return json_error("not_found", "Not found.", 404)
        if isinstance(exception, ApplicationError):
            response = json_error(
                exception.code, exception.message, exception.status_code, exception.details
            )
            for header, value in exception.headers.items():
                response[header] = value
            return response
        return _drf_response_to_json(unexpected_error_response(exception))


def api_not_found(request, *args, **kwargs):
    """Catch-all for unknown /api/ paths."""
    return json_error("not_found", f"No API endpoint at {request.path}.", 404)


def handler404(request, exception=None):
    if is_api_request(request):
        return json_error("not_found", "Not found.", 404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def handler400(request, exception=None):
    """Django's own 400s (a Host not in ALLOWED_HOSTS, too many form fields): JSON under
    /api/. DisallowedHost is raised by request.get_host() in middleware, before any view."""
    if is_api_request(request):
        if isinstance(exception, RequestDataTooBig):
            error = too_large_error(body_limit(request.path))
            return json_error(error.code, error.message, error.status_code, error.details)
        if isinstance(exception, DisallowedHost):
            return json_error(
                "validation_error",
                "This host is not served here.",
                400,
                {"host": ["Not in ALLOWED_HOSTS."]},
            )
        return json_error("validation_error", "The request is invalid.", 400)
    from django.views.defaults import bad_request

    return bad_request(request, exception)


def handler500(request):
    """Last resort (errors in middleware): JSON for the API, Django's page elsewhere."""
    if is_api_request(request):
        exc = sys.exc_info()[1]
        if exc is not None:
            return _drf_response_to_json(unexpected_error_response(exc))
        return json_error("internal_error", "Something went wrong on our side.", 500)
    from django.views.defaults import server_error

    return server_error(request)
