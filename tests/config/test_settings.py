"""Production refuses to start half-configured, and passes check --deploy."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": "kq8z-production-like-secret-key-with-enough-entropy-3f9a7c1e5b2d4a6f8e0c",
    "FERNET_KEYS": "a-production-fernet-key,an-older-key",
    "ALLOWED_HOSTS": "connect.violet.io",
    # PostgreSQL (production refuses SQLite); check --deploy does not connect.
    "DATABASE_URL": "postgres://violet@127.0.0.1:1/violet",
    "CELERY_BROKER_URL": "redis://redis.internal:6379/0",
    "CACHE_URL": "redis://redis.internal:6379/1",
    "EMAIL_URL": "smtp+tls://mailer:mail-password@smtp.example.com:587",
    "PUBLIC_BASE_URL": "https://connect.violet.io",
    "METRICS_TOKEN": "a-long-metrics-token-for-the-prometheus-scraper",
}
SHARED_SERVICES = ("CELERY_BROKER_URL", "CACHE_URL", "EMAIL_URL", "PUBLIC_BASE_URL")


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    ignored = {"DEBUG", "DJANGO_ENV", "BIGCOMMERCE_API_URL", "WEBHOOK_ENDPOINTS_ALLOW_LOCAL"}
    clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV and k not in ignored}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


# Evaluating the settings is where production refuses to start (config/settings.py
# raises ImproperlyConfigured while it is imported): one process does it once per
# environment below, each from a clean os.environ, instead of a `manage.py check`
# process per case (about 2 s each, twice in CI). The tests that run manage.py for
# real (check --deploy, every missing or insecure value at once) stay below.
_EVALUATE = """
import json, os, runpy, sys
clean = dict(os.environ)
results = []
for env in json.load(sys.stdin):
    os.environ.clear()
    os.environ.update({**clean, **env})
    try:
        runpy.run_module("config.settings")
        results.append("")
    except Exception as exc:
        results.append(f"{type(exc).__module__}.{type(exc).__name__}: {exc}".splitlines()[-1])
print(json.dumps(results))
"""


def settings_refusals(environments: list[dict[str, str]]) -> list[str]:
    """For each environment, the last line of the error the settings raise
    ("" when they load), as `manage.py` would print it."""
    ignored = {"DEBUG", "DJANGO_ENV", "BIGCOMMERCE_API_URL", "WEBHOOK_ENDPOINTS_ALLOW_LOCAL"}
    clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV and k not in ignored}
    result = subprocess.run(
        [sys.executable, "-c", _EVALUATE],
        cwd=ROOT,
        env=clean,
        input=json.dumps(environments),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.splitlines()[-1])


def test_production_with_everything_set_passes_check_deploy_without_warnings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_starts_with_sentry_on_and_collects_nothing_personal():
    """sentry-sdk 3 refused SDK 2's options at start-up (`Unknown option 'send_default_pii'`):
    a production process with SENTRY_DSN set starts, with Sentry active under our options."""
    env = {**PRODUCTION_ENV, "SENTRY_DSN": "https://public@sentry.invalid/1"}
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stderr
    script = (
        "import sentry_sdk; c = sentry_sdk.get_client(); d = c.options['data_collection']; "
        "print(c.is_active(), sentry_sdk.VERSION.split('.')[0], d['http_bodies'], d['user_info'], "
        "d['cookies']['mode'], d['stack_frame_variables'])"
    )
    result = manage("shell", "--verbosity", "0", "-c", script, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "3", "[]", "False", "off", "False"]


MISSING = ["SECRET_KEY", "FERNET_KEYS", "ALLOWED_HOSTS", "DATABASE_URL", *SHARED_SERVICES]


@pytest.fixture(scope="module")
def missing_refusals() -> dict[str, str]:
    environments = [{k: v for k, v in PRODUCTION_ENV.items() if k != missing} for missing in MISSING]
    return dict(zip(MISSING, settings_refusals(environments), strict=True))


@pytest.mark.parametrize("missing", MISSING)
def test_production_refuses_to_start_naming_the_missing_variable(missing, missing_refusals):
    last = missing_refusals[missing]
    assert last.startswith("django.core.exceptions.ImproperlyConfigured: ")
    assert "refuses to start without" in last
    assert missing in last


def test_production_names_every_missing_variable_at_once():
    result = manage("check", env={"DJANGO_ENV": "production"})
    last = result.stderr.splitlines()[-1]
    for name in ("SECRET_KEY", "FERNET_KEYS", "ALLOWED_HOSTS", "DATABASE_URL", *SHARED_SERVICES):
        assert name in last


def test_production_with_only_the_secrets_and_the_database_names_the_four_shared_services():
    """The development stand-ins (filesystem broker, per-process cache, console
    e-mail, a loopback address) cannot work across machines: all four are named."""
    env = {k: v for k, v in PRODUCTION_ENV.items() if k not in SHARED_SERVICES}
    result = manage("check", env=env)
    assert result.returncode != 0
    last = result.stderr.splitlines()[-1]
    assert "refuses to start without" in last
    for name in SHARED_SERVICES:
        assert name in last
    for given in ("SECRET_KEY", "FERNET_KEYS", "ALLOWED_HOSTS", "DATABASE_URL"):
        assert given not in last


STAND_INS = [
    ("CELERY_BROKER_URL", "filesystem://"),
    ("CELERY_BROKER_URL", "memory://"),
    ("CELERY_BROKER_URL", "redis://redis.internal:6379/0;filesystem://"),
    ("CACHE_URL", "locmemcache://"),
    ("CACHE_URL", "filecache:///tmp/cache"),
    ("CACHE_URL", "dbcache://cache_table"),
    ("EMAIL_URL", "consolemail://"),
    ("EMAIL_URL", "filemail:///tmp/mail"),
    ("EMAIL_URL", "memorymail://"),
    ("PUBLIC_BASE_URL", "http://connect.violet.io"),
    ("PUBLIC_BASE_URL", "https://127.0.0.1:8000"),
    ("PUBLIC_BASE_URL", "connect.violet.io"),
    ("CACHE_URL", "memcache://cache-user:cache-s3cret@memcached.internal:11211"),
]
REAL_SERVICES = [
    ("CELERY_BROKER_URL", "amqps://violet:pw@mq.example.com:5671/violet"),
    ("CELERY_BROKER_URL", "rediss://:pw@redis.example.com:6380/0"),
    ("CACHE_URL", "rediss://:pw@redis.example.com:6380/1"),
    ("EMAIL_URL", "smtps://mailer:pw@smtp.example.com:465"),
    ("EMAIL_URL", "smtp+ssl://mailer:pw@smtp.example.com:465"),
    ("EMAIL_URL", "smtp://smtp.internal:587?EMAIL_USE_TLS=True"),
]


@pytest.fixture(scope="module")
def service_refusals() -> dict[tuple[str, str], str]:
    cases = STAND_INS + REAL_SERVICES
    return dict(zip(cases, settings_refusals([{**PRODUCTION_ENV, name: value} for name, value in cases]), strict=True))


@pytest.mark.parametrize(("name", "value"), STAND_INS)
def test_production_refuses_a_development_stand_in_naming_it_without_echoing_it(name, value, service_refusals):
    last = service_refusals[(name, value)]
    assert last.startswith("django.core.exceptions.ImproperlyConfigured: ")
    assert "refuses to start without" in last
    assert name in last
    assert all(other not in last for other in SHARED_SERVICES if other != name)
    rest = value.split("://", 1)[-1]
    assert not rest or rest not in last  # beyond its scheme a URL may carry a password: never echoed


@pytest.mark.parametrize(("name", "value"), REAL_SERVICES)
def test_production_accepts_each_real_service(name, value, service_refusals):
    assert service_refusals[(name, value)] == ""


def test_production_uses_the_shared_services_it_was_given():
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings as s; print(s.CELERY_BROKER_URL, s.CACHES['default']['BACKEND'], "
        "s.EMAIL_BACKEND, s.EMAIL_USE_TLS, s.PUBLIC_BASE_URL)",
        env=PRODUCTION_ENV,
    )
    assert result.stdout.splitlines()[-1].split() == [
        "redis://redis.internal:6379/0",
        "django.core.cache.backends.redis.RedisCache",
        "django.core.mail.backends.smtp.EmailBackend",
        "True",
        "https://connect.violet.io",
    ]


def test_production_refuses_to_start_without_a_metrics_token():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "METRICS_TOKEN"}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "METRICS_TOKEN" in result.stderr.splitlines()[-1]
    assert manage("check", env={**env, "METRICS_TOKEN": "  "}).returncode != 0


def test_production_refuses_the_development_keys():
    from config import settings

    env = {**PRODUCTION_ENV, "FERNET_KEYS": settings._DEV_FERNET_KEY}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "development defaults" in result.stderr


def test_development_runs_with_no_configuration_at_all():
    result = manage("check", env={})
    assert result.returncode == 0, result.stderr


def test_production_protections_are_on():
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings as s; print(s.DEBUG, s.SESSION_COOKIE_SECURE, "
        "s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS > 0, s.X_FRAME_OPTIONS, s.FERNET_KEYS[0])",
        env=PRODUCTION_ENV,
    )
    assert result.stdout.splitlines()[-1].split() == [
        "False",
        "True",
        "True",
        "True",
        "DENY",
        "a-production-fernet-key",
    ]


# --- Issue 28, item 13: production refuses values that work but are insecure ---

INSECURE = [
    ("DEBUG", "true", "DEBUG"),
    ("DEBUG", "1", "DEBUG"),
    ("DEBUG", "On", "DEBUG"),
    ("ALLOWED_HOSTS", "*", "ALLOWED_HOSTS"),
    ("ALLOWED_HOSTS", "connect.violet.io, *", "ALLOWED_HOSTS"),
    ("DATABASE_URL", "sqlite:////tmp/violet-connect.sqlite3", "DATABASE_URL"),
    ("DATABASE_URL", "mysql://violet:db-s3cret@db.internal/violet", "DATABASE_URL"),
    ("EMAIL_URL", "smtp://mailer:mail-s3cret@smtp.example.com:25", "EMAIL_URL"),
    ("EMAIL_URL", "smtp://smtp.internal:25", "EMAIL_URL"),
    ("BIGCOMMERCE_API_URL", "http://api.bigcommerce.com", "BIGCOMMERCE_API_URL"),
    ("BIGCOMMERCE_API_URL", "api.bigcommerce.com", "BIGCOMMERCE_API_URL"),
    ("WEBHOOK_ENDPOINTS_ALLOW_LOCAL", "true", "WEBHOOK_ENDPOINTS_ALLOW_LOCAL"),
    ("WEBHOOK_ENDPOINTS_ALLOW_LOCAL", "yes", "WEBHOOK_ENDPOINTS_ALLOW_LOCAL"),
    ("METRICS_TOKEN", "x", "METRICS_TOKEN"),
    ("METRICS_TOKEN", "short-metrics-token-31-chars-xx", "METRICS_TOKEN"),
]
INSECURE_NAMES = {name for name, _, _ in INSECURE}


@pytest.mark.parametrize(("name", "value", "named"), INSECURE)
def test_production_names_each_insecure_value_without_echoing_it(name, value, named):
    from config import production

    environment = {**PRODUCTION_ENV, name: value}
    assert production.problems(environment) == []  # present and shared: not a missing variable
    [line] = production.insecure(environment)
    assert line.startswith(named + " (")
    rest = value.split("://", 1)[-1]
    if len(rest) > 3:
        assert rest not in line  # beyond its scheme a URL may carry a password; a token is a secret


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DEBUG", "false"),
        ("DEBUG", ""),
        ("ALLOWED_HOSTS", "connect.violet.io,.violet.io"),
        ("DATABASE_URL", "postgresql://violet:pw@db.internal:5432/violet"),
        ("DATABASE_URL", "postgis://violet:pw@db.internal:5432/violet"),
        ("EMAIL_URL", "smtp+tls://mailer:pw@smtp.example.com:587"),
        ("EMAIL_URL", "smtps://mailer:pw@smtp.example.com:465"),
        ("BIGCOMMERCE_API_URL", "https://api.bigcommerce.com"),
        ("WEBHOOK_ENDPOINTS_ALLOW_LOCAL", "false"),
        ("METRICS_TOKEN", "x" * 32),
    ],
)
def test_production_accepts_each_secure_value(name, value):
    from config import production

    assert production.insecure({**PRODUCTION_ENV, name: value}) == []


INSECURE_AT_START = [
    ("DEBUG", "true"),
    ("ALLOWED_HOSTS", "*"),
    ("DATABASE_URL", "sqlite:////tmp/violet-connect-deploy-check.sqlite3"),
    ("EMAIL_URL", "smtp://mailer:mail-s3cret@smtp.example.com:25"),
    ("BIGCOMMERCE_API_URL", "http://api.bigcommerce.com"),
    ("WEBHOOK_ENDPOINTS_ALLOW_LOCAL", "true"),
    ("METRICS_TOKEN", "x"),
]


@pytest.fixture(scope="module")
def insecure_refusals() -> dict[tuple[str, str], str]:
    environments = [{**PRODUCTION_ENV, name: value} for name, value in INSECURE_AT_START]
    return dict(zip(INSECURE_AT_START, settings_refusals(environments), strict=True))


@pytest.mark.parametrize(("name", "value"), INSECURE_AT_START)
def test_production_refuses_to_start_with_an_insecure_value_naming_it(name, value, insecure_refusals):
    last = insecure_refusals[(name, value)]
    assert last.startswith("django.core.exceptions.ImproperlyConfigured: ")
    assert "refuses to start with these insecure values: " + name in last
    assert all(other not in last for other in INSECURE_NAMES if other != name)
    assert "mail-s3cret" not in last


def test_production_names_every_insecure_value_at_once():
    env = {
        **PRODUCTION_ENV,
        "DEBUG": "true",
        "ALLOWED_HOSTS": "*",
        "DATABASE_URL": "sqlite:////tmp/violet-connect-deploy-check.sqlite3",
        "EMAIL_URL": "smtp://smtp.internal:25",
        "BIGCOMMERCE_API_URL": "http://127.0.0.1:8100",
        "WEBHOOK_ENDPOINTS_ALLOW_LOCAL": "true",
        "METRICS_TOKEN": "x",
    }
    result = manage("check", env=env)
    assert result.returncode != 0
    last = result.stderr.splitlines()[-1]
    for name in INSECURE_NAMES:
        assert name in last
