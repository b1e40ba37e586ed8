"""Application errors and the one handler that renders every API error as API.md says."""

import errno
import logging
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response

logger = logging.getLogger(__name__)

# What every 503 tells the client to wait before retrying (Retry-After, seconds).
RETRY_AFTER_S = 5
# OS errors that mean the disk or file system behind storage failed. Others (a name that is
# a directory or too long, an invalid argument) are bugs or bad input, never an outage:
# zoneinfo raises IsADirectoryError for the time zone "Europe".
STORAGE_OUTAGE_ERRNOS = frozenset(
    {
        errno.EIO,
        errno.ENOSPC,
        errno.EDQUOT,
        errno.EROFS,
        errno.EACCES,
        errno.EPERM,
        errno.ENOTDIR,
        errno.ESTALE,
        errno.ENXIO,
        errno.ENODEV,
        errno.EBUSY,
        errno.EMFILE,
        errno.ENFILE,
        errno.ETIMEDOUT,
        errno.ENOTCONN,
        errno.EHOSTUNREACH,
        errno.ECONNREFUSED,
    }
)


@dataclass(frozen=True)
class ErrorCode:
    """What one API.md error code means on the wire: its status, and whether the answer
    carries Retry-After (seconds)."""

    status: int
    description: str
    retry_after: bool = False


def _codes(status_code: int, retry_after: bool = False, **descriptions: str):
    return {code: ErrorCode(status_code, text, retry_after) for code, text in descriptions.items()}


# The one table of error codes: config.openapi documents each view's codes from it, and
# tests/conftest.py fails a test whose view answers a code its `error_codes` do not list.
ERROR_CODES: dict[str, ErrorCode] = {
    **_codes(
        status.HTTP_400_BAD_REQUEST,
        validation_error="The request is invalid; `details` maps each field to its messages.",
    ),
    **_codes(
        status.HTTP_401_UNAUTHORIZED,
        invalid_credentials="Email or password is wrong.",
        invalid_token="The bearer token is missing, unknown, expired or revoked.",  # noqa: S106
    ),
    **_codes(status.HTTP_403_FORBIDDEN, forbidden="Not allowed (staff only, or a bad signature)."),
    **_codes(status.HTTP_404_NOT_FOUND, not_found="Unknown, or someone else's."),
    **_codes(status.HTTP_406_NOT_ACCEPTABLE, not_acceptable="The Accept header allows no JSON."),
    **_codes(
        status.HTTP_409_CONFLICT,
        conflict="The request conflicts with the current state.",
        quote_used="The quote has already been used.",
        quote_conflict="The quote changed while using it; retry.",
        out_of_stock="Not enough stock; `details.skus` lists the short ones.",
        insufficient_stock="Stock cannot go below zero.",
        order_not_cancellable="The order has shipped and can no longer be cancelled.",
        order_cancelled="A cancelled order cannot be tracked.",
        order_not_placed="The order is not in the `placed` state.",
        image_missing="The room session has no uploaded image yet.",
        storage_key_exists="An object already exists under this key.",
        share_conflict="The share link kept being revoked while it was made; retry.",
    ),
    **_codes(
        status.HTTP_409_CONFLICT,
        retry_after=True,
        idempotency_key_in_use="A request with this Idempotency-Key is still running.",
    ),
    **_codes(status.HTTP_410_GONE, gone="No longer available.", quote_expired="The quote expired."),
    **_codes(
        status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        file_too_large="The file is over MAX_UPLOAD_BYTES; `details.max_bytes` says the limit.",
        request_too_large="The body is over MAX_JSON_BODY_BYTES; `details.max_bytes` says it.",
    ),
    **_codes(
        status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        unsupported_media_type="The file type (sniffed from its bytes) is not accepted.",
    ),
    **_codes(
        status.HTTP_422_UNPROCESSABLE_ENTITY,
        idempotency_key_reused="This Idempotency-Key was used with another request body.",
    ),
    **_codes(
        status.HTTP_429_TOO_MANY_REQUESTS,
        retry_after=True,
        rate_limited="Too many requests from this user, email or IP.",
        quota_exceeded="The shop's daily render quota is used up until `details.resets_at`.",
    ),
    **_codes(
        status.HTTP_503_SERVICE_UNAVAILABLE,
        retry_after=True,
        service_unavailable="The database or storage is unreachable; retry after Retry-After.",
    ),
}


class ApplicationError(Exception):
    """A failure a client can act on: rendered as {"error": code, "message", "details"?}."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    code = "validation_error"
    default_message = "The request is invalid."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        details: Any = None,
        status_code: int | None = None,
        headers: dict[str, str] | None = None,
    ):
        self.message = message or self.default_message
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code
        self.details = details
        self.headers = headers or {}
        super().__init__(self.message)


class ValidationFailed(ApplicationError):
    pass


class InvalidCredentials(ApplicationError):
    status_code = status.HTTP_401_UNAUTHORIZED
    code = "invalid_credentials"
    default_message = "Email or password is wrong."


class Forbidden(ApplicationError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "forbidden"
    default_message = "You are not allowed to do this."


class NotFound(ApplicationError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"
    default_message = "Not found."


class Conflict(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    code = "conflict"
    default_message = "The request conflicts with the current state."


class Gone(ApplicationError):
    status_code = status.HTTP_410_GONE
    code = "gone"
    default_message = "This is no longer available."


class PayloadTooLarge(ApplicationError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    code = "file_too_large"
    default_message = "The file is too large."


class UnsupportedMediaType(ApplicationError):
    status_code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    code = "unsupported_media_type"
    default_message = "This media type is not supported."


class TooManyRequests(ApplicationError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    code = "rate_limited"
    default_message = "Too many requests."


class ServiceUnavailable(ApplicationError):
    """Always carries Retry-After (RETRY_AFTER_S unless the raiser knows better)."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "service_unavailable"
    default_message = "A service this request needs is unavailable; try again shortly."

    def __init__(self, message: str | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.headers.setdefault("Retry-After", str(RETRY_AFTER_S))


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": code, "message": message}
    if details is not None:
        body["details"] = details
    return body


def _drf_error(exc: exceptions.APIException) -> tuple[str, str, Any]:
    """Map DRF's exceptions to API.md codes: (code, message, details)."""
    if isinstance(exc, exceptions.ValidationError):
        return "validation_error", "The request is invalid.", exc.detail
    if isinstance(exc, exceptions.ParseError):
        return "validation_error", f"Malformed request body: {exc.detail}", None
    if isinstance(exc, exceptions.AuthenticationFailed | exceptions.NotAuthenticated):
        return "invalid_token", str(exc.detail), None
    if isinstance(exc, exceptions.PermissionDenied):
        return "forbidden", str(exc.detail), None
    if isinstance(exc, exceptions.NotFound):
        return "not_found", "Not found.", None
    if isinstance(exc, exceptions.MethodNotAllowed):
        return "method_not_allowed", str(exc.detail), None
    if isinstance(exc, exceptions.NotAcceptable):
        return "not_acceptable", str(exc.detail), None
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return "unsupported_media_type", str(exc.detail), None
    if isinstance(exc, exceptions.Throttled):
        # The stubs leave out Throttled.wait (seconds, or None when unknown).
        return "rate_limited", "Too many requests.", {"retry_after": exc.wait}  # type: ignore[attr-defined]
    return str(exc.default_code), str(exc.detail), None


def _json_only(view) -> bool:
    parsers = getattr(view, "parser_classes", None) or ()
    return bool(parsers) and all(parser.media_type == "application/json" for parser in parsers)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's EXCEPTION_HANDLER: every failure becomes the error shape, never a traceback."""
    headers: dict[str, str] = {}
    if isinstance(exc, ApplicationError):
        return Response(
            error_body(exc.code, exc.message, exc.details),
            status=exc.status_code,
            headers=exc.headers or None,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        # Imported here: config.body_limits builds its 413 from this module's errors.
        from config.body_limits import body_limit, too_large_error

        request = context.get("request")
        exc = too_large_error(body_limit(request.path if request is not None else ""))
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.status_code)
    if isinstance(exc, exceptions.UnsupportedMediaType) and _json_only(context.get("view")):
        # A JSON endpoint sent form data, plain text or no content type: that is a
        # malformed request body like any other, not an upload of the wrong file type.
        return Response(
            error_body(
                "validation_error",
                "The request body must be JSON (Content-Type: application/json).",
                {"content_type": [str(exc.detail)]},
            ),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, exceptions.APIException):
        code, message, details = _drf_error(exc)
        auth_header = getattr(exc, "auth_header", None)
        if auth_header:
            headers["WWW-Authenticate"] = auth_header
        wait = getattr(exc, "wait", None)
        if wait is not None:
            headers["Retry-After"] = str(int(wait))
        return Response(
            error_body(code, message, details), status=exc.status_code, headers=headers or None
        )
    return unexpected_error_response(exc)


def unexpected_error_response(exc: BaseException) -> Response:
    """A database or storage outage is a 503; anything else is a logged 500, both as JSON."""
    if is_database_unavailable(exc):
        logger.warning("database unavailable: %s", exc)
        return Response(
            error_body("service_unavailable", "The database is unreachable; try again shortly."),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
    if is_storage_unavailable(exc):
        logger.warning("storage unavailable: %r", exc)
        return Response(
            error_body("service_unavailable", "File storage is unreachable; try again shortly."),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
    logger.exception("unhandled error", exc_info=exc)
    return Response(
        error_body("internal_error", "Something went wrong on our side."),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


def is_storage_unavailable(exc: BaseException) -> bool:
    """Failures of the storage backend itself: a disk error, GCS or its network failing."""
    if isinstance(exc, OSError) and exc.errno in STORAGE_OUTAGE_ERRNOS:
        return True
    try:
        from google.api_core.exceptions import GoogleAPIError
        from requests.exceptions import ConnectionError as RequestsConnectionError
    except ImportError:  # pragma: no cover - both ship with the gcs dependencies
        return False
    return isinstance(exc, GoogleAPIError | RequestsConnectionError)


def is_database_unavailable(exc: BaseException) -> bool:
    """True for connection-level failures (refused, dropped, pool exhausted), not bad SQL."""
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    try:
        from psycopg_pool import PoolTimeout
    except ImportError:  # pragma: no cover - psycopg_pool ships with the postgres extra
        return False
    return isinstance(exc, PoolTimeout) or (
        isinstance(exc, DatabaseError) and isinstance(exc.__cause__, PoolTimeout)
    )
