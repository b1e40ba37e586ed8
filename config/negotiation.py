"""DRF content negotiation with the everyday case decided without parsing Accept."""

from rest_framework.negotiation import DefaultContentNegotiation

# Accept values that need no parsing: what clients send when they want JSON or anything.
_PLAIN_ACCEPTS = frozenset({"", "*/*", "application/json"})


class FastContentNegotiation(DefaultContentNegotiation):
    """No Accept header (or `*/*`, or `application/json`) and no `?format=`: the first
    renderer, as DRF's negotiation would pick it; everything else goes through DRF's own
    negotiation, so every answer stays what it was."""

    def select_renderer(self, request, renderers, format_suffix=None):
        accept = request.META.get("HTTP_ACCEPT", "")
        if (
            format_suffix is None
            and accept in _PLAIN_ACCEPTS
            and renderers[0].media_type == "application/json"
            and self.settings.URL_FORMAT_OVERRIDE not in request.query_params
        ):
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)
