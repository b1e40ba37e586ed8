"""The cleanups apps register in settings.CLEANUPS (each single-flight), and the batched
loop every one of them runs its deletes (or updates) with."""

import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
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


def in_batches(
    queryset: QuerySet,
    apply: Callable[[QuerySet], int],
    *,
    batch_size: int,
    atomic: bool = True,
) -> tuple[int, int]:
    """Call `apply(batch)` on the rows matching `queryset`, at most `batch_size` primary
    keys at a time, until none match. Returns (sum of what `apply` returned, batches).

    `batch` is `queryset` narrowed to the batch's keys, so its guard is re-applied: a row
    that changed since the keys were read is skipped. With `atomic` (the default) each
    batch is its own durable transaction, committed before the next starts: no statement
    locks many rows for long and a failure loses only the batch in flight. Pass
    atomic=False when `apply` must commit as it goes (a row's delete, then its object in
    storage). `apply` must make the rows it handles stop matching `queryset`.
    """
    total = batches = 0
    while True:
        ids = list(queryset.order_by().values_list("pk", flat=True)[:batch_size])
        if not ids:
            break
        batch = queryset.filter(pk__in=ids)
        if atomic:
            with transaction.atomic(durable=True):
                total += apply(batch)
        else:
            total += apply(batch)
        batches += 1
        if len(ids) < batch_size:
            break
    return total, batches


def delete_in_batches(queryset: QuerySet, *, batch_size: int) -> Counter[str]:
    """Delete the rows matching `queryset` (and what cascades from them) a batch at a time,
    each batch committing on its own (see in_batches). Returns rows deleted per model
    label, e.g. {"quote_runs.QuoteRun": 3, "quote_runs.QuoteRunEvent": 12}."""
    deleted: Counter[str] = Counter()

    def delete(batch: QuerySet) -> int:
        rows, per_model = batch.delete()
        deleted.update(per_model)
        return rows

    in_batches(queryset, delete, batch_size=batch_size)
    return deleted
