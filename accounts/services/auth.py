"""Users and their sessions: registration, login/logout, passwords, session cleanup, and the
system user that owns anonymous uploads."""

import uuid

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import SYSTEM_USER_EMAIL, AuthSession, User
from accounts.tokens import TOKEN_PREFIX_CHARS, token_generate, token_hash
from config.cleanup import delete_in_batches
from config.errors import InvalidCredentials, NotFound, ValidationFailed

USER_AGENT_MAX_CHARS = 256
AUTH_SESSION_CLEANUP_BATCH_SIZE = 5000


def _check_password_strength(*, password: str, user: User) -> None:
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise ValidationFailed(
            "The password is too weak.", details={"password": list(exc.messages)}
        ) from None


@transaction.atomic
def user_register(*, email: str, password: str, name: str = "") -> User:
    """Create an account; emails are unique case-insensitively (the database decides races)."""
    email = User.objects.normalize_email(email.strip()).lower()
    candidate = User(email=email, name=name)
    _check_password_strength(password=password, user=candidate)
    taken = ValidationFailed(
        "This email is already registered.",
        details={"email": ["A user with this email already exists."]},
    )
    if User.objects.filter(email__iexact=email).exists():
        raise taken
    try:
        with transaction.atomic():
            return User.objects.create_user(email=email, password=password, name=name)
    except IntegrityError:
        raise taken from None


def system_user_get_or_create() -> User:
    """The inactive owner of anonymous uploads; created once, can never log in.

    Idempotent under concurrency: the unique email makes a racing second insert fail
    and read the winner's row instead.
    """
    user, _ = User.objects.get_or_create(
        email=SYSTEM_USER_EMAIL,
        defaults={
            "name": "Anonymous uploads",
            "is_active": False,
            "is_staff": False,
            "password": make_password(None),
        },
    )
    return user


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


def auth_login(
    *, email: str, password: str, user_agent: str = "", ip_address: str | None = None
) -> tuple[AuthSession, str]:
    """Check the credentials and open a session; any failure is the same 401 (no user probing).

    Django's ModelBackend hashes a dummy password for unknown emails, so timing does not
    tell whether an account exists, and refuses inactive users.
    """
    user = authenticate(request=None, username=email.strip().lower(), password=password)
    if user is None:
        raise InvalidCredentials()
    User.objects.filter(pk=user.pk).update(last_login=timezone.now())
    return auth_session_create(user=user, user_agent=user_agent, ip_address=ip_address)


def auth_session_delete(*, session: AuthSession) -> None:
    """Logout: the row is gone, so the token fails on every instance from now on."""
    AuthSession.objects.filter(pk=session.pk).delete()


def auth_session_delete_for_user(*, user: User, session_id: uuid.UUID) -> None:
    """Revoke one of the user's own sessions; someone else's or unknown is NotFound."""
    deleted, _ = AuthSession.objects.filter(pk=session_id, user=user).delete()
    if not deleted:
        raise NotFound("No such session.")


def auth_session_delete_all(*, user: User) -> int:
    """End every session of `user` (logout-all, password change, deactivation)."""
    deleted, _ = AuthSession.objects.filter(user=user).delete()
    return deleted


@transaction.atomic
def user_password_change(*, user: User, current_password: str, new_password: str) -> None:
    """Set a new password after checking the current one; all the user's sessions end."""
    if not user.check_password(current_password):
        raise InvalidCredentials("The current password is wrong.")
    _check_password_strength(password=new_password, user=user)
    user.set_password(new_password)
    user.save(update_fields=["password"])
    auth_session_delete_all(user=user)


def auth_sessions_end_for_credentials_change(
    *, user: User, password_changed: bool, was_active: bool
) -> int:
    """Called after a staff edit saved `user`: a new password or a deactivation deletes all
    the user's sessions (an inactive user's tokens already fail; this removes them).
    Returns how many were deleted."""
    if password_changed or (was_active and not user.is_active):
        return auth_session_delete_all(user=user)
    return 0


def auth_session_cleanup() -> dict[str, int]:
    """Delete expired sessions (they already fail authentication; this only tidies)."""
    expired = AuthSession.objects.filter(expires_at__lte=timezone.now())
    deleted = delete_in_batches(expired, batch_size=AUTH_SESSION_CLEANUP_BATCH_SIZE)
    return {"expired_sessions_deleted": deleted[AuthSession._meta.label]}
