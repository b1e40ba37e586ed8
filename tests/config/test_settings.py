"""Settings come from the environment only, with safe defaults and a refusal to run unsafely."""

import os
import secrets
import subprocess
import sys

from tests.e2e.harness import REPO_ROOT


def run_django(code: str, **env: str) -> subprocess.CompletedProcess:
    """Import the settings in a fresh interpreter with exactly this environment."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    for key in ("SECRET_KEY", "DEBUG", "DATABASE_URL", "REDIS_URL", "STORAGE_BACKEND"):
        clean.pop(key, None)
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=REPO_ROOT,
        env={"DJANGO_SETTINGS_MODULE": "config.settings", **clean},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_refuses_to_start_without_secret_key_unless_debug():
    refused = run_django("print('started')", DEBUG="false")
    allowed = run_django("print('started')", DEBUG="true")

    assert refused.returncode != 0
    assert "SECRET_KEY is not set" in refused.stderr
    assert allowed.returncode == 0, allowed.stderr


def test_embedded_default_is_sqlite_database_cache_and_eager_celery(tmp_path):
    code = (
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CACHES['default']['BACKEND'], "
        "s.CELERY_TASK_ALWAYS_EAGER, s.STORAGES['default']['BACKEND'])"
    )
    result = run_django(code, DEBUG="true", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "django.core.cache.backends.db.DatabaseCache",
        "True",
        "django.core.files.storage.FileSystemStorage",
    ]


def test_production_services_come_from_the_environment():
    code = (
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CACHES['default']['BACKEND'], "
        "s.CELERY_TASK_ALWAYS_EAGER, s.CELERY_BROKER_URL, "
        "'pool' in s.DATABASES['default']['OPTIONS'])"
    )
    result = run_django(
        code,
        SECRET_KEY=secrets.token_urlsafe(50),
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/atelier",
        REDIS_URL="redis://127.0.0.1:6379/0",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "config.postgres",
        "django.core.cache.backends.redis.RedisCache",
        "False",
        "redis://127.0.0.1:6379/0",
        "True",
    ]


def test_deploy_check_is_clean_with_production_like_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO_ROOT,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("PYTEST")},
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DEBUG": "false",
            "ALLOWED_HOSTS": "atelier.example.com",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_bad_boolean_is_a_clear_configuration_error():
    result = run_django("print('started')", DEBUG="maybe")

    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr


def test_innermost_middleware_is_sync_only_so_asgi_runs_the_chain_in_one_thread():
    """An async-capable innermost middleware would put every middleware of the chain in
    async mode, a thread hop per process_request/process_response (see settings)."""
    from django.conf import settings
    from django.utils.module_loading import import_string

    innermost = import_string(settings.MIDDLEWARE[-1])

    assert getattr(innermost, "async_capable", False) is False
    assert getattr(innermost, "sync_capable", True) is True


def test_cors_middleware_is_outermost_so_every_answer_gets_its_headers():
    """django-cors-headers: as high as possible, before any middleware that can answer
    (CommonMiddleware, WhiteNoise, the HTTPS redirect); the innermost stays sync-only."""
    from django.conf import settings

    middleware = settings.MIDDLEWARE

    assert middleware[0] == "corsheaders.middleware.CorsMiddleware"
    assert middleware.index("corsheaders.middleware.CorsMiddleware") < middleware.index(
        "django.middleware.common.CommonMiddleware"
    )
    assert middleware[-1] == "config.middleware.ApiErrorMiddleware"


def test_behind_pgbouncer_no_state_outlives_a_transaction():
    code = (
        "from django.conf import settings as s; d = s.DATABASES['default']; "
        "print(d.get('DISABLE_SERVER_SIDE_CURSORS', False), "
        "d['OPTIONS'].get('prepare_threshold', 'default'))"
    )
    env = {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": "postgres://postgres@127.0.0.1:6432/atelier",
    }

    pooled = run_django(code, DATABASE_POOLER="pgbouncer", **env)
    direct = run_django(code, **env)
    unknown = run_django(code, DATABASE_POOLER="pgpool", **env)

    assert pooled.returncode == 0, pooled.stderr
    assert pooled.stdout.split() == ["True", "None"]
    assert direct.stdout.split() == ["False", "default"]
    assert unknown.returncode != 0
    assert "DATABASE_POOLER must be empty or pgbouncer" in unknown.stderr
