"""Replacing a store's credentials from the console: the wizard's validation,
live against a fake BigCommerce; logged, and no secret shown back."""

from __future__ import annotations

import pytest
import responses

from stores.models import Check, Credential
from tests.conftest import ACME_TOKEN
from tests.console.conftest import assert_no_secret, store_log, url
from tests.fake_bigcommerce import FakeBigCommerce

NEW_TOKEN = "n3wt0k3nabcdefghijklmnopqrstuvw"
NEW_CLIENT_ID = "n3wc1i3ntabcdefghijklmnopqrstu"
NEW_SECRET = "ab" * 32
API_PATH = "https://api.bigcommerce.com/stores/acme123/v3/"


@pytest.fixture
def bigcommerce():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake = FakeBigCommerce(rsps)
        fake.add_token("acme123", NEW_TOKEN)
        yield fake


def new_values(**overrides):
    data = {
        "api_path": API_PATH,
        "client_id": NEW_CLIENT_ID,
        "client_secret": NEW_SECRET,
        "access_token": NEW_TOKEN,
    }
    data.update(overrides)
    return data


def test_replace_credentials_validates_live_and_swaps_them(
    ops, operations, acme_store, bigcommerce
):
    response = ops.post(url("stores_store_replace_credentials", acme_store.pk), new_values())
    assert response.status_code == 302 and response["Location"] == url(
        "stores_store_change", acme_store.pk
    )
    assert bigcommerce.calls > 0
    credential = Credential.objects.get(store=acme_store)
    assert credential.access_token == NEW_TOKEN and credential.client_secret == NEW_SECRET
    assert credential.created_by == operations and credential.access_token_last4 == NEW_TOKEN[-4:]
    check = Check.objects.get(store=acme_store)
    assert check.trigger == Check.Trigger.REPLACE and check.outcome == "connected"
    [entry] = store_log(acme_store)
    assert (
        entry.change_message == "Replaced the credentials after a full live check; "
        f"now token ending in …{NEW_TOKEN[-4:]}."
    )
    page = ops.get(url("stores_store_change", acme_store.pk)).content.decode()
    assert (
        f"token ending in …{NEW_TOKEN[-4:]}" in page
        and "just now</time> by ops@violet.test" in page
    )
    assert_no_secret(page, (NEW_TOKEN, NEW_SECRET, NEW_CLIENT_ID))


def test_replace_credentials_from_the_txt_file(ops, acme_store, bigcommerce):
    from django.core.files.uploadedfile import SimpleUploadedFile

    text = (
        f"ACCESS TOKEN: {NEW_TOKEN}\nCLIENT NAME: Violet\nAPI PATH: {API_PATH}\n"
        f"CLIENT ID: {NEW_CLIENT_ID}\nCLIENT SECRET: {NEW_SECRET}\n"
    )
    upload = SimpleUploadedFile("violet.txt", text.encode(), content_type="text/plain")
    response = ops.post(
        url("stores_store_replace_credentials", acme_store.pk), {"credentials_file": upload}
    )
    assert response.status_code == 302
    assert Credential.objects.get(store=acme_store).access_token == NEW_TOKEN


def test_replace_credentials_refused_shows_the_problems_and_keeps_the_old_ones(
    ops, acme_store, bigcommerce
):
    bad_token = "zz" + NEW_TOKEN[2:]
    response = ops.post(
        url("stores_store_replace_credentials", acme_store.pk), new_values(access_token=bad_token)
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert "BigCommerce did not accept this access token for store acme123" in body
    assert_no_secret(body, (bad_token, NEW_SECRET, NEW_CLIENT_ID))
    assert Credential.objects.get(store=acme_store).access_token == ACME_TOKEN
    # What was fine is kept for the next try, shown only by its last four characters.
    again = ops.get(url("stores_store_replace_credentials", acme_store.pk)).content.decode()
    assert f"…{NEW_SECRET[-4:]}" in again and "Forget the kept values" in again
    [entry] = store_log(acme_store)
    assert entry.change_message == "Tried to replace the credentials; refused: invalid_token."
    # Then the right token alone completes the replacement.
    response = ops.post(
        url("stores_store_replace_credentials", acme_store.pk),
        {"api_path": API_PATH, "access_token": NEW_TOKEN},
    )
    assert response.status_code == 302
    assert Credential.objects.get(store=acme_store).access_token == NEW_TOKEN


def test_replace_credentials_for_another_store_is_refused_before_any_call(
    ops, acme_store, bigcommerce
):
    response = ops.post(
        url("stores_store_replace_credentials", acme_store.pk),
        new_values(api_path="https://api.bigcommerce.com/stores/other77/v3/"),
    )
    assert (
        response.status_code == 422 and "for another store (other77)" in response.content.decode()
    )
    assert bigcommerce.calls == 0
    assert Credential.objects.get(store=acme_store).access_token == ACME_TOKEN


def test_replace_credentials_with_missing_scopes_names_them(ops, acme_store, bigcommerce):
    scopes = {
        "store_v2_customers",
        "store_v2_information_read_only",
        "store_v2_orders",
        "store_v2_products_read_only",
        "store_cart",
    }
    bigcommerce.add_token("acme123", NEW_TOKEN, scopes=scopes)
    response = ops.post(url("stores_store_replace_credentials", acme_store.pk), new_values())
    assert response.status_code == 422
    assert "Checkouts: modify" in response.content.decode()
    assert Credential.objects.get(store=acme_store).access_token == ACME_TOKEN


def test_forget_the_kept_values(ops, operations, acme_store, bigcommerce):
    from connect.models import CredentialDraft

    ops.post(
        url("stores_store_replace_credentials", acme_store.pk),
        new_values(access_token="zz" + NEW_TOKEN[2:]),
    )
    assert CredentialDraft.objects.filter(user=operations).exists()
    ops.post(url("stores_store_replace_credentials", acme_store.pk), {"start_over": "1"})
    assert not CredentialDraft.objects.filter(user=operations).exists()


def test_a_disconnected_store_can_be_reconnected_by_staff(ops, acme_store, bigcommerce):
    ops.post(url("stores_store_disconnect", acme_store.pk))
    response = ops.post(url("stores_store_replace_credentials", acme_store.pk), new_values())
    assert response.status_code == 302
    acme_store.refresh_from_db()
    assert acme_store.status == "connected"
    assert Credential.objects.get(store=acme_store).access_token == NEW_TOKEN
    assert store_log(acme_store)[-1].change_message.startswith(
        "Reconnected the store with new credentials"
    )


@pytest.mark.parametrize("pasted", [NEW_TOKEN, NEW_SECRET, f"https://api.bigcommerce.com/stores/acme123/v3/?{NEW_TOKEN}"])
def test_a_secret_pasted_into_the_api_path_box_is_never_shown_back(ops, acme_store, bigcommerce, pasted):
    """Issue 28, item 11, on the console's replace page too."""
    response = ops.post(url("stores_store_replace_credentials", acme_store.pk), new_values(api_path=pasted))
    body = response.content.decode()
    assert NEW_TOKEN[:8] not in body and NEW_SECRET[:8] not in body and NEW_TOKEN[-8:] not in body
    assert_no_secret(body)
