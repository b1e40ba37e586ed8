"""Who is calling: a bearer user and/or an X-Session-Id, and what rows they may see."""

import re
from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from config.errors import ValidationFailed

SESSION_ID_HEADER = "X-Session-Id"
SESSION_ID_RE = re.compile(r"^[A-Za-z0-9_-]{16,128}$")
SESSION_ID_RULE = "16-128 characters of A-Z, a-z, 0-9, _ and -"


@dataclass(frozen=True)
class Caller:
    user: Any | None  # an authenticated accounts.User, or None
    session_id: str | None

    @property
    def user_id(self):
        return self.user.pk if self.user is not None else None


def session_id_is_valid(value: object) -> bool:
    return isinstance(value, str) and SESSION_ID_RE.fullmatch(value) is not None


def caller_identity(request) -> Caller:
    """The caller of a DRF request. A malformed X-Session-Id is a 400, never ignored
    (silently ignoring it would make a typo look like "not found")."""
    user = request.user if request.user and request.user.is_authenticated else None
    raw = request.headers.get(SESSION_ID_HEADER)
    session_id = None
    if raw is not None:
        if not session_id_is_valid(raw):
            raise ValidationFailed(
                "Malformed X-Session-Id header.",
                details={SESSION_ID_HEADER: [f"Must be {SESSION_ID_RULE}."]},
            )
        session_id = raw
    return Caller(user=user, session_id=session_id)


def caller_owner_q(
    caller: Caller, *, user_field: str = "user", session_field: str = "session_id"
) -> Q:
    """The one ownership rule of quotes and quote runs, as a queryset filter: a row is
    visible to its user (by token) or to a caller whose session id equals the row's; to
    nobody else (matches nothing for an anonymous caller without a session id).

    A row without a session stores NULL there, never "", so it matches no caller's session.
    """
    condition = Q(pk__in=[])
    if caller.user_id is not None:
        condition |= Q(**{f"{user_field}_id": caller.user_id})
    if caller.session_id is not None:
        condition |= Q(**{session_field: caller.session_id})
    return condition


def caller_require_known(caller: Caller) -> Caller:
    """The caller, if it has a user or a session id: a list of "my rows" needs one of them
    (an anonymous caller without X-Session-Id owns nothing, most likely by mistake)."""
    if caller.user is None and caller.session_id is None:
        raise ValidationFailed(
            f"Anonymous callers need the {SESSION_ID_HEADER} header.",
            details={SESSION_ID_HEADER: ["Required without a bearer token."]},
        )
    return caller


def owner_session_id(caller: Caller, *, session_id: str | None) -> str | None:
    """The session a new quote or run belongs to: the body's session_id or X-Session-Id.

    Both given must agree, and an anonymous caller must give one, or nobody could ever
    read the row back. Raises ValidationFailed otherwise.
    """
    if session_id and caller.session_id and session_id != caller.session_id:
        raise ValidationFailed(
            "session_id in the body differs from the X-Session-Id header.",
            details={"session_id": ["Must equal the X-Session-Id header when both are sent."]},
        )
    owner_session = session_id or caller.session_id
    if caller.user is None and not owner_session:
        raise ValidationFailed(
            "Anonymous callers need a session id (body session_id or X-Session-Id header).",
            details={"session_id": ["Required without a bearer token."]},
        )
    return owner_session
