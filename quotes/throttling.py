"""The throttle of share links: per client IP, whoever the caller claims to be."""

from accounts.throttling import DbRateThrottle, ip_identity


class SharedQuoteThrottle(DbRateThrottle):
    """Reads of shared quotes per client IP (RATE_SHARED_QUOTES), so tokens cannot be
    probed fast; the endpoint ignores credentials, so there is no per-user count."""

    scope = "shared_quotes"

    def get_identity(self, request, view):
        return ip_identity(request)
