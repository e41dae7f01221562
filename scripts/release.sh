#!/bin/sh
# The release step: run once per deploy, before the new web and worker
# processes start (Procfile's `release:`). Migrations are written to be
# compatible with the code being replaced, so old processes keep working
# while this runs.
set -eu
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python}"
"$PYTHON" manage.py migrate --noinput
"$PYTHON" manage.py collectstatic --noinput
"$PYTHON" manage.py check --deploy --fail-level WARNING
