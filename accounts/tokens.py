"""Bearer tokens: a display prefix + 32 secret random bytes; only their SHA-256 is stored."""

import hashlib
import secrets

TOKEN_BYTES = 32
PREFIX_BYTES = 6
# 6 random bytes are exactly 8 URL-safe characters: the part stored and shown in the admin.
TOKEN_PREFIX_CHARS = 8


def token_generate() -> str:
    """8 characters of public prefix, then 43 characters (256 bits) that are never stored."""
    return secrets.token_urlsafe(PREFIX_BYTES) + secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
