"""Production refuses to start half-configured, and passes check --deploy."""

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
    "DATABASE_URL": "sqlite:////tmp/violet-connect-deploy-check.sqlite3",
    "METRICS_TOKEN": "a-metrics-token-for-the-scraper",
}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV and k != "DEBUG"}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_with_everything_set_passes_check_deploy_without_warnings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.parametrize("missing", ["SECRET_KEY", "FERNET_KEYS", "ALLOWED_HOSTS", "DATABASE_URL"])
def test_production_refuses_to_start_naming_the_missing_variable(missing):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "refuses to start without" in result.stderr
    assert missing in result.stderr.splitlines()[-1]


def test_production_names_every_missing_variable_at_once():
    result = manage("check", env={"DJANGO_ENV": "production"})
    last = result.stderr.splitlines()[-1]
    for name in ("SECRET_KEY", "FERNET_KEYS", "ALLOWED_HOSTS", "DATABASE_URL"):
        assert name in last


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
