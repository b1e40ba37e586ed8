"""Operators' tools: cleanup_expired, beat schedules, the first admin, the OpenAPI schema."""

import json

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from config.celery import app as celery_app
from config.locks import single_flight
from config.schedules import ensure_cleanup_schedules

DEMO_CLEANUPS = {"demo": ("tests.config.test_operations.demo_cleanup", 42)}


def demo_cleanup() -> dict[str, int]:
    return {"removed": 3, "kept": 1}


@pytest.mark.django_db
def test_cleanup_expired_runs_each_registered_cleanup_and_prints_counts(settings, capsys):
    settings.CLEANUPS = DEMO_CLEANUPS

    call_command("cleanup_expired")

    assert capsys.readouterr().out.strip() == "demo: removed=3, kept=1"


@pytest.mark.django_db
def test_cleanup_expired_skips_a_cleanup_running_elsewhere(settings, capsys):
    settings.CLEANUPS = DEMO_CLEANUPS

    with single_flight("cleanup:demo") as acquired:
        assert acquired
        call_command("cleanup_expired", "demo")

    assert "demo: skipped" in capsys.readouterr().out


@pytest.mark.django_db
def test_every_registered_cleanup_is_importable_and_returns_counts(settings):
    from django.utils.module_loading import import_string

    for name, (path, interval_s) in settings.CLEANUPS.items():
        assert interval_s > 0, name
        counts = import_string(path)()
        assert isinstance(counts, dict), name
        assert all(isinstance(value, int) for value in counts.values()), (name, counts)


@pytest.mark.django_db
def test_beat_schedules_are_created_once_and_staff_edits_survive(settings):
    # given: a registered cleanup without a schedule
    settings.CLEANUPS = DEMO_CLEANUPS
    PeriodicTask.objects.filter(name="cleanup: demo").delete()

    # when
    ensure_cleanup_schedules()
    # then: an interval task of that cleanup
    task = PeriodicTask.objects.get(name="cleanup: demo")
    assert task.task == "config.cleanup"
    assert json.loads(task.kwargs) == {"name": "demo"}
    assert task.interval.every == 42

    # when: staff disable it, and the schedules are ensured again
    task.enabled = False  # a staff edit in the admin
    task.save()
    ensure_cleanup_schedules()

    # then: still one task, and the edit survives
    assert PeriodicTask.objects.filter(name="cleanup: demo").count() == 1
    assert PeriodicTask.objects.get(name="cleanup: demo").enabled is False


@pytest.mark.django_db
def test_ensure_admin_creates_one_staff_user_with_a_printed_password(capsys):
    from accounts.models import User

    call_command("ensure_admin")
    first = capsys.readouterr().out
    call_command("ensure_admin")
    second = capsys.readouterr().out

    password = first.split("password: ")[1].split()[0]
    admin = User.objects.get(email="admin@example.com")
    assert admin.is_staff
    assert admin.is_superuser
    assert admin.check_password(password)
    assert "nothing to do" in second


def test_celery_is_json_only_and_acks_late():
    conf = celery_app.conf
    celery_app.autodiscover_tasks(force=True)

    assert conf.task_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.task_time_limit > conf.task_soft_time_limit > 0
    assert "config.cleanup" in celery_app.tasks


@pytest.mark.django_db
def test_openapi_schema_generates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"

    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(out))

    assert "/api/ping" in out.read_text()


def lease_seconds_during_run() -> dict[str, int]:
    from config.models import SchedulerLease

    lease = SchedulerLease.objects.get(name="cleanup:demo")
    return {"lease_s": round((lease.expires_at - lease.acquired_at).total_seconds())}


@pytest.mark.django_db
def test_a_cleanup_may_have_a_shorter_single_flight_lease(settings):
    from config.cleanup import cleanup_run

    settings.CLEANUPS = {"demo": ("tests.config.test_operations.lease_seconds_during_run", 42)}
    settings.CLEANUP_LEASE_S = {}
    assert cleanup_run(name="demo") == {"lease_s": 600}

    settings.CLEANUP_LEASE_S = {"demo": 7}
    assert cleanup_run(name="demo") == {"lease_s": 7}
