"""Run the cleanups apps register in settings.CLEANUPS, each single-flight."""

import logging
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from config.locks import single_flight

logger = logging.getLogger(__name__)


def cleanup_names() -> list[str]:
    return list(settings.CLEANUPS)


def cleanup_run(*, name: str) -> dict[str, Any] | None:
    """Run one registered cleanup; None when another process is running it right now."""
    path, _interval_s = settings.CLEANUPS[name]
    func = import_string(path)
    with single_flight(f"cleanup:{name}") as acquired:
        if not acquired:
            logger.info("cleanup %s: already running elsewhere, skipped", name)
            return None
        counts = func() or {}
    logger.info("cleanup %s: %s", name, counts)
    return counts
