"""Error reports to Sentry (only when SENTRY_DSN is set), with no secret in them.

Defence in depth, each layer enough on its own for what it covers:
1. What is never collected (sentry-sdk 3's `data_collection`, which collects
   almost everything unless told otherwise): frame local variables (a
   traceback inside the wizard would otherwise carry the pasted token),
   request bodies, cookies, query strings, users' e-mail addresses and IPs,
   SQL parameters and queue messages; of the request headers only a short
   allowlist (never `Authorization`, `X-Auth-Token`, `Cookie`).
2. `before_send` / `before_breadcrumb` walk the whole event: a value under a
   key that names a secret (authorization, x-auth-token, password, secret,
   token, cookie, fernet, dsn…) becomes "[Filtered]", and every string has
   credential-shaped fragments (`Authorization: Bearer …`, `password=…`)
   and the deployment's own secrets (SECRET_KEY, FERNET_KEYS, the mail
   password, METRICS_TOKEN) replaced.
`tests/config/test_sentry.py` builds real events with sentry_sdk, a stub
transport capturing what would be sent, and looks for every secret.
"""

from __future__ import annotations

import re
from typing import Any

FILTERED = "[Filtered]"
SECRET_KEY_NAMES = re.compile(
    r"(?i)(authorization|auth[-_]?token|x[-_]auth|password|passwd|secret|token|cookie|session|csrf|fernet|api[-_]?key|"
    r"credential|dsn|signature)"
)


def _known_secrets() -> list[str]:
    from django.conf import settings

    values = [settings.SECRET_KEY, *settings.FERNET_KEYS]
    values += [getattr(settings, "EMAIL_HOST_PASSWORD", ""), getattr(settings, "METRICS_TOKEN", "")]
    return sorted({v for v in values if v and len(v) >= 6}, key=len, reverse=True)


def _scrub_string(text: str, secrets: list[str]) -> str:
    from config.logging import redact

    for secret in secrets:
        if secret in text:
            text = text.replace(secret, FILTERED)
    return redact(text)


def scrub(value: Any, secrets: list[str], *, key: str = "") -> Any:
    if key and SECRET_KEY_NAMES.search(key):
        return FILTERED if value not in (None, "", [], {}) else value
    if isinstance(value, str):
        return _scrub_string(value, secrets)
    if isinstance(value, dict):
        return {k: scrub(v, secrets, key=str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        # Headers arrive as [name, value] pairs too.
        if len(value) == 2 and isinstance(value[0], str) and SECRET_KEY_NAMES.search(value[0]):
            return [value[0], FILTERED]
        return [scrub(v, secrets) for v in value]
    return value


def before_send(event: dict, hint: dict | None = None) -> dict:
    return scrub(event, _known_secrets())


def before_breadcrumb(crumb: dict, hint: dict | None = None) -> dict:
    return scrub(crumb, _known_secrets())


# sentry-sdk 3: every category is named, so a new default in a later 3.x
# collects nothing here until someone decides it should.
DATA_COLLECTION: dict[str, Any] = {
    "user_info": False,  # no e-mail, username or IP address
    "cookies": {"mode": "off"},  # the session and CSRF cookies
    # Only these request headers; the SDK also filters sensitive names inside an allowlist.
    "http_headers": {"request": {"mode": "allowlist", "terms": ["user-agent", "accept", "content-type"]}},
    "http_bodies": [],  # no request body (the wizard's POST carries the token and secret)
    "url_query_params": {"mode": "off"},  # invitation and reset tokens travel in URLs
    "stack_frame_variables": False,  # a frame in the wizard holds the pasted token
    "database_query_data": False,  # SQL parameters (ciphertexts, e-mail addresses)
    "queues": False,  # message bodies
    "graphql": {"document": False, "variables": False},
    "gen_ai": {"inputs": False, "outputs": False},
    "mcp": {"inputs": False, "outputs": False},
}


def options(dsn: str, **extra: Any) -> dict[str, Any]:
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    return {
        "dsn": dsn,
        "integrations": [DjangoIntegration(), CeleryIntegration()],
        "data_collection": DATA_COLLECTION,
        "max_request_body_size": "never",
        "before_send": before_send,
        "before_breadcrumb": before_breadcrumb,
        **extra,
    }


def init(dsn: str, **extra: Any) -> None:
    import sentry_sdk

    sentry_sdk.init(**options(dsn, **extra))
