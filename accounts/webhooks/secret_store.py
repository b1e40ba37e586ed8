"""Webhook signing secrets: made, shown once, kept encrypted under a key derived from
SECRET_KEY (Fernet, key by HKDF-SHA256); SECRET_KEY_FALLBACKS still decrypt."""

import base64
import secrets

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format prefix of the spec, not a secret
# Standard Webhooks: a secret is 24 to 64 bytes; 32 matches HMAC-SHA256's output.
SECRET_BYTES = 32
_HKDF_INFO = b"atelier.webhooks.secret-encryption.v1"
_HKDF_SALT = b"atelier.webhooks"


class SecretUnreadable(Exception):
    """No current or fallback SECRET_KEY decrypts the stored secret (a key was dropped)."""


def webhook_secret_new() -> str:
    """`whsec_` + standard base64 of SECRET_BYTES random bytes, as the spec writes them."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _fernet_for(secret_key: str | bytes) -> Fernet:
    raw = secret_key.encode() if isinstance(secret_key, str) else secret_key
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=_HKDF_INFO).derive(
        raw
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def _fernets() -> MultiFernet:
    """Encrypts with SECRET_KEY; decrypts with it, then with each SECRET_KEY_FALLBACKS."""
    keys = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return MultiFernet([_fernet_for(key) for key in keys])


def webhook_secret_encrypt(secret: str) -> str:
    return _fernets().encrypt(secret.encode()).decode()


def webhook_secret_decrypt(token: str) -> str:
    try:
        return _fernets().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable("no SECRET_KEY (current or fallback) decrypts it") from exc


def webhook_secret_reencrypt(token: str) -> str:
    """The same secret under the current SECRET_KEY (after a rotation)."""
    try:
        return _fernets().rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable("no SECRET_KEY (current or fallback) decrypts it") from exc
