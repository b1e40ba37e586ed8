"""Rate-limit headers on every response of a throttled view, whoever raised or answered."""

from accounts.ratelimit_headers import rate_limit_headers_merge
from accounts.throttling import REQUEST_ATTR


class RateLimitHeadersMiddleware:
    """Reads the verdicts DbRateThrottle stored on the request (accounts.ratelimit_headers
    says how they are shown)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        results = getattr(request, REQUEST_ATTR, None)
        if results:
            rate_limit_headers_merge(response, results)
        return response
