"""Logs: plain lines in development, one JSON object a line in production
(python-json-logger), each line carrying what it is about.

`bind(store_hash=…)` puts fields in a context variable for the rest of the
current task, thread or asyncio task (each of the fleet's concurrent checks
runs in its own asyncio task, so its lines carry its own store); `ContextFilter`
copies them onto every record. A Celery task's id and name are bound for the
length of the task (`config/celery.py`), a request's client address and route
for the length of the request (`RequestLogMiddleware`).

Never a secret: only identifiers are bound, the request log names the route
pattern (never the path, which may carry an invitation or password-reset
token, nor the query string), and `SecretFilter` replaces anything shaped like
a credential header or `password=` on the way out, as a last line of defence.
"""

from __future__ import annotations

import contextvars
import logging
import re
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

_context: contextvars.ContextVar[dict[str, object] | None] = contextvars.ContextVar("violet_log_context", default=None)

# Fields a line may carry; anything else given to bind() is refused.
FIELDS = ("store_hash", "check_id", "task_id", "task", "client_ip", "route", "method", "status", "duration_ms")


def bind(**fields: object) -> contextvars.Token:
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise ValueError(f"not a log field: {sorted(unknown)}")
    return _context.set({**(_context.get() or {}), **fields})


def unbind(token: contextvars.Token) -> None:
    _context.reset(token)


def clear() -> None:
    _context.set({})


@contextmanager
def bound(**fields: object):
    token = bind(**fields)
    try:
        yield
    finally:
        unbind(token)


class ContextFilter(logging.Filter):
    """Copy the bound fields onto the record (a field given with `extra=` wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (_context.get() or {}).items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


_SECRET_SHAPES = [
    # Authorization: Bearer xyz / X-Auth-Token: xyz / password=xyz / client_secret: xyz
    re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?(?:bearer|basic|token)?\s*)[^\s'\",}]+"),
    re.compile(
        r"(?i)((?:x-auth-token|access_token|client_secret|password|secret_key|fernet_keys)['\"]?\s*[:=]\s*['\"]?)"
        r"[^\s'\",}]+"
    ),
    # A link's token in a path (Django logs a 4xx with its path: "Gone: /invitations/<token>/").
    re.compile(r"(/(?:invitations|verify-email|account/two-factor/link|password-reset/[^/\s'\"]+)/)[^/\s'\",}]+"),
]


def redact(text: str) -> str:
    for shape in _SECRET_SHAPES:
        text = shape.sub(r"\1[redacted]", text)
    return text


class SecretFilter(logging.Filter):
    """Render the message once, with anything credential-shaped replaced."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def iso_time(record: logging.LogRecord) -> str:
    """The record's time in ISO 8601 with its zone: `2026-12-07T16:29:18.123+00:00`
    (UTC, so lines from every machine sort and compare as they are)."""
    return datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds")


class PlainFormatter(logging.Formatter):
    """Development lines: `%(asctime)s` in ISO 8601 with its zone."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 - logging's name
        return iso_time(record)


def json_formatter():
    """python-json-logger's formatter with the fields every line carries, its
    `time` in ISO 8601 with its zone."""
    from pythonjsonlogger.json import JsonFormatter

    class Formatter(JsonFormatter):
        def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
            return iso_time(record)

    return Formatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s %(process)d",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger", "process": "pid"},
        timestamp=False,
    )


def logging_config(*, json_lines: bool, level: str) -> dict:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "context": {"()": "config.logging.ContextFilter"},
            "secrets": {"()": "config.logging.SecretFilter"},
        },
        "formatters": {
            "plain": {"()": "config.logging.PlainFormatter", "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s"},
            "json": {"()": "config.logging.json_formatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json" if json_lines else "plain",
                "filters": ["context", "secrets"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "INFO"},
            # gunicorn's own lines through the same handler (its access log is off:
            # RequestLogMiddleware writes one line a request, with the client address).
            "gunicorn.error": {"handlers": ["console"], "level": level, "propagate": False},
        },
    }


request_logger = logging.getLogger("violet.request")


class RequestLogMiddleware:
    """One line a request: method, route pattern, status, time, and the client
    address from `config.client_address.client_ip` (the same the throttles use)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from config.client_address import client_ip

        began = time.perf_counter()
        token = bind(client_ip=client_ip(request), method=request.method)
        try:
            response = self.get_response(request)
            match = getattr(request, "resolver_match", None)
            route = ("/" + match.route) if match is not None and match.route else "(unresolved)"
            request_logger.info(
                "%s %s %s",
                request.method,
                route,
                response.status_code,
                extra={
                    "route": route,
                    "status": response.status_code,
                    "duration_ms": int((time.perf_counter() - began) * 1000),
                },
            )
            return response
        finally:
            unbind(token)


check_logger = logging.getLogger("violet.checks")


def checks_recorded(checks) -> None:
    """One line a recorded check, carrying its store hash and check id."""
    for check in checks:
        check_logger.info(
            "check %s of store %s: %s (%s, %d ms)",
            check.pk,
            check.store.store_hash,
            check.outcome,
            check.trigger,
            check.duration_ms,
            extra={"store_hash": check.store.store_hash, "check_id": check.pk},
        )
