"""OpenAPI of the two plain Django views DRF's generator cannot see: the SSE stream of a
quote run and the local signed-URL target (POSTPROCESSING_HOOKS)."""

from typing import Any

from config.openapi import BEARER_SCHEME, SESSION_ID_SCHEME, error_responses

BINARY = {"type": "string", "format": "binary"}


def _error_response(codes: set[str]) -> dict[str, dict]:
    return error_responses(codes, {"$ref": "#/components/schemas/Error"})


SSE_DESCRIPTION = """\
A `text/event-stream` (Server-Sent Events) of the run's events, replayed from the start
(or after `Last-Event-ID`) and then followed live, on any instance.

- The stream opens with `retry: <ms>` (SSE_RETRY_MS, default 1000): how long an EventSource
  waits before reconnecting.
- Then one block per event: `id: <seq>\\nevent: <type>\\ndata: <json>\\n\\n`, seq = 1, 2, 3 …
- Event types: `run.started`, `provider.started`, `provider.progress`, `provider.quote`,
  `provider.failed`, `run.completed`, `run.failed`. The stream ends after the terminal
  event (`run.completed` or `run.failed`).
- A comment line `: keepalive` at least every SSE_KEEPALIVE_S (15 s).
- Reconnect with `Last-Event-ID: N` (header, or `?last_event_id=N`): the stream starts at
  event N+1, with no gap and no duplicate. A reconnect at or after the terminal event
  answers 204, which ends a browser EventSource for good.
- `stream_url` carries `?token=`, a capability bound to the run, so a plain
  `new EventSource(stream_url)` needs no header; without it the bearer token or
  `X-Session-Id` identify the caller as for the other quote-run calls.
"""


def _sse_event_schema() -> dict[str, Any]:
    from quotes.runs.models import QuoteRunEventType

    return {
        "type": "object",
        "description": "One event of the stream, as an SSE parser delivers it.",
        "properties": {
            "id": {"type": "string", "pattern": "^[0-9]+$", "description": "The event's seq."},
            "event": {"type": "string", "enum": list(QuoteRunEventType.values)},
            "data": {"type": "string", "description": "The event's data: a JSON object, as text."},
            "retry": {"type": "integer", "minimum": 0},
        },
    }


STORAGE_DESCRIPTION = """\
The local-storage stand-in for cloud signed URLs (`url` of uploads and renders,
`upload.url` of room sessions): `?token=` is a signature bound to the key, the method and an
expiry (≤ 1 h), and is the only authorization. GET streams the object (typed by its key's
extension, sandboxed by `Content-Security-Policy`); PUT writes the body once, with the
Content-Type it was signed for (400 `validation_error` otherwise, as for an empty body)
and never overwrites
(`storage_key_exists`). A bad or expired signature is 403 `forbidden`.
"""


def _path_param(name: str, description: str, fmt: str | None = None) -> dict:
    schema: dict[str, Any] = {"type": "string"}
    if fmt:
        schema["format"] = fmt
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": schema,
        "description": description,
    }


def _query_param(name: str, description: str, schema: dict, required: bool = False) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "schema": schema,
        "description": description,
    }


def _stream_operation() -> dict:
    return {
        "operationId": "quote_runs_stream_retrieve",
        "summary": "Stream the run's events (Server-Sent Events)",
        "description": SSE_DESCRIPTION,
        "tags": ["quote-runs"],
        "parameters": [
            _path_param("run_id", "The run.", "uuid"),
            _query_param(
                "token", "The capability in `stream_url` (instead of headers).", {"type": "string"}
            ),
            _query_param(
                "last_event_id",
                "Resume after this event (when the header cannot be sent).",
                {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
            ),
            {
                "name": "Last-Event-ID",
                "in": "header",
                "required": False,
                "schema": {"type": "string"},
                "description": "Resume after this event (a non-negative integer).",
            },
            {
                "name": "X-Session-Id",
                "in": "header",
                "required": False,
                "schema": {"type": "string"},
                "description": "Anonymous caller identity (when no token is given).",
            },
        ],
        "security": [{BEARER_SCHEME: []}, {SESSION_ID_SCHEME: []}, {}],
        "responses": {
            "200": {
                "description": "The event stream.",
                "content": {
                    "text/event-stream": {
                        # Before OpenAPI 3.2 (`itemSchema`), the schema of a text/event-stream
                        # describes each event, as SSE parsers deliver them.
                        "schema": _sse_event_schema(),
                        "example": (
                            "retry: 1000\n\n"
                            'id: 1\nevent: run.started\ndata: {"providers":["acme"]}\n\n'
                            'id: 2\nevent: provider.quote\ndata: {"provider":"acme",'
                            '"credits_total":12,"eta_seconds":30}\n\n'
                        ),
                    }
                },
            },
            "204": {"description": "`Last-Event-ID` is already the terminal event: nothing more."},
            **_error_response(
                {"validation_error", "invalid_token", "not_found", "service_unavailable"}
            ),
        },
    }


def _storage_operations() -> dict:
    key = _path_param("key", "The object's storage key (may contain `/`).")
    token = _query_param(
        "token", "The signature of this URL (key, method, expiry).", {"type": "string"}, True
    )
    return {
        "get": {
            "operationId": "storage_retrieve",
            "summary": "Read an object through a signed URL (local storage)",
            "description": STORAGE_DESCRIPTION,
            "tags": ["uploads"],
            "parameters": [key, token],
            "security": [{}],
            "responses": {
                "200": {
                    "description": "The object's bytes.",
                    "content": {"*/*": {"schema": BINARY}},
                },
                **_error_response(
                    {"validation_error", "forbidden", "not_found", "service_unavailable"}
                ),
            },
        },
        "put": {
            "operationId": "storage_update",
            "summary": "Write an object once through a signed URL (local storage)",
            "description": STORAGE_DESCRIPTION,
            "tags": ["uploads"],
            "parameters": [key, token],
            "security": [{}],
            "requestBody": {
                "required": True,
                "content": {"application/octet-stream": {"schema": BINARY}},
            },
            "responses": {
                "200": {"description": "Stored."},
                **_error_response(
                    {
                        "validation_error",
                        "forbidden",
                        "file_too_large",
                        "storage_key_exists",
                        "service_unavailable",
                    }
                ),
            },
        },
    }


def document_plain_views(result, generator, request, public):
    """POSTPROCESSING_HOOKS: the two plain Django views DRF's generator cannot see, the SSE
    stream and the local signed-URL target."""
    paths = result.setdefault("paths", {})
    paths["/api/quote-runs/{run_id}/stream"] = {"get": _stream_operation()}
    paths["/api/storage/{key}"] = _storage_operations()
    return result
