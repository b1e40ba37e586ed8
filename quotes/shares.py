"""Share links of quotes: a signed, revocable, read-only grant to one quote.

The token is a QuoteShare row's id and the quote's expiry, signed with Django's signing
(SECRET_KEY, this module's salt; SECRET_KEY_FALLBACKS keep links working through a key
rotation). A token that is forged, tampered with, too long or past its expiry is refused
before any query; a genuine one still needs its row unrevoked and its quote unexpired, so
a revocation on one instance holds on every other at once. Every refusal is the same 404,
so the endpoint tells a prober nothing about which tokens exist.
"""

import logging
import time
import uuid
import zlib

from django.core import signing
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from config.errors import Conflict, Gone, NotFound
from quotes.identity import Caller
from quotes.models import Quote, QuoteShare, QuoteStatus
from quotes.selectors import quote_get_for_caller

logger = logging.getLogger(__name__)

# Namespaces these signatures: no other signed value of the app can pass for a share token.
SHARE_TOKEN_SALT = "atelier.quotes.share"  # noqa: S105 - a salt, not a secret
# A real token is about 100 characters; longer input is refused before any HMAC.
SHARE_TOKEN_MAX_CHARS = 256
# Rounds of insert-then-read when a concurrent revocation keeps removing the link.
SHARE_CREATE_ATTEMPTS = 3


def _signer() -> signing.Signer:
    # Signer, not signing.dumps: no timestamp inside, so a share always has the same token.
    return signing.Signer(salt=SHARE_TOKEN_SALT)


def share_token_issue(*, share: QuoteShare) -> str:
    """The token of `share`. Deterministic: the same share always gives the same token."""
    payload = {"s": share.id.hex, "exp": int(share.expires_at.timestamp())}
    return _signer().sign_object(payload)


def share_token_share_id(token: str) -> uuid.UUID | None:
    """The share id of an untampered, unexpired token; None for anything else."""
    if not isinstance(token, str) or len(token) > SHARE_TOKEN_MAX_CHARS:
        return None
    try:
        payload = _signer().unsign_object(token)
    except (signing.BadSignature, ValueError, zlib.error):
        # ValueError, zlib.error: a signature of ours over something that is no payload
        # (a timestamped value under the same salt looks signed to a plain Signer).
        return None
    if not isinstance(payload, dict):
        return None
    exp, share_id = payload.get("exp"), payload.get("s")
    if isinstance(exp, bool) or not isinstance(exp, int) or time.time() >= exp:
        return None
    try:
        return uuid.UUID(hex=share_id) if isinstance(share_id, str) else None
    except ValueError:
        return None


def share_url_path(token: str) -> str:
    return reverse("shared-quote", kwargs={"token": token})


def _own_quote_or_404(*, quote_id: uuid.UUID | str, caller: Caller) -> Quote:
    quote = quote_get_for_caller(quote_id=quote_id, caller=caller)
    if quote is None:
        raise NotFound("Quote not found.")
    return quote


def quote_share_create(*, quote_id: uuid.UUID | str, caller: Caller) -> QuoteShare:
    """The quote's share link: the unrevoked one if there is one (the same token again),
    else a new one. Only the quote's owner may share it; an expired quote cannot be shared
    (410 quote_expired).

    At most one unrevoked link per quote, whatever the concurrency: the partial unique
    index decides, `INSERT ... ON CONFLICT DO NOTHING` loses quietly and the loser reads
    the winner's row. Rotating a link is DELETE, then POST.
    """
    quote = _own_quote_or_404(quote_id=quote_id, caller=caller)
    if quote.effective_status == QuoteStatus.EXPIRED:
        raise Gone("This quote has expired.", code="quote_expired")
    for _ in range(SHARE_CREATE_ATTEMPTS):
        # A savepoint of its own: under an outer transaction (Idempotency-Key) the insert
        # that lost the race must not abort it.
        with transaction.atomic():
            QuoteShare.objects.bulk_create(
                [QuoteShare(quote=quote, expires_at=quote.expires_at)], ignore_conflicts=True
            )
        share = QuoteShare.objects.filter(quote=quote, revoked_at__isnull=True).first()
        if share is not None:
            share.quote = quote
            return share
        # The link was revoked between the insert and the read: make one again.
    raise Conflict("The link keeps being revoked; try again.", code="share_conflict")


def quote_share_revoke(*, quote_id: uuid.UUID | str, caller: Caller) -> int:
    """Revoke the quote's unrevoked link (owner only, else 404); returns how many were
    revoked (0 when there was none: revoking is idempotent). One UPDATE in the database,
    so every instance refuses the token from the next request on."""
    quote = _own_quote_or_404(quote_id=quote_id, caller=caller)
    revoked = QuoteShare.objects.filter(quote=quote, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if revoked:
        logger.info("share link of quote %s revoked", quote.pk)
    return revoked


def quote_share_revoke_many(*, shares: QuerySet[QuoteShare]) -> int:
    """Staff action: revoke the unrevoked links of the `shares` queryset; one UPDATE."""
    return shares.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


def quote_get_shared(*, token: str) -> Quote:
    """The quote a share token opens, or NotFound: the same 404 for a forged, expired or
    revoked token, an expired quote, or a quote that is gone. One query for a genuine token,
    none for a forged one."""
    share_id = share_token_share_id(token)
    if share_id is None:
        raise NotFound("Not found.")
    try:
        # get(), not first(): a primary-key lookup needs no ORDER BY
        share = QuoteShare.objects.active().select_related("quote").get(pk=share_id)
    except QuoteShare.DoesNotExist:
        raise NotFound("Not found.") from None
    return share.quote
