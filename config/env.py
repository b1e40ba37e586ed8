"""Typed readers of environment variables, the only source of configuration."""

import os
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_origins(name: str) -> list[str]:
    """Comma-separated web origins (`https://shop.example.com`, `http://127.0.0.1:3000`):
    scheme and host, an optional port, nothing else."""
    origins = env_list(name, [])
    for origin in origins:
        try:
            url = urlsplit(origin)
            url.port  # noqa: B018 - raises ValueError for a port out of range
        except ValueError:
            url = None
        if (
            url is None
            or url.scheme not in {"http", "https"}
            or not url.hostname
            or url.path
            or url.query
            or url.fragment
            or url.username is not None
        ):
            raise ImproperlyConfigured(
                f"{name} must list origins like https://shop.example.com, got {origin!r}"
            )
    return origins
