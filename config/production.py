"""What production refuses: development stand-ins that cannot work across machines.

In development the portal falls back to kombu's filesystem transport, a
per-process cache, console e-mail and a loopback address. On more than one
machine each of those fails silently: web and workers never share a queue,
every throttle is multiplied by the number of processes, notifications are
printed and recorded as delivered, and links (and the webhook address given
to BigCommerce) point at 127.0.0.1. `problems()` names each one; the settings
refuse to start while there is any.

Pure functions of the environment's strings, so they are tested without Django.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

import environ

# Present, non-empty: the secrets and the database.
REQUIRED = ("SECRET_KEY", "FERNET_KEYS", "ALLOWED_HOSTS", "DATABASE_URL")
# Present and pointing at something shared by every machine.
SHARED_SERVICES = ("CELERY_BROKER_URL", "CACHE_URL", "EMAIL_URL", "PUBLIC_BASE_URL")

BROKER_SCHEMES = ("redis", "rediss", "amqp", "amqps", "pyamqp")
SHARED_CACHE_BACKENDS = ("django.core.cache.backends.redis.RedisCache", "django_redis.cache.RedisCache")
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"

WHAT_IS_WANTED = {
    "CELERY_BROKER_URL": "a broker every machine shares: redis://, rediss://, amqp:// or amqps://",
    "CACHE_URL": "a cache every web process shares: redis:// or rediss://",
    "EMAIL_URL": "a mail server: smtp://, smtp+tls:// or smtps://",
    "PUBLIC_BASE_URL": "the portal's public https:// address",
}


def _scheme(value: str) -> str:
    return urlsplit(value).scheme.lower()


def _broker_ok(value: str) -> bool:
    # Celery accepts "url1;url2" for failover: every one must be a real broker.
    urls = [url.strip() for url in value.split(";") if url.strip()]
    return bool(urls) and all(_scheme(url) in BROKER_SCHEMES and urlsplit(url).hostname for url in urls)


def _cache_ok(value: str) -> bool:
    try:
        config = environ.Env.cache_url_config(value)
    except Exception:  # an unknown scheme: not a shared cache
        return False
    return config.get("BACKEND") in SHARED_CACHE_BACKENDS


def _email_ok(value: str) -> bool:
    try:
        config = environ.Env.email_url_config(value)
    except Exception:  # an unknown scheme: not a mail server
        return False
    return config.get("EMAIL_BACKEND") == SMTP_BACKEND and bool(config.get("EMAIL_HOST"))


def _public_url_ok(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme == "https" and bool(parts.hostname) and parts.hostname not in {"localhost", "127.0.0.1", "::1"}


CHECKS = {
    "CELERY_BROKER_URL": _broker_ok,
    "CACHE_URL": _cache_ok,
    "EMAIL_URL": _email_ok,
    "PUBLIC_BASE_URL": _public_url_ok,
}


def problems(environment: Mapping[str, str]) -> list[str]:
    """One line per variable production cannot start with; empty when all is well.

    Never echoes a value: a URL may carry a password.
    """
    found = []
    for name in REQUIRED:
        if not environment.get(name, "").strip():
            found.append(f"{name} (not set)")
    for name in SHARED_SERVICES:
        value = environment.get(name, "").strip()
        if not value:
            found.append(f"{name} (not set; wants {WHAT_IS_WANTED[name]})")
        elif not CHECKS[name](value):
            shown = _scheme(value) or "no scheme"
            found.append(f"{name} (a {shown}:// address; wants {WHAT_IS_WANTED[name]})")
    return found


def refusal(found: list[str]) -> str:
    return (
        "DJANGO_ENV=production refuses to start without these environment variables: "
        + "; ".join(found)
        + ". See README.md, 'Deploying'."
    )
