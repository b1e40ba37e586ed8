"""Logging configuration: stderr, plain text or one JSON object per line, request ids."""

import logging
from typing import Any

from config.request_id import request_id_var

LOG_FORMATS = ("plain", "json")
PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s %(process)d [%(request_id)s] %(message)s"
# python-json-logger: these record attributes, renamed as below; `extra=` fields and
# exc_info (the formatted traceback) are added when present.
JSON_FIELDS = "{levelname}{name}{message}{process}{request_id}"
JSON_RENAMES = {"levelname": "level", "name": "logger"}


class RequestIdFilter(logging.Filter):
    """Stamps the current request id (config.request_id) on every record; None outside a
    request or task ("-" in plain text)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class PlainFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        if getattr(record, "request_id", None) is None:
            record.request_id = "-"
        return super().format(record)


def logging_config(*, level: str, log_format: str) -> dict[str, Any]:
    """The LOGGING dict of the settings; Celery workers and beat apply it too."""
    formatters: dict[str, dict[str, Any]] = {
        "plain": {"()": "config.logs.PlainFormatter", "format": PLAIN_FORMAT},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": JSON_FIELDS,
            "style": "{",
            "rename_fields": JSON_RENAMES,
            # ISO 8601 in UTC under "time" (the record's creation time).
            "timestamp": "time",
        },
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "config.logs.RequestIdFilter"}},
        "formatters": formatters,
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "INFO"},
            "celery": {"level": level},
        },
    }
