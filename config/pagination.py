"""List pagination with the API.md shape: {"results": [...], "next": <url or null>}."""

from rest_framework import pagination
from rest_framework.response import Response


class CursorPagination(pagination.CursorPagination):
    """Newest first; the cursor stays correct while rows are added (no offset drift)."""

    ordering = "-created_at"
    page_size_query_param = "limit"
    max_page_size = 200

    def get_paginated_response(self, data):
        return Response({"results": data, "next": self.get_next_link()})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results", "next"],
            "properties": {
                "results": schema,
                "next": {"type": "string", "nullable": True, "format": "uri"},
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
