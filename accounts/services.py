"""Account use cases: sessions (login/logout), users, addresses, notifications."""

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import AuthSession, User
from accounts.tokens import TOKEN_PREFIX_CHARS, token_generate, token_hash

USER_AGENT_MAX_CHARS = 256


@transaction.atomic
def auth_session_create(
    *, user: User, user_agent: str = "", ip_address: str | None = None
) -> tuple[AuthSession, str]:
    """Open a session for `user`; returns the row and the raw token, which is never stored."""
    token = token_generate()
    now = timezone.now()
    session = AuthSession.objects.create(
        user=user,
        token_hash=token_hash(token),
        token_prefix=token[:TOKEN_PREFIX_CHARS],
        created_at=now,
        last_seen_at=now,
        expires_at=now + settings.AUTH_SESSION_TTL,
        user_agent=user_agent[:USER_AGENT_MAX_CHARS],
        ip_address=ip_address,
    )
    return session, token


def auth_session_cleanup() -> dict[str, int]:
    """Delete expired sessions (they already fail authentication; this only tidies)."""
    deleted, _ = AuthSession.objects.filter(expires_at__lte=timezone.now()).delete()
    return {"expired_sessions_deleted": deleted}
