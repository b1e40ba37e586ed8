"""Idempotency-Key on state-changing POSTs: a retried request changes things once, and its
answer is replayed (API.md "Idempotency-Key", DESIGN.md §8).

Decorate a view's `post` with `@idempotent`. Without the header the handler runs as before.
With it, on any instance:

1. Claim, in a statement of its own: `INSERT ... ON CONFLICT DO NOTHING` a `running` record
   (caller scope, method, path, key, body fingerprint) under a lease of IDEMPOTENCY_LOCK_S.
   Losers read the record: another body → 422 idempotency_key_reused; an answer → replay
   with `Idempotent-Replayed: true`; running → 409 idempotency_key_in_use + Retry-After; a
   lease that expired without an answer (its process died) → taken over by one guarded
   UPDATE, so exactly one request runs.
2. Run the handler in one transaction and write the answer into the record, guarded by the
   lease, in that same transaction: the change and its record commit together or not at
   all. A handler that raises rolls back; its 4xx answer is stored after the rollback.
3. After the commit (and its on-commit hooks, such as publishing a task) the record becomes
   `completed`. A 5xx, a 429 (a transient refusal) or a failing hook deletes the record
   instead, so the client may retry.

Authentication, permissions and the rate limiter run before the handler (DRF `initial()`),
outside the transaction, as without a key.
"""

import functools
import hashlib
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import connection
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from rest_framework import status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from accounts.throttling import client_ip
from config.cleanup import change_in_batches
from config.errors import ApplicationError, Conflict, ValidationFailed
from config.models import IdempotencyKey, IdempotencyKeyState
from config.openapi import IDEMPOTENT_HANDLER_ATTR
from config.transactions import atomic_with_undo

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
SESSION_ID_HEADER = "X-Session-Id"
KEY_MAX_CHARS = 255
# Claim attempts when the record vanishes between the insert and the read (a 5xx released it).
CLAIM_ATTEMPTS = 5
# Retry-After of a 409 in flight: most requests finish well within a second; the lease
# (IDEMPOTENCY_LOCK_S) only bounds how long a crashed holder keeps the key.
IN_FLIGHT_RETRY_AFTER_S = 1
CLEANUP_BATCH_SIZE = 5000
FILE_HASH_CHUNK_BYTES = 1024 * 1024
_FINGERPRINT_SALT = "atelier.idempotency.fingerprint"
_SCOPE_MAX_CHARS = IdempotencyKey._meta.get_field("scope").max_length or 200
_PATH_MAX_CHARS = IdempotencyKey._meta.get_field("path").max_length or 500
_KEY_RULE = "1 to 255 printable ASCII characters"


class IdempotencyKeyInUse(Conflict):
    code = "idempotency_key_in_use"
    default_message = (
        "A request with this Idempotency-Key is still being processed; retry after a moment."
    )


class IdempotencyKeyReused(ApplicationError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    code = "idempotency_key_reused"
    default_message = "This Idempotency-Key was used with a different request body."


class _LeaseLost(Exception):
    """Our lease expired and another request took the key over: roll our change back."""


@dataclass(frozen=True)
class _Claim:
    record_id: int
    lease: uuid.UUID


# --- what identifies a request ----------------------------------------------------------------


def idempotency_key_parse(raw: str) -> str:
    """The header's value as the key: 1 to 255 printable ASCII characters, else 400."""
    if 1 <= len(raw) <= KEY_MAX_CHARS and all(" " <= char <= "~" for char in raw):
        return raw
    raise ValidationFailed(
        f"The {HEADER} header must be {_KEY_RULE}.", details={HEADER: [f"Use {_KEY_RULE}."]}
    )


def _bounded(value: str, max_chars: int) -> str:
    """Long or unprintable values are hashed, so every identity fits its column."""
    if len(value) <= max_chars and value.isprintable():
        return value
    return "sha256:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def caller_scope(request) -> str:
    """Whose key it is: the user, else the anonymous X-Session-Id, else the client IP (as
    the rate limiter computes it). Two callers never see each other's answers."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    session_id = request.headers.get(SESSION_ID_HEADER)
    if session_id:
        return _bounded(f"session:{session_id}", _SCOPE_MAX_CHARS)
    return _bounded(f"ip:{client_ip(request)}", _SCOPE_MAX_CHARS)


def _file_sha256(upload: UploadedFile) -> str:
    digest = hashlib.sha256()
    for chunk in upload.chunks(FILE_HASH_CHUNK_BYTES):
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def _canonical(data: Any) -> Any:
    """request.data as plain JSON values. Form and multipart bodies become {field: [values]},
    each file {name, size, sha256} of its bytes: a retried upload has a new boundary."""
    if not hasattr(data, "lists"):
        return data
    return {
        field: [
            {"file": value.name, "size": value.size, "sha256": _file_sha256(value)}
            if isinstance(value, UploadedFile)
            else value
            for value in values
        ]
        for field, values in data.lists()
    }


@dataclass(frozen=True)
class Fingerprint:
    """What must be equal for a retry: the parsed body and the query string. Stored as an
    HMAC keyed by SECRET_KEY, since bodies hold passwords (register) and a plain hash of a
    short secret is quickly guessed."""

    text: str

    @classmethod
    def of(cls, request) -> "Fingerprint":
        document = {
            "query": sorted(request.query_params.lists()),
            "data": _canonical(request.data),
        }
        return cls(json.dumps(document, sort_keys=True, separators=(",", ":"), default=str))

    def digest(self, secret: str | bytes | None = None) -> str:
        return salted_hmac(
            _FINGERPRINT_SALT, self.text, secret=secret, algorithm="sha256"
        ).hexdigest()

    def matches(self, stored: str) -> bool:
        """Also under the previous SECRET_KEY_FALLBACKS, so rotating the key breaks no retry."""
        secrets = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
        return any(constant_time_compare(stored, self.digest(secret)) for secret in secrets)


# --- the record -----------------------------------------------------------------------------


def _lock_duration() -> timedelta:
    return timedelta(seconds=settings.IDEMPOTENCY_LOCK_S)


def _insert_running(
    *, ident: dict[str, str], fingerprint: str, lease: uuid.UUID, now: datetime
) -> int | None:
    """The claim: one INSERT ... ON CONFLICT DO NOTHING RETURNING id (PostgreSQL, SQLite).
    The id when this call created the record, None when it existed."""
    values = {
        **ident,
        "fingerprint": fingerprint,
        "state": IdempotencyKeyState.RUNNING.value,
        "lease": lease,
        "locked_until": now + _lock_duration(),
        "response_body": "",
        "created_at": now,
    }
    opts = IdempotencyKey._meta
    fields = {field.name: field for field in opts.concrete_fields}
    quote = connection.ops.quote_name
    params = [fields[name].get_db_prep_save(value, connection) for name, value in values.items()]
    # The model sets no db_column: column names are the field names.
    columns = ", ".join(quote(name) for name in values)
    unique = ", ".join(quote(name) for name in ident)
    sql = (
        f"INSERT INTO {quote(opts.db_table)} ({columns}) "  # noqa: S608 - model names only
        f"VALUES ({', '.join(['%s'] * len(values))}) "
        f"ON CONFLICT ({unique}) DO NOTHING RETURNING {quote('id')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


def _replay(record: IdempotencyKey) -> Response:
    body = record.response_body
    return Response(
        json.loads(body) if body else None,
        status=record.response_status,
        headers={REPLAYED_HEADER: "true"},
    )


def _claim(*, ident: dict[str, str], fingerprint: Fingerprint) -> _Claim | Response:
    """Take the key, or answer for it: a replay, or raise 409 in flight / 422 reused."""
    for _ in range(CLAIM_ATTEMPTS):
        now = timezone.now()
        lease = uuid.uuid4()
        record_id = _insert_running(
            ident=ident, fingerprint=fingerprint.digest(), lease=lease, now=now
        )
        if record_id is not None:
            return _Claim(record_id=record_id, lease=lease)
        record = IdempotencyKey.objects.filter(**ident).first()
        if record is None:
            continue  # released (a 5xx) or cleaned up since the insert: claim again
        if not fingerprint.matches(record.fingerprint):
            raise IdempotencyKeyReused()
        if record.response_status is not None and (
            record.state == IdempotencyKeyState.COMPLETED or record.locked_until <= now
        ):
            # Completed, or its process died after the commit: the change is there.
            return _replay(record)
        if record.locked_until > now:
            raise IdempotencyKeyInUse(headers={"Retry-After": str(IN_FLIGHT_RETRY_AFTER_S)})
        taken = IdempotencyKey.objects.filter(
            pk=record.pk,
            lease=record.lease,
            state=IdempotencyKeyState.RUNNING,
            response_status__isnull=True,
            locked_until__lte=now,
        ).update(lease=lease, locked_until=now + _lock_duration())
        if taken:
            logger.warning("idempotency key %s: lease expired, taken over", record.pk)
            return _Claim(record_id=record.pk, lease=lease)
    raise IdempotencyKeyInUse(headers={"Retry-After": str(IN_FLIGHT_RETRY_AFTER_S)})


def _stored_answer(response) -> tuple[int, str] | None:
    """(status, exact JSON text) of an answer to keep, None for one the client may retry:
    5xx, 429, our own 409, or anything that is not a DRF Response."""
    code = response.status_code
    if code >= status.HTTP_500_INTERNAL_SERVER_ERROR or code == status.HTTP_429_TOO_MANY_REQUESTS:
        return None
    if not isinstance(response, Response):
        return None
    data = response.data
    if isinstance(data, dict) and data.get("error") == IdempotencyKeyInUse.code:
        return None
    body = "" if data is None else JSONRenderer().render(data).decode()
    return code, body


def _save_answer(claim: _Claim, answer: tuple[int, str], *, completed: bool) -> bool:
    fields: dict[str, Any] = {"response_status": answer[0], "response_body": answer[1]}
    if completed:
        fields["state"] = IdempotencyKeyState.COMPLETED
    records = IdempotencyKey.objects.filter(pk=claim.record_id, lease=claim.lease)
    return records.update(**fields) == 1


def _complete(claim: _Claim) -> None:
    IdempotencyKey.objects.filter(pk=claim.record_id, lease=claim.lease).update(
        state=IdempotencyKeyState.COMPLETED
    )


def _release(claim: _Claim) -> None:
    IdempotencyKey.objects.filter(pk=claim.record_id, lease=claim.lease).delete()


def _run_once(view, request, handler: Callable, args, kwargs, claim: _Claim):
    answered = False
    answer: tuple[int, str] | None = None
    try:
        with atomic_with_undo():
            response = handler(view, request, *args, **kwargs)
            answer = _stored_answer(response)
            if answer is not None and not _save_answer(claim, answer, completed=False):
                raise _LeaseLost()
            answered = True
    except _LeaseLost:
        logger.warning("idempotency key %s: lease lost while running, rolled back", claim.record_id)
        raise IdempotencyKeyInUse(headers={"Retry-After": str(IN_FLIGHT_RETRY_AFTER_S)}) from None
    except Exception as exc:
        if answered:
            # The commit failed, or an on-commit hook did (a task the broker refused, its
            # work compensated): the answer is a 5xx, so the key must not replay the 2xx.
            _release(claim)
            raise
        try:
            response = view.handle_exception(exc)
        except BaseException:
            _release(claim)
            raise
        answer = _stored_answer(response)
        if answer is None:
            _release(claim)
        else:
            # Rolled back: nothing changed, and retrying would answer the same.
            _save_answer(claim, answer, completed=True)
        return response
    if answer is None:
        _release(claim)
    else:
        _complete(claim)
    return response


# --- the decorator ----------------------------------------------------------------------------


def idempotent(handler: Callable | None = None, *, store: bool = True):
    """Decorate an APIView's `post` (not dispatch: authentication and the rate limiter stay
    outside the transaction). `store=False` is for answers that are secrets (a login token):
    the key is validated, never stored, and every call runs."""

    def decorate(handler: Callable) -> Callable:
        @functools.wraps(handler)
        def wrapper(view, request, *args, **kwargs):
            raw = request.headers.get(HEADER)
            if raw is None:
                return handler(view, request, *args, **kwargs)
            key = idempotency_key_parse(raw)
            if not store:
                return handler(view, request, *args, **kwargs)
            ident = {
                "scope": caller_scope(request),
                "method": request.method,
                "path": _bounded(request.path, _PATH_MAX_CHARS),
                "key": key,
            }
            claimed = _claim(ident=ident, fingerprint=Fingerprint.of(request))
            if isinstance(claimed, Response):
                return claimed
            return _run_once(view, request, handler, args, kwargs, claimed)

        setattr(wrapper, IDEMPOTENT_HANDLER_ATTR, store)  # the schema documents the header
        return wrapper

    return decorate(handler) if handler is not None else decorate


def idempotency_key_cleanup() -> dict[str, int]:
    """Delete keys older than IDEMPOTENCY_KEY_TTL_S (keyset batches on the created_at
    index; a key a request holds is left for next time); a retry after that runs as a new
    request."""
    cutoff = timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL_S)
    old = IdempotencyKey.objects.filter(created_at__lt=cutoff)
    deleted, _batches = change_in_batches(old, key="created_at", batch_size=CLEANUP_BATCH_SIZE)
    return {"idempotency_keys_deleted": deleted}
