"""`signatures.verify`: the Standard Webhooks check, one reason per way to fail."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest

from storehooks import signatures
from tests.storehooks.conftest import signature, signed_headers

SECRET = "5e1f0c2d9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d"
OTHER_SECRET = "0" * 64
BODY = b'{"scope":"store/information/updated","producer":"stores/acme123"}'


def test_a_delivery_signed_with_the_secret_verifies():
    verdict = signatures.verify(SECRET, BODY, signed_headers(SECRET, BODY, msg_id="msg_1"))
    assert verdict.ok and verdict.reason == "" and verdict.webhook_id == "msg_1"


def test_header_names_are_case_insensitive():
    headers = {k.title(): v for k, v in signed_headers(SECRET, BODY).items()}
    assert signatures.verify(SECRET, BODY, headers).ok


def test_the_key_is_the_secrets_raw_bytes_not_its_base64_decoding():
    # standardwebhooks.Webhook(str) would base64-decode the secret; BigCommerce uses its bytes.
    decoded_key = base64.b64decode(SECRET + "==")
    ts = int(time.time())
    wrong = (
        "v1," + base64.b64encode(hmac.new(decoded_key, f"m.{ts}.".encode() + BODY, hashlib.sha256).digest()).decode()
    )
    headers = {"webhook-id": "m", "webhook-timestamp": str(ts), "webhook-signature": wrong}
    assert signatures.verify(SECRET, BODY, headers).reason == "bad_signature"


def test_signed_with_another_key():
    verdict = signatures.verify(SECRET, BODY, signed_headers(OTHER_SECRET, BODY))
    assert not verdict.ok and verdict.reason == "bad_signature"


def test_a_tampered_body_fails():
    headers = signed_headers(SECRET, BODY)
    tampered = BODY.replace(b"acme123", b"acme124")
    assert signatures.verify(SECRET, tampered, headers).reason == "bad_signature"


def test_a_tampered_timestamp_fails():
    headers = signed_headers(SECRET, BODY)
    headers["webhook-timestamp"] = str(int(headers["webhook-timestamp"]) - 1)
    assert signatures.verify(SECRET, BODY, headers).reason == "bad_signature"


MAX_AGE = int(signatures.MAX_AGE.total_seconds())


@pytest.mark.parametrize("offset", [-MAX_AGE - 1, -10 * 24 * 3600, 301, 3600])
def test_stale_or_future_timestamps_fail_even_when_signed(offset):
    ts = int(time.time()) + offset
    verdict = signatures.verify(SECRET, BODY, signed_headers(SECRET, BODY, timestamp=ts))
    assert verdict.reason == "stale"


@pytest.mark.parametrize("offset", [-290, -301, -48 * 3600, -MAX_AGE + 5, 290])
def test_within_bigcommerces_retry_window_or_five_minutes_ahead_passes(offset):
    """A retry may carry its first attempt's timestamp (undocumented either way)."""
    ts = int(time.time()) + offset
    assert signatures.verify(SECRET, BODY, signed_headers(SECRET, BODY, timestamp=ts)).ok


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_header_is_unsigned(missing):
    headers = signed_headers(SECRET, BODY)
    del headers[missing]
    assert signatures.verify(SECRET, BODY, headers).reason == "unsigned"


def test_no_headers_at_all():
    assert signatures.verify(SECRET, BODY, {}).reason == "unsigned"


@pytest.mark.parametrize("value", ["nonsense", "v1,not*base64", "v1,a,b", "v2,AAAA"])
def test_malformed_signature_headers(value):
    headers = {**signed_headers(SECRET, BODY), "webhook-signature": value}
    assert signatures.verify(SECRET, BODY, headers).reason == "malformed"


def test_a_non_numeric_timestamp_is_malformed():
    headers = {**signed_headers(SECRET, BODY), "webhook-timestamp": "yesterday"}
    assert signatures.verify(SECRET, BODY, headers).reason == "malformed"


def test_one_matching_signature_among_several_is_enough():
    headers = signed_headers(SECRET, BODY, msg_id="m2")
    other = signature(OTHER_SECRET, "m2", headers["webhook-timestamp"], BODY)
    headers["webhook-signature"] = f"{other} {headers['webhook-signature']}"
    assert signatures.verify(SECRET, BODY, headers).ok


def test_an_empty_secret_verifies_nothing():
    assert signatures.verify("", BODY, signed_headers("", BODY)).reason == "no_secret"


def test_a_body_that_is_not_utf8_is_malformed_not_a_crash():
    body = b"\xff\xfe{}"
    assert signatures.verify(SECRET, body, signed_headers(SECRET, body)).reason == "malformed"


def test_sign_matches_the_spec():
    headers = signatures.sign(SECRET, "msg_x", 1_700_000_000, BODY)
    assert headers["webhook-signature"] == signature(SECRET, "msg_x", 1_700_000_000, BODY)
