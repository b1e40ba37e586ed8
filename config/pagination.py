"""List pagination with the API.md shape: {"results": [...], "next": <url or null>}."""

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connections
from rest_framework import exceptions, pagination
from rest_framework.response import Response

from config.errors import ValidationFailed
from config.parsers import text_problem

INVALID_CURSOR = "Invalid cursor: use the `next` URL of a previous page."
LIMIT_MAX_DIGITS = 6
INVALID_LIMIT = "Must be a whole number from 1 up (larger ones are capped at the maximum)."


def _invalid_cursor() -> ValidationFailed:
    return ValidationFailed(INVALID_CURSOR, details={"cursor": [INVALID_CURSOR]})


class CursorPagination(pagination.CursorPagination):
    """Newest first; the cursor stays correct while rows are added (no offset drift).

    A cursor is client input like any other: one that does not decode, or whose position
    is no value of the ordering column (a forged `p=2026` for a timestamp), is a 400
    validation_error with details.cursor, never a query that fails in the database.
    """

    ordering = "-created_at"
    page_size_query_param = "limit"
    max_page_size = 200

    def get_page_size(self, request):
        """`?limit=N`: 1 ≤ N, capped at max_page_size; anything else is a 400 (DRF would
        silently fall back to the default size)."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        digits = raw.lstrip("0") if raw.isascii() and raw.isdigit() else ""
        if not digits:
            raise ValidationFailed(
                INVALID_LIMIT, details={self.page_size_query_param: [INVALID_LIMIT]}
            )
        # A 5000-digit number is "very large", not an error (nor an int() too long to parse).
        if len(digits) > LIMIT_MAX_DIGITS:
            return self.max_page_size
        return min(int(digits), self.max_page_size)

    def paginate_queryset(self, queryset, request, view=None):
        self._model, self._db = queryset.model, queryset.db
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request):
        try:
            cursor = super().decode_cursor(request)
        except exceptions.NotFound:
            raise _invalid_cursor() from None
        if cursor is not None and cursor.position is not None:
            self._check_position(str(cursor.position))
        return cursor

    def _check_position(self, position: str) -> None:
        """The position must be a value of the first ordering column, as the database
        will compare it (so a bad one fails here, not in the query)."""
        if text_problem(position):
            raise _invalid_cursor()
        try:
            field = self._model._meta.get_field(self.ordering[0].lstrip("-"))
        except FieldDoesNotExist:
            return
        try:
            field.get_db_prep_value(field.to_python(position), connections[self._db])
        except (DjangoValidationError, ValueError, TypeError, OverflowError):
            raise _invalid_cursor() from None

    def get_paginated_response(self, data):
        return Response({"results": data, "next": self.get_next_link()})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results", "next"],
            "properties": {
                "results": schema,
                "next": {
                    "type": "string",
                    "nullable": True,
                    "format": "uri",
                    "example": "https://api.example.com/api/orders?cursor=cD0yMDI2LTAxLTAx",
                },
            },
        }


def paginated_response(*, request, view, queryset, serializer_class, context=None) -> Response:
    """One {results, next} page of `queryset`, serialized with `serializer_class`.

    Paginates with the view's `pagination_class`: declaring it on the view is also what
    tells the OpenAPI schema that the list comes wrapped in {results, next}.
    """
    paginator = view.pagination_class()
    page = paginator.paginate_queryset(queryset, request, view=view)
    data = serializer_class(page, many=True, context=context or {}).data
    return paginator.get_paginated_response(data)
