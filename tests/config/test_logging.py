"""JSON log lines in production, each line of a check carrying its store hash
(and the result line its check id), never a secret."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from config.logging import ContextFilter, SecretFilter, bind, bound, json_formatter, unbind
from tests.stores.test_fleet_faults import check, sandbox, store  # noqa: F401 - fixtures

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def json_lines(*loggers: str):
    """The production handler (JSON, context and secret filters) on these loggers, at DEBUG."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    handler.addFilter(ContextFilter())
    handler.addFilter(SecretFilter())
    previous = {}
    for name in loggers:
        logger = logging.getLogger(name)
        previous[name] = logger.level
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)
    lines: list[dict] = []
    try:
        yield lines
    finally:
        for name in loggers:
            logging.getLogger(name).removeHandler(handler)
            logging.getLogger(name).setLevel(previous[name])
        lines.extend(json.loads(line) for line in stream.getvalue().splitlines())


def test_a_line_is_one_json_object_with_the_bound_fields_and_no_secret():
    with json_lines("violet.test") as lines, bound(store_hash="abc123", task_id="t-1"):
        logging.getLogger("violet.test").warning("retrying with X-Auth-Token: t0k3nsecretvalue now")
    [line] = lines
    assert line["store_hash"] == "abc123" and line["task_id"] == "t-1"
    assert line["level"] == "WARNING" and line["logger"] == "violet.test" and "time" in line
    assert "t0k3nsecretvalue" not in json.dumps(line)


def test_bound_fields_end_with_their_scope():
    token = bind(store_hash="abc123")
    unbind(token)
    with json_lines("violet.test") as lines:
        logging.getLogger("violet.test").info("after")
    assert "store_hash" not in lines[0]


def test_every_line_of_a_check_carries_its_store_and_the_result_its_check_id(sandbox, store):  # noqa: F811
    with json_lines("stores", "violet.checks") as lines:
        result, _ = check(store)
    client_lines = [line for line in lines if line["logger"] == "stores.bigcommerce.client"]
    assert len(client_lines) == 6  # one a BigCommerce call
    assert {line["store_hash"] for line in client_lines} == {store.store_hash}
    [done] = [line for line in lines if line["logger"] == "violet.checks"]
    assert (done["store_hash"], done["check_id"]) == (store.store_hash, result.pk)
    access_token = store.credential.access_token
    assert all(access_token not in json.dumps(line) and access_token[-8:] not in json.dumps(line) for line in lines)


def test_production_logs_json_and_development_plain_text():
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DJANGO_ENV", "LOG_FORMAT", "SENTRY_DSN", "DATABASE_URL", "CELERY_BROKER_URL"}
    }
    script = "import django, logging; django.setup(); logging.getLogger('violet.test').warning('hello')"
    plain = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert plain.stderr.strip().endswith("WARNING violet.test hello")
    assert_iso_8601_with_zone(plain.stderr.strip().splitlines()[-1].split(" ")[0])
    as_json = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings", "LOG_FORMAT": "json"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    line = json.loads(as_json.stderr.strip().splitlines()[-1])
    assert (line["message"], line["level"]) == ("hello", "WARNING")
    assert_iso_8601_with_zone(line["time"])


def assert_iso_8601_with_zone(text: str) -> None:
    """`2026-12-07T16:29:18.123+00:00`: a machine reads it, and it says its zone."""
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+00:00", text), text
    parsed = datetime.fromisoformat(text)
    assert parsed.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - parsed) < timedelta(minutes=2)
