"""DRF authentication for `Authorization: Bearer <token>` against AuthSession rows."""

from django.conf import settings
from django.utils import timezone
from rest_framework import authentication, exceptions

from accounts.models import AuthSession
from accounts.tokens import token_hash

MAX_TOKEN_CHARS = 200


class BearerAuthentication(authentication.BaseAuthentication):
    """One indexed query by token hash, expiry and user activity checked in it.

    No header: anonymous (views that need a user answer 401). A header with a missing,
    unknown, expired or revoked token: 401 invalid_token, never silently anonymous.
    """

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != self.keyword.lower() or not token or len(token) > MAX_TOKEN_CHARS:
            raise exceptions.AuthenticationFailed("Invalid or missing bearer token.")
        session = (
            AuthSession.objects.live()
            .select_related("user")
            .filter(token_hash=token_hash(token))
            .first()
        )
        if session is None:
            raise exceptions.AuthenticationFailed("The token is unknown, expired or revoked.")
        self._touch(session)
        return session.user, session

    def authenticate_header(self, request):
        return self.keyword

    @staticmethod
    def _touch(session: AuthSession) -> None:
        """Write last_seen_at at most once per interval, and only if no one else just did."""
        now = timezone.now()
        stale_before = now - settings.AUTH_SESSION_TOUCH_INTERVAL
        if session.last_seen_at < stale_before:
            AuthSession.objects.filter(pk=session.pk, last_seen_at__lt=stale_before).update(
                last_seen_at=now
            )
            session.last_seen_at = now
