"""stores/release.py: the one way to a store's releasable credentials
(`store_release_read`, one query, then `store_credentials_release` with none),
which decrypts nothing before the hand-out."""

from __future__ import annotations

import pytest

from config.crypto import EncryptedTextField
from stores.models import Credential, Store
from stores.release import store_credentials_release, store_release_read
from tests.conftest import ACME_CLIENT_ID, ACME_SECRET, ACME_TOKEN
from tests.leaks import leaks


@pytest.fixture
def decryptions(monkeypatch) -> list[str]:
    """The names of the encrypted fields decrypted while the test runs."""
    opened: list[str] = []
    original = EncryptedTextField.from_db_value

    def counting(self, value, *args):
        if value is not None:
            opened.append(self.name)
        return original(self, value, *args)

    monkeypatch.setattr(EncryptedTextField, "from_db_value", counting)
    return opened


def test_one_read_then_a_hand_out_without_a_query(acme_store, django_assert_num_queries):
    with django_assert_num_queries(1):
        one = store_release_read("acme123")
    assert (one.usable, one.version, one.store.pk, one.store.status) == (True, "1", acme_store.pk, "connected")
    with django_assert_num_queries(0):  # it decrypts what was read, at that version
        released = store_credentials_release(one)
    assert (released.client_id, released.access_token, released.version) == (ACME_CLIENT_ID, ACME_TOKEN, "1")


def test_the_read_decrypts_nothing_until_the_hand_out(acme_store, decryptions):
    releasable = store_release_read("acme123")
    assert decryptions == []  # a 304 or a 409 is answered from this
    store_credentials_release(releasable)
    assert sorted(decryptions) == ["access_token", "client_id"]  # never the Client secret


def test_what_the_read_holds_shows_no_secret(acme_store):
    releasable = store_release_read("acme123")
    assert releasable.sealed is not None and ACME_TOKEN.encode() not in releasable.sealed.access_token
    assert not leaks(repr(releasable), (ACME_TOKEN, ACME_CLIENT_ID, ACME_SECRET))
    assert "sealed" not in repr(releasable)  # not even the ciphertext, in a log or a report
    assert not hasattr(releasable.store, "sealed_access_token")


def test_an_unknown_store_is_none(db):
    assert store_release_read("nope") is None


def test_a_store_without_credentials_has_no_version_and_cannot_be_released(acme_store):
    Credential.objects.filter(store=acme_store).delete()
    releasable = store_release_read("acme123")
    assert (releasable.usable, releasable.version, releasable.sealed) == (False, "", None)
    with pytest.raises(ValueError):
        store_credentials_release(releasable)


@pytest.mark.parametrize("status", ["revoked", "refused", "disconnected", "pending"])
def test_a_store_that_may_not_be_used_is_read_but_not_released(acme_store, status):
    Store.objects.filter(pk=acme_store.pk).update(status=status)
    releasable = store_release_read("acme123")
    assert not releasable.usable and releasable.version == "1"
    with pytest.raises(ValueError):
        store_credentials_release(releasable)


def test_the_values_read_are_the_version_read(acme_store, monkeypatch):
    """One query, one snapshot: the values always belong to the version read
    with them."""
    from stores import services
    from tests.reports import credentials, report

    monkeypatch.setattr("stores.tasks.check_stores.delay", lambda *a: None)
    before = store_release_read("acme123")
    services.store_replace_credentials(store=acme_store, credentials=credentials(), report=report())
    after = store_release_read("acme123")
    assert after.version != before.version
    assert store_credentials_release(before).access_token == ACME_TOKEN  # what was read at "1"
    assert store_credentials_release(after).access_token == credentials().access_token
