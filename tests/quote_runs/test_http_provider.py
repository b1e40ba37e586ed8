"""The http provider against a real local HTTP server: answers, timeouts, garbage, retries."""

import time

import pytest

from quotes.runs.models import QuoteRunEvent, QuoteRunStatus
from quotes.runs.providers import HttpProvider, Offer, ProviderError
from quotes.runs.services import quote_run_execute
from tests.quote_runs.factories import QuoteRunFactory, job_files

JOB = {"files": job_files(3), "ops": {"upscale": True}}


def quote(settings, provider_server, behaviour: str) -> Offer:
    settings.QUOTE_HTTP_PROVIDER_URL = provider_server.url(behaviour)
    return HttpProvider().quote(run_id="r-1", job=JOB, progress=lambda *_: None)


def test_answering_server_gives_its_offer_and_receives_the_job(settings, provider_server):
    offer = quote(settings, provider_server, "answer")

    assert offer == Offer(credits_total=21, eta_seconds=42)
    [(path, body)] = provider_server.requests
    assert path == "/answer"
    assert body == {"run_id": "r-1", "files": JOB["files"], "ops": JOB["ops"]}


def test_timing_out_server_fails_after_the_bounded_retries(settings, provider_server):
    settings.QUOTE_HTTP_PROVIDER_TIMEOUT_S = 0.3
    settings.QUOTE_HTTP_PROVIDER_RETRIES = 1
    started = time.monotonic()

    with pytest.raises(ProviderError, match="timed out"):
        quote(settings, provider_server, "slow")

    assert provider_server.count("slow") == 2
    assert time.monotonic() - started < 1.5  # two 0.3 s timeouts and one backoff


@pytest.mark.parametrize("behaviour", ["garbage", "garbage-json"])
def test_garbage_answer_fails_without_retrying(settings, provider_server, behaviour):
    settings.QUOTE_HTTP_PROVIDER_RETRIES = 3

    with pytest.raises(ProviderError, match="invalid answer"):
        quote(settings, provider_server, behaviour)

    assert provider_server.count(behaviour) == 1


def test_client_error_answer_is_final(settings, provider_server):
    with pytest.raises(ProviderError, match="HTTP 400"):
        quote(settings, provider_server, "rejects")

    assert provider_server.count("rejects") == 1


def test_server_errors_are_retried_until_an_answer(settings, provider_server):
    settings.QUOTE_HTTP_PROVIDER_RETRIES = 2

    assert quote(settings, provider_server, "flaky") == Offer(credits_total=21, eta_seconds=42)
    assert provider_server.count("flaky") == 3


def test_unreachable_server_fails(settings):
    settings.QUOTE_HTTP_PROVIDER_URL = "http://127.0.0.1:9/nothing-listens"
    settings.QUOTE_HTTP_PROVIDER_RETRIES = 1

    with pytest.raises(ProviderError, match="request failed"):
        HttpProvider().quote(run_id="r", job=JOB, progress=lambda *_: None)


@pytest.mark.django_db
def test_run_goes_on_when_the_http_provider_fails(settings, provider_server):
    settings.QUOTE_HTTP_PROVIDER_URL = provider_server.url("slow")
    settings.QUOTE_HTTP_PROVIDER_TIMEOUT_S = 0.2
    settings.QUOTE_HTTP_PROVIDER_RETRIES = 0
    run = QuoteRunFactory(providers=["http", "standard"])

    run = quote_run_execute(run_id=run.id)

    failed = QuoteRunEvent.objects.get(run=run, type="provider.failed")
    assert failed.data["provider"] == "http"
    assert "timed out" in failed.data["error"]
    assert run.status == QuoteRunStatus.COMPLETED
    assert [offer["provider"] for offer in run.result["offers"]] == ["standard"]


@pytest.mark.django_db
def test_http_offer_is_ranked_with_the_built_in_ones(settings, provider_server):
    settings.QUOTE_HTTP_PROVIDER_URL = provider_server.url("answer")
    run = QuoteRunFactory(providers=["standard", "http"], file_count=2)

    run = quote_run_execute(run_id=run.id)

    offers = run.result["offers"]
    assert offers[0] == {"provider": "http", "credits_total": 14, "eta_seconds": 42}
    assert [offer["provider"] for offer in offers] == ["http", "standard"]
