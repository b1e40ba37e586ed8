"""X-RateLimit-* headers on every response of a throttled view, whoever raised or answered."""

from accounts.throttling import REQUEST_ATTR


class RateLimitHeadersMiddleware:
    """Reads the verdicts DbRateThrottle stored on the request; the tightest one is shown."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        results = getattr(request, REQUEST_ATTR, None)
        if results:
            tightest = min(results, key=lambda result: (result.remaining, result.limit))
            response["X-RateLimit-Limit"] = str(tightest.limit)
            response["X-RateLimit-Remaining"] = str(tightest.remaining)
        return response
