"""Atelier settings: one module, every value from the environment (see README)."""

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from corsheaders.defaults import default_headers as cors_default_headers
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_origins, env_str
from config.logs import LOG_FORMATS, logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

# pytest sets PYTEST_VERSION before anything is imported.
RUNNING_TESTS = "PYTEST_VERSION" in os.environ

# --- Core ---------------------------------------------------------------------------------

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not (DEBUG or RUNNING_TESTS):
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY, or DEBUG=true for a development key."
        )
    SECRET_KEY = "insecure-development-key-never-use-in-production-" + "x" * 20

ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] + (["*"] if DEBUG else [])
)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    # django.contrib.admin with a login form under the database rate limiter.
    "accounts.apps.AdminSiteConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "corsheaders",
    "config",
    "accounts",
    "accounts.webhooks",
    "quotes",
    "quotes.runs",
    "uploads",
    "rendering",
    "orders",
]

# Order matters for speed under ASGI, not only for behaviour: Django runs every
# async-capable middleware in async mode while the handler below it is async, and then each
# process_request/process_response is a thread hop. A sync-only middleware innermost
# (ApiErrorMiddleware) makes the whole chain run in one thread: measured 3.0 -> 1.3 ms p50
# for an empty view, 3.8 -> 2.4 ms for /api/ping (bench/README.md).
# CorsMiddleware is outermost, as django-cors-headers asks: every answer of the middleware
# below it (redirects, CommonMiddleware, WhiteNoise, errors) gets the CORS headers too.
# RequestIdMiddleware and MetricsMiddleware come next, before any middleware that can
# answer, so those answers carry X-Request-ID and are counted (they never answer
# themselves; a CORS preflight gets its X-Request-ID from the ASGI/WSGI wrapper). Both are
# sync-only, so they keep the chain in one thread.
# Sessions, CSRF, auth and messages are Django's, passed through under /api/ (the admin
# needs them, bearer calls never do): config.middleware._OutsideApi.
MIDDLEWARE = [
    "corsheaders.middleware.CorsMiddleware",
    "config.request_id.RequestIdMiddleware",
    "config.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "accounts.middleware.RateLimitHeadersMiddleware",
    "config.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "config.middleware.CsrfViewMiddleware",
    "config.middleware.AuthenticationMiddleware",
    "config.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.middleware.RequestTextMiddleware",
    "config.no_body.NoBodyMiddleware",
    "config.middleware.ApiErrorMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- CORS (browser apps on other origins) ------------------------------------------------

# Origins (scheme://host[:port]) whose pages may call /api/; empty: no Access-Control-*
# header is ever sent. Bearer tokens and X-Session-Id are headers, not cookies, so
# credentials (cookies) are never allowed cross-origin.
CORS_ALLOWED_ORIGINS = env_origins("CORS_ALLOWED_ORIGINS")
CORS_URLS_REGEX = r"^/api/"
CORS_ALLOW_HEADERS = (
    *cors_default_headers,
    "x-session-id",
    "idempotency-key",
    "last-event-id",
)
CORS_EXPOSE_HEADERS = (
    "retry-after",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "ratelimit",
    "ratelimit-policy",
    "idempotent-replayed",
    "x-request-id",
)

# --- Database -----------------------------------------------------------------------------

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'atelier.sqlite3'}")
DB_CONNECT_TIMEOUT_S = env_int("DB_CONNECT_TIMEOUT_S", 5)
# A pool per process keeps connections open between requests; under ASGI Django's own
# persistent connections (CONN_MAX_AGE) would leak one per worker thread, so PostgreSQL
# uses psycopg's pool and SQLite plain persistent connections. PostgreSQL's engine is
# Django's with a health check on checkout that polls the socket instead of sending a
# query (config/postgres/base.py): one round trip less per request.
DB_POOL_MAX = env_int("DB_POOL_MAX", 20)
# What sits between the processes and PostgreSQL: "" (nothing, or a session pooler) or
# "pgbouncer" (any pooler in transaction mode: PgBouncer, pgcat, Supavisor, RDS Proxy).
DATABASE_POOLERS = ("", "pgbouncer")
DATABASE_POOLER = env_str("DATABASE_POOLER").strip().lower()
if DATABASE_POOLER not in DATABASE_POOLERS:
    raise ImproperlyConfigured("DATABASE_POOLER must be empty or pgbouncer.")

_db = dj_database_url.parse(DATABASE_URL)
if _db["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend plus a refusal probe: a database that refuses connections is a 503
    # at once, not after DB_POOL_TIMEOUT_S (config/postgres/base.py).
    _db["ENGINE"] = "config.postgres"
    _db["CONN_MAX_AGE"] = 0
    # Off for the pool: the engine checks pooled connections itself, without a query.
    _db["CONN_HEALTH_CHECKS"] = False
    _db["OPTIONS"] = {
        "connect_timeout": DB_CONNECT_TIMEOUT_S,
        "pool": {
            "min_size": 1,
            "max_size": DB_POOL_MAX,
            "timeout": env_int("DB_POOL_TIMEOUT_S", 10),
        },
    }
    if env_bool("DB_POOL", True) is False:
        del _db["OPTIONS"]["pool"]
        _db["CONN_MAX_AGE"] = env_int("CONN_MAX_AGE", 60)
        _db["CONN_HEALTH_CHECKS"] = True  # the engine's is_usable: a socket poll
    if DATABASE_POOLER == "pgbouncer":
        # Behind a transaction pooler consecutive transactions of one connection may run on
        # different server connections, so nothing may outlive a transaction: no
        # server-side cursors (QuerySet.iterator() holds one across fetches) and no
        # prepared statements (psycopg prepares a query on its 5th run by default).
        # The code holds no other session state: no advisory locks (single-flight is a
        # lease row, config/locks.py), no LISTEN (wake-ups are Redis), only SET LOCAL.
        _db["DISABLE_SERVER_SIDE_CURSORS"] = True
        _db["OPTIONS"]["prepare_threshold"] = None
elif _db["ENGINE"] == "django.db.backends.sqlite3":
    Path(_db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    _db["CONN_MAX_AGE"] = env_int("CONN_MAX_AGE", 60)
    _db["CONN_HEALTH_CHECKS"] = True
    _db["OPTIONS"] = {
        # IMMEDIATE takes the write lock at BEGIN, so concurrent writers queue on
        # busy_timeout instead of failing with "database is locked" mid-transaction.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DATABASES = {"default": _db}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# --- Redis, cache, sessions ---------------------------------------------------------------

REDIS_URL = env_str("REDIS_URL")
REDIS_SOCKET_TIMEOUT_S = 2

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "socket_connect_timeout": REDIS_SOCKET_TIMEOUT_S,
                "socket_timeout": REDIS_SOCKET_TIMEOUT_S,
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "atelier_cache",
        }
    }

SESSION_ENGINE = "django.contrib.sessions.backends.db"

# --- Passwords ----------------------------------------------------------------------------

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- I18n, static -------------------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# Our own English formats (config/formats/en): timestamps to the second, ISO dates, so the
# admin's timelines tell apart events of the same minute and list columns stay narrow.
FORMAT_MODULE_PATH = ["config.formats"]
# The currency of every *_cents amount (prices, order totals); the admin shows "108.80 EUR".
CURRENCY = env_str("CURRENCY", "EUR")

STATIC_URL = "static/"
# WhiteNoise serves the admin's and the API docs' static files from the apps themselves,
# so no collectstatic step and no separate file server are needed; STATIC_ROOT only
# matters to an operator who runs collectstatic for a CDN.
STATIC_ROOT = env_str("STATIC_ROOT") or None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- Files and storage --------------------------------------------------------------------

MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "media/"
STORAGE_BACKEND = env_str("STORAGE_BACKEND", "local")
GCS_BUCKET = env_str("GCS_BUCKET")
# An emulator's URL (e.g. http://127.0.0.1:9023): API calls then go there unauthenticated
# and signed URLs point there; URLs are still signed with GOOGLE_CREDENTIALS_JSON's key.
GCS_ENDPOINT = env_str("GCS_ENDPOINT")
# A service-account key (JSON text): it authenticates and signs URLs itself. Unset: the
# Application Default Credentials, signing through the IAM signBlob API.
GOOGLE_CREDENTIALS_JSON = env_str("GOOGLE_CREDENTIALS_JSON")

if STORAGE_BACKEND == "local":
    # No explicit location: FileSystemStorage follows MEDIA_ROOT.
    _default_storage: dict[str, Any] = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
elif STORAGE_BACKEND == "gcs":
    if not GCS_BUCKET:
        raise ImproperlyConfigured("STORAGE_BACKEND=gcs needs GCS_BUCKET.")
    _default_storage = {
        "BACKEND": "uploads.gcs.PrivateGoogleCloudStorage",
        "OPTIONS": {"bucket_name": GCS_BUCKET},
    }
else:
    raise ImproperlyConfigured(f"STORAGE_BACKEND must be 'local' or 'gcs', not {STORAGE_BACKEND!r}")

STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- REST framework and OpenAPI -----------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["config.renderers.OrjsonRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "config.negotiation.FastContentNegotiation",
    # Strict JSON everywhere (config/parsers.py); the upload endpoint declares multipart.
    "DEFAULT_PARSER_CLASSES": ["config.parsers.JSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.BearerAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_PAGINATION_CLASS": "config.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "config.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "config.openapi.AutoSchema",
    # The "user"/"anon" rates apply to every view that does not list its own throttles
    # (one counter upsert per request; RATE_LIMIT_DEFAULTS=false turns them off).
    "DEFAULT_THROTTLE_CLASSES": (
        ["accounts.throttling.UserRateThrottle", "accounts.throttling.AnonRateThrottle"]
        if env_bool("RATE_LIMIT_DEFAULTS", True)
        else []
    ),
    "DEFAULT_THROTTLE_RATES": {
        "login_ip": env_str("RATE_LOGIN_IP", "30/min"),
        "login_email": env_str("RATE_LOGIN_EMAIL", "10/min"),
        "password_change": env_str("RATE_PASSWORD_CHANGE", "10/hour"),
        "password_change_ip": env_str("RATE_PASSWORD_CHANGE_IP", "30/hour"),
        # Not DRF views: the admin's login form counts these itself (accounts.admin_login).
        "admin_login_ip": env_str("RATE_ADMIN_LOGIN_IP", "10/min"),
        "admin_login_email": env_str("RATE_ADMIN_LOGIN_EMAIL", "5/min"),
        "register": env_str("RATE_REGISTER", "10/hour"),
        "uploads": env_str("RATE_UPLOADS", "60/hour"),
        "shared_quotes": env_str("RATE_SHARED_QUOTES", "60/min"),
        "user": env_str("RATE_USER", "1000/min"),
        "anon": env_str("RATE_ANON", "300/min"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Atelier API",
    "DESCRIPTION": "Quotes, quote runs, uploads, renders, accounts and orders.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Offline docs: assets from drf-spectacular-sidecar, no Swagger validator badge (an image
    # from validator.swagger.io), Redoc on system fonts (templates/atelier/redoc.html drops
    # its Google Fonts links).
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "REDOC_UI_SETTINGS": {
        "theme": {
            "typography": {
                "fontFamily": "system-ui, -apple-system, 'Segoe UI', sans-serif",
                "headings": {"fontFamily": "system-ui, -apple-system, 'Segoe UI', sans-serif"},
            }
        }
    },
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.openapi_plain_views.document_plain_views",
    ],
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "sessionId": {
                "type": "apiKey",
                "in": "header",
                "name": "X-Session-Id",
                "description": "Anonymous caller of quotes and quote runs: 16-128 characters "
                "of [A-Za-z0-9_-], chosen by the client and kept for the session.",
            }
        }
    },
    "TAGS": [
        {"name": "accounts", "description": "Register, log in, tokens, addresses, notifications."},
        {"name": "quotes", "description": "Credit schedule and quotes: create, read, use, expire."},
        {"name": "quote-runs", "description": "Quote runs across providers, streamed over SSE."},
        {"name": "uploads", "description": "Uploads, files and local signed storage URLs."},
        {"name": "rendering", "description": "Shops, quotas, room sessions and renders."},
        {"name": "orders", "description": "Products, orders, cancellation and tracking."},
        {"name": "webhooks", "description": "Webhook endpoints and their deliveries."},
        {"name": "health", "description": "Liveness and readiness probes."},
    ],
}

# --- Celery -------------------------------------------------------------------------------

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
# Without Redis (the embedded default) tasks run in-process right after the commit that
# enqueued them; with Redis they go to workers.
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT_S", 120)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT_S", 150)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A publish that cannot reach the broker fails fast so the API can answer 503.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": REDIS_SOCKET_TIMEOUT_S,
    "socket_timeout": REDIS_SOCKET_TIMEOUT_S,
    # Longer than the longest task, so acks_late redelivery never doubles a live task.
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT_S", 600),
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# How often beat rereads its schedule at most (0: django-celery-beat's 5 s).
CELERY_BEAT_MAX_LOOP_INTERVAL = env_int("BEAT_MAX_INTERVAL_S", 0)
# Task processes per worker (0: one per CPU); each may hold a database connection.
CELERY_WORKER_CONCURRENCY = env_int("WORKER_CONCURRENCY", 0) or None
# A worker's claim on a render job or quote run lasts this long (config/job_lease.py): longer
# than the hard time limit, so a live attempt never loses its job, and shorter than the
# visibility timeout, so a retry waiting for it is not redelivered meanwhile.
JOB_LEASE_S = env_int("JOB_LEASE_S", CELERY_TASK_TIME_LIMIT + 30)
CELERY_TIMEZONE = "UTC"

# --- Scheduled cleanups -------------------------------------------------------------------

# name -> (dotted path of a function returning {label: count}, interval in seconds).
# `cleanup_expired` runs them all; beat runs each on its interval, single-flight.
CLEANUPS = {
    "quotes": ("quotes.services.quote_cleanup", env_int("QUOTE_CLEANUP_INTERVAL_S", 300)),
    "quote_runs": (
        "quotes.runs.services.quote_run_cleanup",
        env_int("QUOTE_RUN_CLEANUP_INTERVAL_S", 300),
    ),
    "auth_sessions": (
        "accounts.services.auth.auth_session_cleanup",
        env_int("AUTH_SESSION_CLEANUP_INTERVAL_S", 3600),
    ),
    "rate_limits": (
        "accounts.ratelimit.rate_limit_cleanup",
        env_int("RATE_LIMIT_CLEANUP_INTERVAL_S", 3600),
    ),
    "anonymous_uploads": (
        "uploads.services.anonymous_upload_cleanup",
        env_int("ANONYMOUS_UPLOAD_CLEANUP_INTERVAL_S", 3600),
    ),
    "stuck_quote_runs": (
        "quotes.runs.services.quote_run_reap_stuck",
        env_int("QUOTE_RUN_REAPER_INTERVAL_S", 60),
    ),
    "stuck_renders": (
        "rendering.services.render_jobs.render_job_reap_stuck",
        env_int("RENDER_REAPER_INTERVAL_S", 60),
    ),
    "idempotency_keys": (
        "config.idempotency.idempotency_key_cleanup",
        env_int("IDEMPOTENCY_KEY_CLEANUP_INTERVAL_S", 3600),
    ),
    # Not a cleanup but the same machinery (single-flight, editable schedule): publishes
    # webhook deliveries that are due and whose task was lost or never published.
    "webhook_deliveries": (
        "accounts.webhooks.delivery.webhook_delivery_sweep",
        env_int("WEBHOOK_SWEEP_INTERVAL_S", 10),
    ),
    "webhook_events": (
        "accounts.webhooks.services.webhook_event_cleanup",
        env_int("WEBHOOK_EVENT_CLEANUP_INTERVAL_S", 3600),
    ),
    "cleanup_runs": (
        "config.cleanup.cleanup_run_prune",
        env_int("CLEANUP_RUN_PRUNE_INTERVAL_S", 3600),
    ),
}
# name -> dotted path of a function counting the rows a cleanup is due to handle right now;
# each recorded run (config.models.CleanupRun) keeps it as `found`, beside what it cleaned.
CLEANUP_BACKLOGS = {"quotes": "quotes.analytics.quote_cleanup_backlog"}
# How long the record of each cleanup run is kept (the staff dashboard's cleanup health).
CLEANUP_RUN_RETENTION = timedelta(days=env_int("CLEANUP_RUN_RETENTION_DAYS", 14))

# Single-flight lease of a cleanup whose runs are short and frequent (seconds; others: 10
# minutes). A run killed mid-way keeps the others out until its lease ends.
CLEANUP_LEASE_S = {"webhook_deliveries": env_int("WEBHOOK_SWEEP_LEASE_S", 60)}

# --- Idempotency keys ---------------------------------------------------------------------

# How long a key's answer is replayed (then the cleanup deletes it).
IDEMPOTENCY_KEY_TTL_S = env_int("IDEMPOTENCY_KEY_TTL_S", 24 * 3600)
# How long a running request holds its key; a holder that died frees it after this.
IDEMPOTENCY_LOCK_S = env_int("IDEMPOTENCY_LOCK_S", 60)

# --- Accounts -----------------------------------------------------------------------------

AUTH_SESSION_TTL = timedelta(seconds=env_int("AUTH_SESSION_TTL_S", 7 * 24 * 3600))
AUTH_SESSION_TOUCH_INTERVAL = timedelta(seconds=60)
# Rate-limit counters commit without waiting for the WAL flush (PostgreSQL); see README.
RATE_LIMIT_ASYNC_COMMIT = env_bool("RATE_LIMIT_ASYNC_COMMIT", True)
# Reverse proxies in front of the app that append to X-Forwarded-For; 0 = use the socket
# address (X-Forwarded-For from a client is never trusted by default).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)

# --- Webhooks -----------------------------------------------------------------------------

# Hosts (as written in the URL) allowed to resolve to loopback/private/link-local addresses.
WEBHOOK_ALLOWED_PRIVATE_HOSTS = [
    host.lower() for host in env_list("WEBHOOK_ALLOWED_PRIVATE_HOSTS", [])
]
# Retries: WEBHOOK_RETRY_BASE_S, doubling (+ up to 20 % jitter), at most
# WEBHOOK_RETRY_MAX_DELAY_S apart, until WEBHOOK_RETRY_WINDOW_S after the event.
WEBHOOK_RETRY_BASE_S = env_int("WEBHOOK_RETRY_BASE_S", 5)
WEBHOOK_RETRY_MAX_DELAY_S = env_int("WEBHOOK_RETRY_MAX_DELAY_S", 3600)
WEBHOOK_RETRY_WINDOW_S = env_int("WEBHOOK_RETRY_WINDOW_S", 24 * 3600)
# Deliveries failed for good in a row (no success between) that disable a webhook.
WEBHOOK_DISABLE_AFTER = env_int("WEBHOOK_DISABLE_AFTER", 20)
WEBHOOK_CONNECT_TIMEOUT_S = env_int("WEBHOOK_CONNECT_TIMEOUT_S", 3)
WEBHOOK_READ_TIMEOUT_S = env_int("WEBHOOK_READ_TIMEOUT_S", 10)
# One attempt, all included (the delivery task's soft time limit; the hard one is 5 s more).
WEBHOOK_ATTEMPT_MAX_S = env_int("WEBHOOK_ATTEMPT_MAX_S", 30)
# An attempt's claim on its delivery; a worker that died frees it after this.
WEBHOOK_LEASE_S = env_int("WEBHOOK_LEASE_S", 60)
if WEBHOOK_LEASE_S < WEBHOOK_ATTEMPT_MAX_S + 10:
    raise ImproperlyConfigured(
        "WEBHOOK_LEASE_S must be at least WEBHOOK_ATTEMPT_MAX_S + 10, so a live attempt "
        "(killed by its time limit at WEBHOOK_ATTEMPT_MAX_S + 5) never loses its lease."
    )
if WEBHOOK_ATTEMPT_MAX_S < WEBHOOK_CONNECT_TIMEOUT_S + WEBHOOK_READ_TIMEOUT_S:
    raise ImproperlyConfigured(
        "WEBHOOK_ATTEMPT_MAX_S must be at least WEBHOOK_CONNECT_TIMEOUT_S + WEBHOOK_READ_TIMEOUT_S."
    )
WEBHOOK_RESPONSE_MAX_BYTES = env_int("WEBHOOK_RESPONSE_MAX_BYTES", 64 * 1024)
# The sweep republishes a due delivery whose task has not run within this long (lost).
WEBHOOK_REQUEUE_AFTER_S = env_int("WEBHOOK_REQUEUE_AFTER_S", 300)
WEBHOOK_SWEEP_BATCH = env_int("WEBHOOK_SWEEP_BATCH", 500)
WEBHOOK_EVENT_RETENTION = timedelta(days=env_int("WEBHOOK_EVENT_RETENTION_DAYS", 30))
WEBHOOK_MAX_PER_USER = env_int("WEBHOOK_MAX_PER_USER", 20)

# --- Quotes -------------------------------------------------------------------------------

QUOTE_RETENTION = timedelta(days=env_int("QUOTE_RETENTION_DAYS", 30))
# Rows per cleanup statement: small enough that no batch holds locks for long.
QUOTE_CLEANUP_BATCH_SIZE = env_int("QUOTE_CLEANUP_BATCH_SIZE", 1000)
QUOTE_RUN_RETENTION = timedelta(seconds=env_int("QUOTE_RUN_RETENTION_S", 2 * 3600))
# PostgreSQL: events are partitioned by their run's creation time, one partition per this
# many seconds, made this many ahead by the quote-run cleanup (quotes/runs/partitions.py).
QUOTE_RUN_EVENT_PARTITION_S = env_int("QUOTE_RUN_EVENT_PARTITION_S", 3600)
QUOTE_RUN_EVENT_PARTITIONS_AHEAD = env_int("QUOTE_RUN_EVENT_PARTITIONS_AHEAD", 6)
if QUOTE_RUN_EVENT_PARTITION_S < 60 or QUOTE_RUN_EVENT_PARTITIONS_AHEAD < 0:
    raise ImproperlyConfigured(
        "QUOTE_RUN_EVENT_PARTITION_S must be >= 60 and QUOTE_RUN_EVENT_PARTITIONS_AHEAD >= 0"
    )
QUOTE_PROVIDERS = env_list("QUOTE_PROVIDERS", ["standard", "priority", "bulk"])
QUOTE_HTTP_PROVIDER_URL = env_str("QUOTE_HTTP_PROVIDER_URL")
QUOTE_HTTP_PROVIDER_TIMEOUT_S = float(env_str("QUOTE_HTTP_PROVIDER_TIMEOUT_S", "5"))
QUOTE_HTTP_PROVIDER_RETRIES = env_int("QUOTE_HTTP_PROVIDER_RETRIES", 2)
SSE_KEEPALIVE_S = env_int("SSE_KEEPALIVE_S", 15)
# The reconnection delay a stream tells EventSource (its first line, `retry: <ms>`).
SSE_RETRY_MS = env_int("SSE_RETRY_MS", 1000)
SSE_POLL_INTERVAL_S = 0.25
# The stream process freezes its surviving objects this often, so that no full garbage
# collection pauses it while its heap is steady (config/gc_policy.py); 0: CPython's own.
GC_FREEZE_INTERVAL_S = env_int("GC_FREEZE_INTERVAL_S", 0 if RUNNING_TESTS else 1)
# Redis for stream wake-ups; defaults to REDIS_URL, empty disables pub/sub (streams poll).
QUOTE_RUN_PUBSUB_URL = env_str("QUOTE_RUN_PUBSUB_URL", REDIS_URL)
# Simulated per-file pricing work of the built-in providers (makes progress observable).
QUOTE_RUN_PROVIDER_STEP_S = float(env_str("QUOTE_RUN_PROVIDER_STEP_S", "0.05"))
QUOTE_RUN_PRIORITY_MULTIPLIER = float(env_str("QUOTE_RUN_PRIORITY_MULTIPLIER", "1.5"))
QUOTE_RUN_BULK_MIN_FILES = env_int("QUOTE_RUN_BULK_MIN_FILES", 5)
QUOTE_RUN_BULK_DISCOUNT_PERCENT = env_int("QUOTE_RUN_BULK_DISCOUNT_PERCENT", 20)
QUOTE_RUN_MAX_ATTEMPTS = env_int("QUOTE_RUN_MAX_ATTEMPTS", 3)
# The reaper publishes the task again for a run that had no live attempt this long (a lost
# message; longer than the broker's visibility timeout, so its redelivery comes first); it
# fails only runs whose QUOTE_RUN_MAX_ATTEMPTS attempts all died.
QUOTE_RUN_STUCK_AFTER = timedelta(seconds=env_int("QUOTE_RUN_STUCK_AFTER_S", 600))

# --- Uploads ------------------------------------------------------------------------------

MAX_UPLOAD_BYTES = env_int("MAX_UPLOAD_BYTES", 20 * 1024 * 1024)
MAX_IMAGE_PIXELS = env_int("MAX_IMAGE_PIXELS", 50_000_000)
UPLOAD_ALLOWED_TYPES = env_list("UPLOAD_ALLOWED_TYPES", ["image/jpeg", "image/png", "image/webp"])
ANONYMOUS_UPLOADS = env_bool("ANONYMOUS_UPLOADS", False)
ANONYMOUS_UPLOAD_RETENTION = timedelta(hours=env_int("ANONYMOUS_UPLOAD_RETENTION_H", 24))
SIGNED_URL_TTL = timedelta(seconds=env_int("SIGNED_URL_TTL_S", 3600))
# Bodies above this go to a temporary file instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# Every body except an upload's (config/body_limits.py); Django's own check of request.body
# and form data says the same.
MAX_JSON_BODY_BYTES = env_int("MAX_JSON_BODY_BYTES", 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_JSON_BODY_BYTES

# --- Rendering ----------------------------------------------------------------------------

DEFAULT_DAILY_RENDER_QUOTA = env_int("DEFAULT_DAILY_RENDER_QUOTA", 100)
# The reaper publishes the task again for a job that had no live attempt this long (a lost
# message); it fails only jobs whose RENDER_MAX_ATTEMPTS attempts all died.
RENDER_STUCK_AFTER = timedelta(seconds=env_int("RENDER_STUCK_AFTER_S", 600))
RENDER_MAX_ATTEMPTS = env_int("RENDER_MAX_ATTEMPTS", 3)
ROOM_IMAGE_MAX_SIDE = env_int("ROOM_IMAGE_MAX_SIDE", 4096)

# --- Security (production values unless DEBUG) --------------------------------------------

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG and not RUNNING_TESTS)
# Probes and scrapes come over plain HTTP from inside the network.
SECURE_REDIRECT_EXEMPT = [r"^api/ping$", r"^api/health/", r"^metrics$"]
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG and not RUNNING_TESTS)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# security.W003 looks for Django's CsrfViewMiddleware by its exact path; the subclass in
# config.middleware is checked by config.checks instead.
SILENCED_SYSTEM_CHECKS = ["security.W003", *env_list("SILENCED_SYSTEM_CHECKS", [])]

# --- Logging ------------------------------------------------------------------------------

LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOG_FORMAT = env_str("LOG_FORMAT", "plain").strip().lower()
if LOG_FORMAT not in LOG_FORMATS:
    raise ImproperlyConfigured(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}.")
# One line per answered request (method, path, route, status, duration, request id).
LOG_REQUESTS = env_bool("LOG_REQUESTS", True)
LOGGING = logging_config(level=LOG_LEVEL, log_format=LOG_FORMAT)

# --- Metrics ------------------------------------------------------------------------------

# Bearer token GET /metrics requires when set (empty: open, e.g. behind a private network).
METRICS_TOKEN = env_str("METRICS_TOKEN")
# A Celery worker serves its own /metrics on this port when set (its tasks' figures).
WORKER_METRICS_PORT = env_int("WORKER_METRICS_PORT", 0)
