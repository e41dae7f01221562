#!/usr/bin/env bash
# What CI checks besides the suite (`make check`): the deployment checklist under
# production-like settings, migrations matching the models, and log lines that
# start with an ISO 8601 time and its zone. (`make check` runs ruff and
# `uv pip check` before this.)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"

production() {
  env -u DEBUG -u DATABASE_URL -u CELERY_BROKER_URL -u SENTRY_DSN -u BIGCOMMERCE_API_URL -u WEBHOOK_ENDPOINTS_ALLOW_LOCAL \
    DJANGO_ENV=production \
    SECRET_KEY="ci-production-like-secret-key-with-enough-entropy-0123456789abcdef" \
    FERNET_KEYS="ci-production-like-fernet-key,ci-an-older-fernet-key" \
    ALLOWED_HOSTS="connect.violet.io" \
    DATABASE_URL="postgres://violet@db.internal:5432/violet" \
    CELERY_BROKER_URL="redis://redis.internal:6379/0" \
    CACHE_URL="redis://redis.internal:6379/1" \
    EMAIL_URL="smtp+tls://mailer:mail-password@smtp.example.com:587" \
    PUBLIC_BASE_URL="https://connect.violet.io" \
    METRICS_TOKEN="ci-a-metrics-token-for-the-scraper" \
    SENTRY_DSN="https://public@sentry.invalid/1" \
    "$@"
}

echo "--- manage.py check --deploy (production-like settings, Sentry on)"
production "$PYTHON" manage.py check --deploy --fail-level WARNING

echo "--- makemigrations --check (the models and the migrations agree)"
env -u DATABASE_URL "$PYTHON" manage.py makemigrations --check --dry-run

echo "--- log lines carry an ISO 8601 time with its zone"
line="$(env -u DATABASE_URL DJANGO_SETTINGS_MODULE=config.settings "$PYTHON" -c "import django, logging; django.setup(); logging.getLogger('violet.ci').warning('ci')" 2>&1 | tail -n 1)"
if ! [[ "$line" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}\+00:00\ WARNING\ violet\.ci\ ci$ ]]; then
  echo "not an ISO 8601 time with its zone: $line" >&2
  exit 1
fi
json="$(env -u DATABASE_URL DJANGO_SETTINGS_MODULE=config.settings LOG_FORMAT=json "$PYTHON" -c "import django, logging; django.setup(); logging.getLogger('violet.ci').warning('ci')" 2>&1 | tail -n 1)"
if ! [[ "$json" =~ \"time\":\ \"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{12}\+00:00\" ]]; then
  echo "not an ISO 8601 time with its zone: $json" >&2
  exit 1
fi
echo "ok: $line"
