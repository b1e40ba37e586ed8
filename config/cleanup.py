"""The cleanups apps register in settings.CLEANUPS (each single-flight), and the batched
loops they run their deletes (or updates) with: in_batches (any queryset) and
change_in_batches (keyset order on an indexed column, for millions of rows)."""

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import DO_NOTHING, BooleanField, Count, Q, QuerySet, Sum
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.module_loading import import_string

from config.locks import DEFAULT_LEASE_TTL, single_flight

logger = logging.getLogger(__name__)

# A failed run's recorded error is cut to this many characters.
ERROR_MAX_CHARS = 2000
# Run records deleted per statement by cleanup_run_prune.
PRUNE_BATCH_ROWS = 1000
# A cleanup is overdue on the dashboard when its latest run is older than this many intervals.
OVERDUE_INTERVALS = 2


def cleanup_names() -> list[str]:
    return list(settings.CLEANUPS)


def cleanup_run(*, name: str) -> dict[str, Any] | None:
    """Run one registered cleanup; None when another process is running it right now."""
    path, _interval_s = settings.CLEANUPS[name]
    func = import_string(path)
    lease_s = settings.CLEANUP_LEASE_S.get(name)
    ttl = DEFAULT_LEASE_TTL if lease_s is None else timedelta(seconds=lease_s)
    with single_flight(f"cleanup:{name}", ttl=ttl) as acquired:
        if not acquired:
            logger.info("cleanup %s: already running elsewhere, skipped", name)
            return None
        counts = _run_recorded(name, func)
    logger.info("cleanup %s: %s", name, counts)
    return counts


def _run_recorded(name: str, func: Callable[[], dict[str, Any] | None]) -> dict[str, Any]:
    """Run `func` and write its CleanupRun row: the backlog counted first (if the cleanup
    has a counter in settings.CLEANUP_BACKLOGS), then what it changed, or the error it
    raised (re-raised after recording, so beat and the command still see it)."""
    from config.models import CleanupRun, CleanupRunOutcome

    backlog = settings.CLEANUP_BACKLOGS.get(name)
    started_at = timezone.now()
    found = import_string(backlog)() if backlog else None
    try:
        counts = func() or {}
    except Exception as exc:
        CleanupRun.objects.create(
            name=name,
            outcome=CleanupRunOutcome.FAILED,
            found=found,
            error=f"{type(exc).__name__}: {exc}"[:ERROR_MAX_CHARS],
            started_at=started_at,
            finished_at=timezone.now(),
        )
        raise
    CleanupRun.objects.create(
        name=name,
        found=found,
        cleaned=sum(value for value in counts.values() if isinstance(value, int)),
        counts=counts,
        started_at=started_at,
        finished_at=timezone.now(),
    )
    return counts


def cleanup_run_prune() -> dict[str, int]:
    """Scheduled cleanup: delete the records of runs older than CLEANUP_RUN_RETENTION."""
    from config.models import CleanupRun

    old = CleanupRun.objects.filter(started_at__lt=timezone.now() - settings.CLEANUP_RUN_RETENTION)
    deleted, _batches = change_in_batches(old, key="started_at", batch_size=PRUNE_BATCH_ROWS)
    return {"cleanup_runs_deleted": deleted}


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


def delete_in_keyset_batches(queryset: QuerySet, *, key: str, batch_size: int) -> Counter[str]:
    """delete_in_batches in (key, pk) order from where the previous batch ended (see
    change_in_batches), for many rows that other rows reference: no batch rescans the
    index entries of the rows the batches before it deleted. Each batch loads only the
    primary keys of its rows for Django's cascade."""
    deleted: Counter[str] = Counter()

    def delete(batch: QuerySet) -> int:
        _rows, per_model = batch.only("pk").delete()
        deleted.update(per_model)
        return per_model.get(queryset.model._meta.label, 0)

    _batches_orm(queryset, key, batch_size, delete)
    return deleted


# PostgreSQL: a batch's commit need not wait for the WAL flush; a crash can only undo
# batches that the next run does again.
_ASYNC_COMMIT = "async_commit AS (SELECT set_config('synchronous_commit', 'off', true))"


def change_in_batches(
    queryset, *, key: str, batch_size: int, update: dict | None = None
) -> tuple[int, int]:
    """Update (`update={field: value}`) or delete (no `update`) the rows of `queryset`, at
    most `batch_size` per transaction. Returns (rows changed, batches).

    Batches follow (key, pk) from where the previous one ended (keyset pagination on the
    index of `key`), so a million matching rows cost a million index entries in total,
    not a rescan of the done ones for every batch. Each batch re-applies the queryset's
    guard to rows it locks, so rows that changed meanwhile are left alone.

    On PostgreSQL a batch is one statement: select the batch FOR UPDATE SKIP LOCKED (a
    row that a request holds is left for the next run, never waited for), change it,
    commit without waiting for the WAL flush. Elsewhere (SQLite), or to delete rows that
    other rows reference (Django's collector cascades), a batch is the ORM's statements;
    references declared DO_NOTHING (no database constraint) are the caller's to delete.
    """
    model = queryset.model
    # DO_NOTHING relations are the owning app's to clean up (see quotes.models.QuoteShare).
    referenced = any(rel.on_delete is not DO_NOTHING for rel in model._meta.related_objects)
    if connection.vendor == "postgresql" and (update is not None or not referenced):
        return _batches_postgresql(queryset, key=key, batch_size=batch_size, update=update)
    if update is not None:
        return _batches_orm(queryset, key, batch_size, lambda rows: rows.update(**update))
    return _batches_orm(
        queryset, key, batch_size, lambda rows: rows.delete()[1].get(model._meta.label, 0)
    )


def _after(queryset, key: str, after: tuple | None):
    """The rows of `queryset` after the (key, pk) pair `after`, in (key, pk) order."""
    page = queryset.order_by(key, "pk")
    if after is None:
        return page
    meta = queryset.model._meta
    key_field = meta.get_field(key)
    prepared = (
        key_field.get_db_prep_value(after[0], connection),
        meta.pk.get_db_prep_value(after[1], connection),
    )
    return page.filter(
        RawSQL(  # noqa: S611 - column names of the model, values as parameters
            f'("{key_field.column}", "{meta.pk.column}") > (%s, %s)',
            prepared,
            output_field=BooleanField(),
        ),
        **{f"{key}__gte": after[0]},  # the same bound, in a form the index can use
    )


def _batches_orm(queryset, key: str, batch_size: int, apply) -> tuple[int, int]:
    changed = batches = 0
    after = None
    while True:
        keys = list(_after(queryset, key, after).values_list(key, "pk")[:batch_size])
        if not keys:
            break
        with transaction.atomic():
            changed += apply(queryset.filter(pk__in=[pk for _, pk in keys]))
        batches += 1
        after = keys[-1]
        if len(keys) < batch_size:
            break
    return changed, batches


def _batches_postgresql(queryset, *, key: str, batch_size: int, update: dict | None):
    model = queryset.model
    table = model._meta.db_table
    pk_column = model._meta.pk.column
    key_column = model._meta.get_field(key).column
    if update is None:
        change, change_params = f'DELETE FROM "{table}" USING batch', []  # noqa: S608
    else:
        fields = [model._meta.get_field(name) for name in update]
        assignments = ", ".join(f'"{field.column}" = %s' for field in fields)
        change = f'UPDATE "{table}" SET {assignments} FROM batch'  # noqa: S608
        change_params = [field.get_db_prep_save(update[field.name], connection) for field in fields]
    # Inside an outer transaction the setting would apply to that transaction's commit too.
    ctes = [] if connection.in_atomic_block else [_ASYNC_COMMIT]
    changed = batches = 0
    after = None
    while True:
        rows = _after(queryset, key, after).values_list(key, model._meta.pk.attname)
        select_sql, select_params = rows[:batch_size].query.sql_with_params()
        # Added here: the ORM refuses to compile FOR UPDATE outside a transaction block,
        # and this statement is its own transaction.
        select_sql += " FOR UPDATE SKIP LOCKED"
        sql = (
            f"WITH {', '.join([*ctes, f'batch AS ({select_sql})'])}, "  # noqa: S608
            f'changed AS ({change} WHERE "{table}"."{pk_column}" = batch."{pk_column}" '
            f"RETURNING 1) "
            f"SELECT (SELECT count(*) FROM changed), (SELECT count(*) FROM batch), "
            f'last."{key_column}", last."{pk_column}" '
            f"FROM batch last{', async_commit' if ctes else ''} "
            f'ORDER BY last."{key_column}" DESC, last."{pk_column}" DESC LIMIT 1'
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*select_params, *change_params])
            row = cursor.fetchone()
        if row is None:
            break
        done, selected, last_key, last_pk = row
        changed += done
        batches += 1
        after = (last_key, last_pk)
        if selected < batch_size:
            break
    return changed, batches


@dataclass(frozen=True)
class CleanupHealth:
    """One registered cleanup over a window: its runs, failures, rows found due and rows
    cleaned, and its latest run. Overdue: no run for more than twice its interval."""

    name: str
    interval_s: int
    runs: int
    failures: int
    found: int | None
    cleaned: int
    last_started_at: Any
    last_outcome: str
    last_duration_ms: int | None
    overdue: bool


def cleanup_health(*, since) -> list[CleanupHealth]:
    """Every registered cleanup (settings.CLEANUPS order), aggregated from its CleanupRun
    rows since `since`; one grouped query plus one indexed lookup per cleanup."""
    from config.models import CleanupRun, CleanupRunOutcome

    now = timezone.now()
    totals: dict[str, dict[str, Any]] = {
        row["name"]: dict(row)
        for row in CleanupRun.objects.filter(started_at__gte=since)
        .order_by()
        .values("name")
        .annotate(
            runs=Count("pk"),
            failures=Count("pk", filter=Q(outcome=CleanupRunOutcome.FAILED)),
            found=Sum("found"),
            cleaned=Sum("cleaned"),
        )
    }
    result = []
    for name, (_path, interval_s) in settings.CLEANUPS.items():
        last = CleanupRun.objects.filter(name=name).order_by("-started_at").first()
        row: dict[str, Any] = totals.get(name, {})
        result.append(
            CleanupHealth(
                name=name,
                interval_s=interval_s,
                runs=row.get("runs", 0),
                failures=row.get("failures", 0),
                found=row.get("found"),
                cleaned=row.get("cleaned") or 0,
                last_started_at=last.started_at if last else None,
                last_outcome=last.outcome if last else "",
                last_duration_ms=last.duration_ms if last else None,
                overdue=last is None
                or (now - last.started_at).total_seconds() > OVERDUE_INTERVALS * interval_s,
            )
        )
    return result


def cleanup_runs_recent(*, name: str, limit: int) -> list:
    """The latest `limit` recorded runs of cleanup `name`, newest first."""
    from config.models import CleanupRun

    return list(CleanupRun.objects.filter(name=name).order_by("-started_at")[:limit])
