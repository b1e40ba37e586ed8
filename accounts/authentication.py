"""DRF authentication for `Authorization: Bearer <token>` against AuthSession rows."""

from django.conf import settings
from django.db import connection
from django.utils import timezone
from rest_framework import authentication, exceptions

from accounts.models import AuthSession, User
from accounts.ratelimit import (
    ASYNC_COMMIT_CTE,
    RateLimitResult,
    async_commit_applies,
    rate_limit_result,
    upsert_sql,
    window_params,
)
from accounts.throttling import UserRateThrottle, counted_in_authentication
from accounts.tokens import token_hash

MAX_TOKEN_CHARS = 200


class BearerAuthentication(authentication.BaseAuthentication):
    """One indexed query by token hash, expiry and user activity checked in it.

    No header: anonymous (views that need a user answer 401). A header with a missing,
    unknown, expired or revoked token: 401 invalid_token, never silently anonymous.

    On PostgreSQL, when the view applies the default per-user rate (UserRateThrottle), the
    same statement also counts that hit (accounts.ratelimit's upsert as a CTE): one round
    trip instead of two. The throttle then reuses that verdict instead of counting again.
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
        digest = token_hash(token)
        throttle = _user_throttle_of_view(request)
        if throttle is not None and connection.vendor == "postgresql":
            session = _live_session_counting_hit(request, digest=digest, throttle=throttle)
        else:
            session = (
                AuthSession.objects.live().select_related("user").filter(token_hash=digest).first()
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


def _user_throttle_of_view(request) -> UserRateThrottle | None:
    """The view's default per-user throttle, if it has one (DRF puts the view in the
    request's parser context)."""
    view = (getattr(request, "parser_context", None) or {}).get("view")
    if view is None:
        return None
    return next((t for t in view.get_throttles() if isinstance(t, UserRateThrottle)), None)


def _columns(model, alias: str, prefix: str) -> tuple[list[str], list]:
    fields = list(model._meta.concrete_fields)
    select = [f'{alias}."{field.column}" AS {prefix}{index}' for index, field in enumerate(fields)]
    return select, fields


def _instance(model, fields: list, values):
    """A model instance from raw column values, through each field's database converters
    (what the ORM applies when it loads a row)."""
    converted = []
    for field, value in zip(fields, values, strict=True):
        for converter in field.get_db_converters(connection):
            value = converter(value, field, connection)
        converted.append(value)
    return model.from_db(connection.alias, [f.attname for f in fields], converted)


def _live_session_counting_hit(request, *, digest: str, throttle: UserRateThrottle):
    """The live session of `digest` with its user, and the view's per-user rate-limit hit
    counted in the same statement; None (and nothing counted) for an unknown token."""
    session_select, session_fields = _columns(AuthSession, "s", "s")
    user_select, user_fields = _columns(User, "u", "u")
    user_id = f"s{[f.attname for f in session_fields].index('user_id')}"
    ctes = []
    source = "live_session"
    if async_commit_applies():
        ctes.append(ASYNC_COMMIT_CTE)
        source += ", async_commit"
    session_table, user_table = AuthSession._meta.db_table, User._meta.db_table
    ctes.append(
        f"live_session AS (SELECT {', '.join(session_select + user_select)} "  # noqa: S608
        f'FROM {session_table} s JOIN {user_table} u ON u."id" = s."user_id" '
        f'WHERE s."token_hash" = %s AND s."expires_at" > %s AND u."is_active")'
    )
    ctes.append(f"hit AS ({upsert_sql(key_sql=f'%s || {user_id}::text', source=source)})")
    sql = (
        f"WITH {', '.join(ctes)} "  # noqa: S608 - table and column names of our models
        "SELECT live_session.*, hit.count, hit.window_end FROM live_session "
        "LEFT JOIN hit ON true"
    )
    limit, window_s = throttle.get_rate()
    now = timezone.now()
    params = [
        digest,
        now,
        throttle.user_key_prefix(),
        *window_params(now=now, window_s=window_s),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    session = _instance(AuthSession, session_fields, row[: len(session_fields)])
    user = _instance(User, user_fields, row[len(session_fields) : -2])
    session.user = user  # type: ignore[attr-defined]
    count, ends_at = row[-2:]
    result: RateLimitResult = rate_limit_result(
        count=count,
        ends_at=ends_at,
        now=now,
        limit=limit,
        window_s=window_s,
        policy=throttle.scope,
    )
    counted_in_authentication(request, key=throttle.user_key_prefix() + str(user.pk), result=result)
    return session
