"""Issue 28, item 1: the receiver never answers 500, and no error page shows a
secret. "Every well-formed POST gets 200, anything else a plain 4xx."

The receiver once read `webhook-timestamp: ²` with `str.isdigit()` (true for
"²") then `int()` (which refuses it): a 500, and with DEBUG on Django's debug
page listed the store's decrypted Client secret among the frame's locals. A
signed body nested deeper than Python recurses did the same.
"""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from storehooks import signatures
from storehooks.models import JunkDeliveryCount, WebhookDelivery
from tests.conftest import ACME_CLIENT_ID, ACME_SECRET, ACME_TOKEN
from tests.connect.test_wizard import assert_no_secret
from tests.storehooks.conftest import event, signature, signed_headers

SECRETS = (ACME_SECRET, ACME_TOKEN, ACME_CLIENT_ID)


@pytest.fixture
def store(acme_store, monkeypatch, settings):
    settings.DEBUG = True  # a 500 would be Django's debug page, locals and all
    monkeypatch.setattr("storehooks.services.receiving.transaction.on_commit", lambda callback, **kw: callback())
    monkeypatch.setattr("storehooks.tasks.process_delivery.delay", lambda *args: None)
    return acme_store


def post(store_hash: str, body: bytes, headers: dict[str, str]):
    # raise_request_exception=False: a crash comes back as the 500 page a sender would see.
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    # (The test client closes the response, which runs the receiver's after-answer work.)
    return client.post(
        reverse("storehooks:receive", args=[store_hash]), data=body, content_type="application/json", headers=headers
    )


def assert_plain_answer(response) -> None:
    assert response.status_code < 500, response.content[:2000]
    assert response.status_code in (200, 413)
    assert_no_secret(response.content.decode("utf-8", "replace"), SECRETS)


@pytest.mark.parametrize("timestamp", ["²", "١٧٠٠٠٠٠٠٠٠", "1_700_000_000", " 17", "9" * 5000, "-1", "1e9", "𝟙𝟟"])
def test_a_timestamp_that_is_not_ascii_digits_is_malformed_not_a_500(store, timestamp):
    body = json.dumps(event(store.store_hash)).encode()
    headers = signed_headers(ACME_SECRET, body)
    headers["webhook-timestamp"] = timestamp
    headers["webhook-signature"] = signature(ACME_SECRET, headers["webhook-id"], timestamp, body)
    response = post(store.store_hash, body, headers)
    assert (response.status_code, response.content) == (200, b"OK.\n")
    # Malformed: junk anyone could post, counted (not recorded one by one).
    assert list(JunkDeliveryCount.objects.values_list("reason", "count")) in ([("malformed", 1)], [("stale", 1)])
    assert not WebhookDelivery.objects.exists()


def test_ascii_int_reads_only_ascii_digits():
    assert signatures.ascii_int("1700000000") == 1700000000
    for value in ("", "²", "٣", "𝟙", "1_0", " 1", "+1", "-1", "1.0", "9" * 21):
        assert signatures.ascii_int(value) is None, value


def test_a_signed_body_nested_too_deep_is_acknowledged_and_ignored(store):
    body = b"[" * 30000 + b"]" * 30000
    response = post(store.store_hash, body, signed_headers(ACME_SECRET, body))
    assert (response.status_code, response.content) == (200, b"OK.\n")
    [delivery] = WebhookDelivery.objects.all()
    assert (delivery.outcome, delivery.reason) == ("ignored", "unreadable_body")


def test_a_crash_after_the_secret_is_read_shows_no_secret_even_with_debug_on(store, monkeypatch):
    """Whatever goes wrong later, the debug page (and the error e-mail) hide
    the locals that hold a decrypted value: `sensitive_variables` on every
    function that holds one, and a reporter filter that stays on with DEBUG."""

    def crash(*args, **kwargs):
        raise RuntimeError("something unforeseen")

    monkeypatch.setattr(signatures, "_well_formed", crash)  # inside verify(secret, ...)
    body = json.dumps(event(store.store_hash)).encode()
    response = post(store.store_hash, body, signed_headers(ACME_SECRET, body))
    assert response.status_code == 500
    page = response.content.decode()
    assert "something unforeseen" in page and "delivery_receive" in page  # the debug page, frames and all
    assert_no_secret(page, SECRETS)


HEADER_NAMES = ("webhook-id", "webhook-timestamp", "webhook-signature", "X-Violet-Account", "Content-Type")
header_text = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FFF, exclude_categories=("Cs",)), max_size=40),
    st.sampled_from(["²", "0", str(int(time.time())), "v1,", "v1,AAAA", "v1,!!", "v2,x v1,", "٣٣", "\t1 "]),
)
bodies = st.one_of(
    st.binary(max_size=300),
    st.integers(min_value=1, max_value=40000).map(lambda depth: b"[" * depth + b"]" * depth),
    st.integers(min_value=1, max_value=40000).map(lambda depth: b'{"a":' * depth + b"1" + b"}" * depth),
    st.recursive(st.none() | st.booleans() | st.integers() | st.text(), lambda inner: st.lists(inner, max_size=3))
    .map(lambda value: json.dumps({"scope": "store/information/updated", "data": value}).encode()),
)


@hypothesis_settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    headers=st.dictionaries(st.sampled_from(HEADER_NAMES), header_text, max_size=5),
    body=bodies,
    sign=st.sampled_from(["no", "ours", "other"]),
)
def test_fuzz_headers_and_bodies_never_a_500_never_a_secret(store, headers, body, sign):
    headers = dict(headers)
    if sign != "no":
        secret = ACME_SECRET if sign == "ours" else "9" * 64
        msg_id = headers.get("webhook-id") or "msg_fuzz"
        timestamp = headers.get("webhook-timestamp") or str(int(time.time()))
        headers.update({"webhook-id": msg_id, "webhook-timestamp": timestamp})
        headers["webhook-signature"] = signature(secret, msg_id, timestamp, body)
    assert_plain_answer(post(store.store_hash, body, headers))
    assert_plain_answer(post("unknown1", body, headers))
