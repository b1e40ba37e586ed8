"""Pricing providers a quote run asks: built-in schedule-based ones and a remote HTTP one."""

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import requests
from django.conf import settings

from quotes.pricing import price_job

logger = logging.getLogger(__name__)

# ETA model of the built-in providers: a fixed setup plus a per-file processing time.
STANDARD_ETA_BASE_S = 60
STANDARD_ETA_PER_FILE_S = 30
PRIORITY_ETA_DIVISOR = 3
BULK_ETA_MULTIPLIER = 2
# Backoff between HTTP attempts: attempt n waits (n - 1) * this.
HTTP_RETRY_BACKOFF_S = 0.2
# Answers beyond these are not plausible prices; they are treated as garbage.
MAX_CREDITS = 2**31 - 1
MAX_ETA_SECONDS = 30 * 24 * 3600
HTTP_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

# progress(step_key, data): appends one provider.progress event, once per step_key.
ProgressCallback = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class Offer:
    credits_total: int
    eta_seconds: int


class ProviderError(Exception):
    """The provider could not quote (timeout, error answer, garbage): the run goes on."""


class Provider:
    name: str = ""

    @classmethod
    def configured(cls) -> bool:
        return True

    def quote(self, *, run_id: str, job: dict, progress: ProgressCallback) -> Offer:
        raise NotImplementedError


def _schedule_priced_files(*, job: dict, provider: str, progress: ProgressCallback) -> int:
    """Price the job file by file against the schedule copied into the run, reporting one
    progress step per file; returns the schedule total."""
    files = job["files"]
    schedule_ops = job["schedule"]["ops"]
    total = 0
    for index, file in enumerate(files, start=1):
        priced = price_job(schedule_ops=schedule_ops, files=[file], ops=job["ops"])
        total += priced.credits_total
        if settings.QUOTE_RUN_PROVIDER_STEP_S > 0:
            time.sleep(settings.QUOTE_RUN_PROVIDER_STEP_S)  # the per-file pricing work
        progress(
            f"file:{file['id']}",
            {
                "provider": provider,
                "file_id": str(file["id"]),
                "done": index,
                "total": len(files),
                "credits": priced.credits_total,
            },
        )
    return total


def _standard_eta_s(file_count: int) -> int:
    return STANDARD_ETA_BASE_S + STANDARD_ETA_PER_FILE_S * file_count


class StandardProvider(Provider):
    """The active credit schedule, as quotes price it."""

    name = "standard"

    def quote(self, *, run_id, job, progress) -> Offer:
        total = _schedule_priced_files(job=job, provider=self.name, progress=progress)
        return Offer(credits_total=total, eta_seconds=_standard_eta_s(len(job["files"])))


class PriorityProvider(Provider):
    """Schedule price * QUOTE_RUN_PRIORITY_MULTIPLIER (rounded up), a third of the ETA."""

    name = "priority"

    def quote(self, *, run_id, job, progress) -> Offer:
        total = _schedule_priced_files(job=job, provider=self.name, progress=progress)
        multiplier = Fraction(str(settings.QUOTE_RUN_PRIORITY_MULTIPLIER))
        eta = math.ceil(_standard_eta_s(len(job["files"])) / PRIORITY_ETA_DIVISOR)
        return Offer(credits_total=math.ceil(total * multiplier), eta_seconds=eta)


class BulkProvider(Provider):
    """Schedule price minus QUOTE_RUN_BULK_DISCOUNT_PERCENT (rounded down) for jobs of at
    least QUOTE_RUN_BULK_MIN_FILES files; twice the ETA."""

    name = "bulk"

    def quote(self, *, run_id, job, progress) -> Offer:
        total = _schedule_priced_files(job=job, provider=self.name, progress=progress)
        if len(job["files"]) >= settings.QUOTE_RUN_BULK_MIN_FILES:
            total -= total * settings.QUOTE_RUN_BULK_DISCOUNT_PERCENT // 100
        eta = _standard_eta_s(len(job["files"])) * BULK_ETA_MULTIPLIER
        return Offer(credits_total=total, eta_seconds=eta)


def _answer_to_offer(answer: Any) -> Offer:
    """{"credits_total": int >= 0, "eta_seconds": int >= 0} or ProviderError."""
    if not isinstance(answer, dict):
        raise ProviderError("invalid answer: not a JSON object")
    fields = {}
    for name, ceiling in (("credits_total", MAX_CREDITS), ("eta_seconds", MAX_ETA_SECONDS)):
        value = answer.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= ceiling:
            raise ProviderError(f"invalid answer: {name} must be an integer in 0..{ceiling}")
        fields[name] = value
    return Offer(**fields)


class HttpProvider(Provider):
    """POSTs {run_id, files, ops} to QUOTE_HTTP_PROVIDER_URL and expects
    {credits_total, eta_seconds}. Timeouts, connection errors and 429/5xx answers are
    retried QUOTE_HTTP_PROVIDER_RETRIES times; any other failure or a malformed answer
    is final."""

    name = "http"

    @classmethod
    def configured(cls) -> bool:
        return bool(settings.QUOTE_HTTP_PROVIDER_URL)

    def quote(self, *, run_id, job, progress) -> Offer:
        url = settings.QUOTE_HTTP_PROVIDER_URL
        if not url:
            raise ProviderError("QUOTE_HTTP_PROVIDER_URL is not configured")
        payload = {"run_id": str(run_id), "files": job["files"], "ops": job["ops"]}
        attempts = 1 + max(0, settings.QUOTE_HTTP_PROVIDER_RETRIES)
        last_error = ""
        with requests.Session() as session:
            for attempt in range(1, attempts + 1):
                if attempt > 1:
                    time.sleep(HTTP_RETRY_BACKOFF_S * (attempt - 1))
                try:
                    response = session.post(
                        url, json=payload, timeout=settings.QUOTE_HTTP_PROVIDER_TIMEOUT_S
                    )
                except requests.Timeout:
                    last_error = f"timed out after {settings.QUOTE_HTTP_PROVIDER_TIMEOUT_S}s"
                    continue
                except requests.RequestException as exc:
                    last_error = f"request failed: {type(exc).__name__}"
                    continue
                if response.status_code in HTTP_RETRY_STATUSES:
                    last_error = f"answered HTTP {response.status_code}"
                    continue
                if response.status_code != 200:
                    raise ProviderError(f"answered HTTP {response.status_code}")
                try:
                    answer = response.json()
                except ValueError:
                    raise ProviderError("invalid answer: not JSON") from None
                return _answer_to_offer(answer)
        raise ProviderError(f"{last_error} ({attempts} attempts)")


PROVIDERS: dict[str, type[Provider]] = {
    provider.name: provider
    for provider in (StandardProvider, PriorityProvider, BulkProvider, HttpProvider)
}


def provider_get(name: str) -> Provider | None:
    provider = PROVIDERS.get(name)
    return provider() if provider is not None else None


def providers_enabled() -> list[str]:
    """Providers named in QUOTE_PROVIDERS that exist and are configured, in that order."""
    return [
        name
        for name in settings.QUOTE_PROVIDERS
        if name in PROVIDERS and PROVIDERS[name].configured()
    ]
