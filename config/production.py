"""What production refuses: development stand-ins that cannot work across machines.

In development the portal falls back to kombu's filesystem transport, a
per-process cache, console e-mail and a loopback address. On more than one
machine each of those fails silently: web and workers never share a queue,
every throttle is multiplied by the number of processes, notifications are
printed and recorded as delivered, and links (and the webhook address given
to BigCommerce) point at 127.0.0.1. `problems()` names each one; the settings
refuse to start while there is any.

It also refuses values that work but are insecure (issue 28, item 13): DEBUG
on, a wildcard ALLOWED_HOSTS (links and pages built from a Host header an
attacker picks), a database other than PostgreSQL (SQLite), plain SMTP without
TLS, an http:// BIGCOMMERCE_API_URL, local webhook endpoints allowed, a short
METRICS_TOKEN. `insecure()` names each one.

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


def _email_encrypted(value: str) -> bool:
    """smtp+tls:// (STARTTLS), smtps:// or smtp+ssl:// (TLS from the start), or
    `?EMAIL_USE_TLS=True`: never passwords and merchants' mail in the clear."""
    try:
        config = environ.Env.email_url_config(value)
    except Exception:
        return False
    return bool(config.get("EMAIL_USE_TLS") or config.get("EMAIL_USE_SSL"))


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


# At least this many characters: a scraper's token is a random string, e.g.
# `python -c "import secrets; print(secrets.token_urlsafe(32))"` (43 characters).
METRICS_TOKEN_MIN_LENGTH = 32
POSTGRES_ENGINES = ("django.db.backends.postgresql", "django.contrib.gis.db.backends.postgis")


def _true(value: str) -> bool:
    return value.strip().lower() in environ.Env.BOOLEAN_TRUE_STRINGS


def _database_engine(value: str) -> str:
    try:
        return environ.Env.db_url_config(value).get("ENGINE", "")
    except Exception:  # an unknown scheme
        return ""


def insecure(environment: Mapping[str, str]) -> list[str]:
    """One line per value production runs with but must not; empty when all is well.

    Never echoes a value (a URL may carry a password, a token is a secret):
    the variable, what it is, and what is wanted.
    """
    found = []
    if _true(environment.get("DEBUG", "")):
        found.append("DEBUG (on; a page with an error would show settings and local values: leave it unset or false)")
    hosts = [host.strip() for host in environment.get("ALLOWED_HOSTS", "").split(",")]
    if "*" in hosts:
        found.append("ALLOWED_HOSTS (a wildcard '*'; wants the portal's own host names)")
    database = environment.get("DATABASE_URL", "").strip()
    if database and _database_engine(database) not in POSTGRES_ENGINES:
        found.append(f"DATABASE_URL (a {_scheme(database) or 'no scheme'}:// database; wants PostgreSQL: postgres://)")
    email = environment.get("EMAIL_URL", "").strip()
    if email and _email_ok(email) and not _email_encrypted(email):
        found.append("EMAIL_URL (plain SMTP without TLS; wants smtp+tls://, smtps:// or smtp+ssl://)")
    api = environment.get("BIGCOMMERCE_API_URL", "").strip()
    if api and not (_scheme(api) == "https" and urlsplit(api).hostname):
        found.append(f"BIGCOMMERCE_API_URL (a {_scheme(api) or 'no scheme'}:// address; wants https://)")
    if _true(environment.get("WEBHOOK_ENDPOINTS_ALLOW_LOCAL", "")):
        found.append("WEBHOOK_ENDPOINTS_ALLOW_LOCAL (on; http:// and loopback endpoints are for development only)")
    token = environment.get("METRICS_TOKEN", "").strip()
    if not token:
        found.append("METRICS_TOKEN (not set; what /metrics asks for)")
    elif len(token) < METRICS_TOKEN_MIN_LENGTH:
        found.append(f"METRICS_TOKEN (shorter than {METRICS_TOKEN_MIN_LENGTH} characters; wants a long random string)")
    return found


def refusal(found: list[str], unsafe: list[str] | None = None) -> str:
    """One line naming everything production refuses: what is missing, then what is insecure."""
    parts = []
    if found:
        parts.append("without these environment variables: " + "; ".join(found))
    if unsafe:
        parts.append("with these insecure values: " + "; ".join(unsafe))
    return "DJANGO_ENV=production refuses to start " + ", and ".join(parts) + ". See README.md, 'Deploying'."
