"""DRF throttles backed by the database rate limiter: shared by all instances, kept across restarts.

List one in a view's `throttle_classes`; its rate comes from
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][scope] ("10/min", "60/hour", "5/10s"). Responses
of throttled views carry X-RateLimit-Limit / X-RateLimit-Remaining (set by
accounts.middleware.RateLimitHeadersMiddleware from what the throttle stores on the
request); a refusal is DRF's Throttled, rendered as 429 rate_limited with Retry-After.
"""

import hashlib
import ipaddress
import re

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from accounts.ratelimit import RateLimitResult, rate_limit_hit

# The HttpRequest attribute the header middleware reads: a list of RateLimitResult.
REQUEST_ATTR = "rate_limit_results"
# Hits already counted by the authentication statement: {key: RateLimitResult}.
COUNTED_ATTR = "rate_limit_counted"

MAX_IDENTITY_CHARS = 120
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([a-z]+)\s*$")
_PERIOD_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """ "10/min" -> (10, 60); "5/10s" -> (5, 10). Units by first letter: s, m, h, d."""
    match = _RATE.match(rate.lower())
    if match is None or match.group(3)[0] not in _PERIOD_S:
        raise ImproperlyConfigured(f"Bad throttle rate {rate!r}; use e.g. '10/min' or '5/10s'.")
    count, multiplier, unit = match.groups()
    return int(count), int(multiplier or 1) * _PERIOD_S[unit[0]]


def parse_ip(value: str) -> str | None:
    """The address in one X-Forwarded-For hop or socket address, normalized; None for junk.

    Accepts `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]`, `[2001:db8::1]:443`;
    a zone (`fe80::1%eth0`) is dropped, since no inet column takes one.
    """
    host = value.strip()
    if host.startswith("["):
        host, bracket, _ = host[1:].partition("]")
        if not bracket:
            return None
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    host = host.partition("%")[0]
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


def client_ip(request) -> str | None:
    """The caller's address: the socket peer, or the entry TRUSTED_PROXY_COUNT proxies up.

    A hop that is no address (`unknown`, garbage, empty) falls back to the socket address;
    None when that is no address either (a Unix socket).
    """
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies > 0 and forwarded:
        hops = forwarded.split(",")
        address = parse_ip(hops[-min(proxies, len(hops))])
        if address is not None:
            return address
    return parse_ip(request.META.get("REMOTE_ADDR") or "")


def ip_identity(request) -> str:
    """What a per-IP limit counts."""
    return f"ip:{client_ip(request) or 'unknown'}"


def _identity(value: str) -> str:
    """Long or unprintable identities (absurd emails, NUL bytes) are hashed so every key fits
    the column and the database accepts it."""
    if len(value) <= MAX_IDENTITY_CHARS and value.isprintable():
        return value
    # surrogatepass: whatever the text holds, hashing it never fails.
    return "sha256:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def scope_rate(scope: str) -> tuple[int, int]:
    """(limit, window in seconds) of `scope` in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]."""
    try:
        rate = api_settings.DEFAULT_THROTTLE_RATES[scope]
    except KeyError:
        raise ImproperlyConfigured(
            f"No rate for throttle scope {scope!r} in DEFAULT_THROTTLE_RATES."
        ) from None
    # The stubs type these rates as numbers; DRF's are strings like "10/min".
    return parse_rate(rate)  # type: ignore[arg-type]


def rate_limit_scope_hit(*, scope: str, identity: str) -> RateLimitResult:
    """Count one hit of `identity` ("ip:…", "user:…", "email:…") against `scope`'s rate:
    what every throttle, and the admin login, calls."""
    limit, window_s = scope_rate(scope)
    return rate_limit_hit(key=f"{scope}:{_identity(identity)}", limit=limit, window_s=window_s)


def email_identity(email: object) -> str | None:
    """What a per-account limit counts: the normalized email; None when there is none."""
    if not isinstance(email, str) or not email.strip():
        return None
    return f"email:{email.strip().lower()}"


def record_result(request, result: RateLimitResult) -> None:
    """Remember a throttle's verdict on the Django request for the response headers."""
    django_request = getattr(request, "_request", request)
    results = getattr(django_request, REQUEST_ATTR, None)
    if results is None:
        results = []
        setattr(django_request, REQUEST_ATTR, results)
    results.append(result)


def counted_in_authentication(request, *, key: str, result: RateLimitResult) -> None:
    """Remember a hit of `key` that accounts.authentication counted in its own statement,
    so the throttle of that key uses this verdict instead of counting the request twice."""
    django_request = getattr(request, "_request", request)
    counted = getattr(django_request, COUNTED_ATTR, None)
    if counted is None:
        counted = {}
        setattr(django_request, COUNTED_ATTR, counted)
    counted[key] = result


class DbRateThrottle(BaseThrottle):
    """Per `scope`: per user when authenticated, per client IP otherwise."""

    scope: str = ""

    def __init__(self):
        self.result: RateLimitResult | None = None

    def get_rate(self) -> tuple[int, int]:
        return scope_rate(self.scope)

    def get_identity(self, request, view) -> str | None:
        """What is counted; None means this throttle does not apply to the request."""
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return f"user:{user.pk}"
        return ip_identity(request)

    def allow_request(self, request, view) -> bool:
        identity = self.get_identity(request, view)
        if identity is None:
            return True
        key = f"{self.scope}:{_identity(identity)}"
        counted = getattr(getattr(request, "_request", request), COUNTED_ATTR, {})
        self.result = counted.pop(key, None)
        if self.result is None:
            self.result = rate_limit_scope_hit(scope=self.scope, identity=identity)
        record_result(request, self.result)
        return self.result.allowed

    def wait(self) -> float | None:
        return self.result.retry_after_s if self.result else None


class UserRateThrottle(DbRateThrottle):
    """The default rate of authenticated callers."""

    scope = "user"

    def get_identity(self, request, view):
        user = getattr(request, "user", None)
        return f"user:{user.pk}" if user is not None and user.is_authenticated else None

    def user_key_prefix(self) -> str:
        """The key of user U's counter is this + str(U.pk) (a UUID never needs hashing), as
        accounts.authentication builds it in SQL."""
        return f"{self.scope}:user:"


class AnonRateThrottle(DbRateThrottle):
    """The default rate of anonymous callers, per IP."""

    scope = "anon"

    def get_identity(self, request, view):
        user = getattr(request, "user", None)
        return None if user is not None and user.is_authenticated else ip_identity(request)


class LoginIpThrottle(DbRateThrottle):
    """Login attempts per client IP, whoever they claim to be."""

    scope = "login_ip"

    def get_identity(self, request, view):
        return ip_identity(request)


class LoginEmailThrottle(DbRateThrottle):
    """Login attempts per target account (normalized email from the body), from any IP."""

    scope = "login_email"

    def get_identity(self, request, view):
        data = request.data
        # None when there is no email: nothing to guess at, the view answers 400.
        return email_identity(data.get("email") if hasattr(data, "get") else None)


class RegisterThrottle(DbRateThrottle):
    """Registrations per client IP."""

    scope = "register"

    def get_identity(self, request, view):
        return ip_identity(request)


class PasswordChangeThrottle(DbRateThrottle):
    """Password changes per user: each checks the current password, a guess at it."""

    scope = "password_change"


class PasswordChangeIpThrottle(DbRateThrottle):
    """Password changes per client IP, whichever accounts' tokens it holds."""

    scope = "password_change_ip"

    def get_identity(self, request, view):
        return ip_identity(request)


class UploadThrottle(DbRateThrottle):
    """Uploads per user, or per IP for anonymous uploads."""

    scope = "uploads"
