"""How limits are shown to clients: X-RateLimit-* and the IETF RateLimit-Policy / RateLimit
fields (draft-ietf-httpapi-ratelimit-headers), from RateLimitResult verdicts."""

from collections.abc import Sequence

from accounts.ratelimit import RateLimitResult

LEGACY_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
POLICY_HEADER = "RateLimit-Policy"
STATE_HEADER = "RateLimit"


def _name(policy: str) -> str:
    """A policy name as a Structured Fields string (quotes and backslashes escaped)."""
    escaped = (policy or "default").replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def rate_limit_headers(results: Sequence[RateLimitResult]) -> dict[str, str]:
    """The headers of the limits a response was counted against (none: no headers).

    X-RateLimit-Limit / -Remaining / -Reset (seconds) show the tightest limit, the one the
    client runs into first; RateLimit-Policy (`"user";q=1000;w=60`) and RateLimit
    (`"user";r=983;t=42`) list every policy, one list member each.
    """
    if not results:
        return {}
    by_policy = {result.policy: result for result in results}
    tightest = min(by_policy.values(), key=lambda result: (result.remaining, result.limit))
    return {
        "X-RateLimit-Limit": str(tightest.limit),
        "X-RateLimit-Remaining": str(tightest.remaining),
        "X-RateLimit-Reset": str(tightest.reset_s),
        POLICY_HEADER: ", ".join(
            f"{_name(r.policy)};q={r.limit};w={r.window_s}" for r in by_policy.values()
        ),
        STATE_HEADER: ", ".join(
            f"{_name(r.policy)};r={r.remaining};t={r.reset_s}" for r in by_policy.values()
        ),
    }


def rate_limit_headers_merge(response, results: Sequence[RateLimitResult]) -> None:
    """Add the limiter's headers to `response` without hiding the answer's own.

    An answer that already shows a limit (a 429 of a shop's render quota) keeps its
    X-RateLimit-* values: they describe the limit the client actually hit. Its
    RateLimit-Policy / RateLimit members come first, the limiter's are appended.
    """
    headers = rate_limit_headers(results)
    if not headers:
        return
    own_limit = response.has_header("X-RateLimit-Limit")
    for name, value in headers.items():
        if name in LEGACY_HEADERS:
            if not own_limit:
                response[name] = value
        elif response.has_header(name):
            response[name] = f"{response[name]}, {value}"
        else:
            response[name] = value
