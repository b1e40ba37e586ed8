"""Query-parameter filters of the list endpoints (django-filter), strict: a bad value, an
unknown parameter or a repeated one is a 400 validation_error naming it, never ignored."""

from collections.abc import Mapping
from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter

from config.errors import ValidationFailed
from config.pagination import CursorPagination
from config.parsers import printable, text_problem

# Query parameters of the pagination, not filters: every list accepts them.
PAGINATION_PARAMS = frozenset(
    {CursorPagination.cursor_query_param, CursorPagination.page_size_query_param}
)
UNKNOWN_PARAMETER = "Unknown query parameter."
EMPTY_VALUE = "Must not be empty: leave the parameter out not to filter by it."
REPEATED_PARAMETER = "Give this parameter at most once."


class StrictFilterSet(django_filters.FilterSet):
    """A FilterSet whose every filter is optional; `filterset_apply` is how it is used."""


def query_filters(request) -> dict[str, str]:
    """The request's filter parameters (pagination ones left out), each given at most once.

    A repeated parameter (`?status=a&status=b`) is a 400: taking either value silently
    would answer a question the client did not ask.
    """
    params = request.query_params
    repeated = [name for name in params if len(params.getlist(name)) > 1]
    if repeated:
        raise ValidationFailed(
            "A query parameter was given more than once.",
            details={name: [REPEATED_PARAMETER] for name in repeated},
        )
    return {name: params[name] for name in params if name not in PAGINATION_PARAMS}


def filterset_apply(
    filterset_class: type[StrictFilterSet], *, filters: Mapping[str, Any], queryset: QuerySet
) -> QuerySet:
    """`queryset` narrowed by `filters`; ValidationFailed (400) naming every unknown
    parameter or bad value (details: {parameter: [messages]})."""
    errors: dict[str, list[str]] = {
        printable(name): [UNKNOWN_PARAMETER]
        for name in filters
        if name not in filterset_class.base_filters
    }
    for name, value in filters.items():
        problem = text_problem(value) if isinstance(value, str) else None
        # django-filter reads "" as "no filter": `?status=` would silently list everything.
        if value in ("", None):
            problem = EMPTY_VALUE
        if problem and printable(name) not in errors:
            errors[printable(name)] = [problem]
    if errors:
        raise ValidationFailed("Invalid query parameters.", details=errors)
    filterset = filterset_class(data=filters, queryset=queryset)
    if not filterset.is_valid():
        raise ValidationFailed(
            "Invalid query parameters.",
            details={name: list(messages) for name, messages in filterset.errors.items()},
        )
    return filterset.qs


def filter_parameters(filterset_class: type[StrictFilterSet]) -> list[OpenApiParameter]:
    """The OpenAPI query parameters of a FilterSet (the views are APIViews, which
    drf-spectacular's django-filter support does not read)."""
    parameters = []
    for name, filter_ in filterset_class.base_filters.items():
        choices = filter_.extra.get("choices")
        parameters.append(
            OpenApiParameter(
                name,
                str,
                OpenApiParameter.QUERY,
                required=False,
                enum=[value for value, _ in choices] if choices and not callable(choices) else None,
                description=filter_.label or "",
            )
        )
    return parameters
