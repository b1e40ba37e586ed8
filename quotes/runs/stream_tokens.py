"""Capability tokens of quote-run streams: a signed grant to read one run's events.

A browser's EventSource cannot send headers, so `stream_url` carries the grant itself
(DESIGN.md §10). The token names the run and the end of its retention, signed with Django's
signing (SECRET_KEY; SECRET_KEY_FALLBACKS keep tokens valid through a key rotation), so it
can be neither forged, moved to another run, nor stretched past the run's life.
"""

import time
from datetime import datetime
from urllib.parse import urlencode

from django.core import signing
from django.urls import reverse

STREAM_TOKEN_PARAM = "token"  # noqa: S105 - a query parameter name
# Namespaces these signatures: no other signed value of the app can pass for a token.
STREAM_TOKEN_SALT = "atelier.quote-runs.stream"  # noqa: S105 - a salt, not a secret
# A real token is ~110 characters; longer input is refused before any HMAC is computed.
STREAM_TOKEN_MAX_CHARS = 512


def stream_token_issue(*, run_id, expires_at: datetime) -> str:
    """A token granting the stream of run `run_id` until `expires_at`."""
    payload = {"run": str(run_id), "exp": int(expires_at.timestamp())}
    return signing.dumps(payload, salt=STREAM_TOKEN_SALT)


def stream_token_grants(*, token: str, run_id) -> bool:
    """True only for an untampered token issued for this very run and not yet expired."""
    if len(token) > STREAM_TOKEN_MAX_CHARS:
        return False
    try:
        payload = signing.loads(token, salt=STREAM_TOKEN_SALT)
    except signing.BadSignature:
        return False
    if not isinstance(payload, dict) or not isinstance(payload.get("exp"), int):
        return False
    return payload.get("run") == str(run_id) and time.time() < payload["exp"]


def quote_run_stream_url(*, run) -> str:
    """The absolute-path capability URL of the run's stream: enough, alone, to read it."""
    path = reverse("quote-run-stream", kwargs={"run_id": run.id})
    token = stream_token_issue(run_id=run.id, expires_at=run.expires_at)
    return f"{path}?{urlencode({STREAM_TOKEN_PARAM: token})}"
