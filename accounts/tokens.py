"""Bearer tokens: 32 random bytes shown once; only their SHA-256 hex digest is stored."""

import hashlib
import secrets

TOKEN_BYTES = 32
TOKEN_PREFIX_CHARS = 8


def token_generate() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
