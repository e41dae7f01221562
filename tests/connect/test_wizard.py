"""The onboarding wizard's forms: every error message, nothing lost, no secret
ever sent back to the browser or stored in the session."""

import re

import pytest
import responses
from django.contrib.sessions.models import Session
from django.test import override_settings
from django.urls import reverse

from connect.models import CredentialDraft
from stores.models import Credential, Store
from tests.conftest import client_for
from tests.fake_bigcommerce import ALL_SCOPES, FakeBigCommerce
from tests.leaks import assert_no_secret as _assert_no_secret

HASH = "k9x2mq7"
TOKEN = "a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p"
CLIENT_ID = "q9w8e7r6t5y4u3i2o1p0a9s8d7f6g5"
SECRET = "3f2a9c8b7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a"
API_PATH = f"https://api.bigcommerce.com/stores/{HASH}/v3/"
SECRETS = (TOKEN, CLIENT_ID, SECRET)
TXT = f"""ACCESS TOKEN: {TOKEN}
CLIENT NAME: Violet
API PATH: {API_PATH}
CLIENT ID: {CLIENT_ID}
CLIENT SECRET: {SECRET}
"""


@pytest.fixture
def bigcommerce():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake = FakeBigCommerce(rsps)
        fake.add_token(HASH, TOKEN)
        yield fake


@pytest.fixture
def url():
    return reverse("connect:wizard_credentials", args=["acme"])


def fields(**overrides):
    data = {"api_path": API_PATH, "client_id": CLIENT_ID, "client_secret": SECRET, "access_token": TOKEN}
    data.update(overrides)
    return data


def assert_no_secret(text: str, secrets=SECRETS):
    _assert_no_secret(text, secrets)


def assert_no_secret_in_sessions():
    for session in Session.objects.all():
        assert_no_secret(str(session.get_decoded()))
        assert_no_secret(session.session_data)


def test_the_four_steps_in_the_guides_words(alice):
    client = client_for(alice)
    step1 = client.get(reverse("connect:wizard_account", args=["acme"])).content.decode()
    assert "Settings → API → Store-level API accounts" in step1 and "Create API account" in step1
    step2 = client.get(reverse("connect:wizard_scopes", args=["acme"])).content.decode()
    for label in (
        "Customers: modify",
        "Information &amp; settings: read-only",
        "Orders: modify",
        "Products: read-only",
        "Carts: modify",
        "Checkouts: modify",
    ):
        assert label in step2
    assert step2.count('type="checkbox"') == 6
    step3 = client.get(reverse("connect:wizard_save", args=["acme"])).content.decode()
    assert "only once" in step3
    step4 = client.get(reverse("connect:wizard_credentials", args=["acme"])).content.decode()
    for label in (">API path<", ">Client ID<", ">Client secret<", ">Access token<", ">Next<"):
        assert label in step4


def test_happy_path_connects_the_store(alice, bigcommerce, url):
    client = client_for(alice)
    response = client.post(url, fields())
    assert response.status_code == 302
    assert response["Location"] == reverse("connect:store_detail", args=["acme", HASH])
    store = Store.objects.get(store_hash=HASH)
    assert store.status == "connected" and store.merchant.slug == "acme"
    assert (store.name, store.plan_name, store.currency, store.weight_units, store.dimension_units) == (
        "Acme Outfitters",
        "Plus",
        "USD",
        "LB",
        "Inches",
    )
    credential = Credential.objects.get(store=store)
    assert (credential.access_token, credential.client_id, credential.client_secret) == (TOKEN, CLIENT_ID, SECRET)
    page = client.get(response["Location"]).content.decode()
    assert "is connected to Violet" in page
    assert_no_secret(page)
    assert_no_secret_in_sessions()
    assert not CredentialDraft.objects.exists()


def test_surrounding_spaces_are_trimmed_silently(alice, bigcommerce, url):
    response = client_for(alice).post(url, fields(access_token=f"  {TOKEN}\n", api_path=f" {API_PATH} "))
    assert response.status_code == 302
    assert Credential.objects.get().access_token == TOKEN


def test_a_token_with_an_inner_space_is_caught_before_any_call(alice, bigcommerce, url):
    broken = TOKEN[:11] + " " + TOKEN[11:]
    response = client_for(alice).post(url, fields(access_token=broken))
    body = response.content.decode()
    assert response.status_code == 422
    assert "Access token" in body and "space" in body and "character 12" in body
    assert bigcommerce.calls == 0
    assert not Store.objects.exists()
    assert_no_secret(body)
    # The fine secrets are kept server-side, encrypted, shown only by their end.
    assert f"…{SECRET[-4:]}" in body and f"…{CLIENT_ID[-4:]}" in body
    draft = CredentialDraft.objects.get()
    assert draft.client_secret == SECRET and draft.access_token == ""
    # The API path is not secret and is kept in the form.
    assert f'value="{API_PATH}"' in body
    assert_no_secret_in_sessions()


def test_kept_secrets_complete_the_next_attempt(alice, bigcommerce, url):
    client = client_for(alice)
    client.post(url, fields(access_token=TOKEN[:5] + "\u200b" + TOKEN[5:]))
    response = client.post(url, {"api_path": API_PATH, "access_token": TOKEN})
    assert response.status_code == 302
    assert Credential.objects.get().client_secret == SECRET


def test_a_kept_secret_can_be_replaced(alice, bigcommerce, url):
    client = client_for(alice)
    client.post(url, fields(access_token="x"))
    assert CredentialDraft.objects.get().client_secret == SECRET
    calls = bigcommerce.calls
    client.post(url, {"api_path": API_PATH, "replace_kept": "client_secret"})
    draft = CredentialDraft.objects.get()
    assert draft.client_secret == "" and draft.client_id == CLIENT_ID
    assert bigcommerce.calls == calls  # nothing is checked


# Issue 29, item 8: "Replace the kept …" brought back an empty page: the API
# path, the values typed with it and the last error were gone.
def test_replacing_a_kept_value_keeps_what_was_typed_and_the_last_error(alice, bigcommerce, url):
    client = client_for(alice)
    broken = TOKEN[:11] + " " + TOKEN[11:]
    client.post(url, fields(access_token=broken))  # refused: the Client ID and secret are kept
    response = client.post(url, {"api_path": API_PATH, "replace_kept": "client_secret"})
    body = response.content.decode()
    assert response.status_code == 200
    assert api_path_value(body) == API_PATH
    assert "character 12" in body  # the last error, still beside its box
    assert "Replace the kept Client secret" not in body and "Replace the kept Client ID" in body
    # The token typed anew with a press is kept, and its old error goes.
    response = client.post(url, {"api_path": API_PATH, "access_token": TOKEN, "replace_kept": "client_id"})
    body = response.content.decode()
    assert "character 12" not in body
    response = client.post(url, {"api_path": API_PATH, "client_id": CLIENT_ID, "replace_kept": "client_id"})
    body = response.content.decode()
    draft = CredentialDraft.objects.get()
    assert (draft.client_id, draft.client_secret, draft.access_token) == (CLIENT_ID, "", TOKEN)
    assert f"…{TOKEN[-4:]}" in body and f"…{CLIENT_ID[-4:]}" in body
    assert "Replace the kept Client secret" not in body
    assert bigcommerce.calls == 0
    assert_no_secret(body)
    # The new secret alone completes it.
    response = client.post(url, {"api_path": API_PATH, "client_secret": SECRET})
    assert response.status_code == 302
    assert Credential.objects.get().client_secret == SECRET


def test_a_value_typed_into_the_replaced_box_replaces_it(alice, bigcommerce, url):
    client = client_for(alice)
    client.post(url, fields(client_id="q" * 30, access_token="x"))
    client.post(url, {"api_path": API_PATH, "client_id": CLIENT_ID, "replace_kept": "client_id"})
    assert CredentialDraft.objects.get().client_id == CLIENT_ID


def test_enter_in_a_box_presses_next_not_a_replace_button(alice, bigcommerce, url):
    body = client_for(alice).post(url, fields(access_token="x")).content.decode()
    form = body[body.index('<form method="post" enctype="multipart/form-data"') :]
    first_button = re.search(r"<button[^>]*>[^<]*</button>", form).group(0)
    assert 'type="submit"' in first_button and "name=" not in first_button and ">Next<" in first_button


# Issue 29, item 9: a Client ID kept while connecting one store was offered,
# and used, for the next store, with no word of which store it came from.
OTHER_HASH = "z7w3bn5"
OTHER_API_PATH = f"https://api.bigcommerce.com/stores/{OTHER_HASH}/v3/"


def test_kept_values_name_their_store_and_prefill_its_api_path(alice, bigcommerce, url):
    client = client_for(alice)
    client.post(url, fields(access_token="x"))
    body = client.get(url).content.decode()
    assert f"Kept from your last try for store <code>{HASH}</code>: ending in <code>…{CLIENT_ID[-4:]}</code>" in body
    assert api_path_value(body) == API_PATH
    assert CredentialDraft.objects.get().store_hash == HASH


def test_kept_values_are_never_used_for_another_store(alice, bigcommerce, url):
    bigcommerce.add_token(OTHER_HASH, TOKEN)
    client = client_for(alice)
    client.post(url, fields(access_token="x"))  # kept for HASH: the Client ID and secret
    calls = bigcommerce.calls
    response = client.post(url, {"api_path": OTHER_API_PATH, "access_token": TOKEN})
    body = response.content.decode()
    assert response.status_code == 422
    assert "Paste the Client ID BigCommerce showed you" in body
    assert "Paste the Client secret BigCommerce showed you" in body
    assert bigcommerce.calls == calls and not Store.objects.exists()
    # What stays kept is this try's, for this store.
    draft = CredentialDraft.objects.get()
    assert (draft.store_hash, draft.client_id, draft.access_token) == (OTHER_HASH, "", TOKEN)
    assert f"for store <code>{OTHER_HASH}</code>" in body and f"for store <code>{HASH}</code>" not in body


def test_values_kept_with_no_store_named_complete_the_next_try(alice, bigcommerce, url):
    client = client_for(alice)
    client.post(url, fields(api_path="https://example.com/stores/x/v3/"))
    assert CredentialDraft.objects.get().store_hash == ""
    body = client.get(url).content.decode()
    assert "Kept from your last try: ending in" in body and api_path_value(body) == ""
    assert client.post(url, {"api_path": API_PATH}).status_code == 302


def test_missing_scope_names_it_and_explains_the_fix(alice, bigcommerce, url):
    bigcommerce.add_token(HASH, TOKEN, ALL_SCOPES - {"store_checkout"})
    response = client_for(alice).post(url, fields())
    body = response.content.decode()
    assert response.status_code == 422
    assert "Checkouts: modify" in body
    assert "does not let anyone change a store-level API account" in body
    assert reverse("connect:wizard_scopes", args=["acme"]) in body
    assert not Store.objects.exists()
    assert not CredentialDraft.objects.exists()  # a new account brings all-new values


def test_read_only_variants_do_not_satisfy_modify(alice, bigcommerce, url):
    read_only = {
        "store_v2_customers_read_only",
        "store_v2_information_read_only",
        "store_v2_orders_read_only",
        "store_v2_products_read_only",
        "store_cart_read_only",
        "store_checkout_read_only",
    }
    bigcommerce.add_token(HASH, TOKEN, read_only)
    body = client_for(alice).post(url, fields()).content.decode()
    for label in ("Customers: modify", "Orders: modify", "Carts: modify", "Checkouts: modify"):
        assert label in body


def test_a_bad_token_is_named_beside_its_field_and_the_rest_is_kept(alice, bigcommerce, url):
    other = "z" * 31
    response = client_for(alice).post(url, fields(access_token=other))
    body = response.content.decode()
    assert response.status_code == 422
    assert 'id="id_access_token_error"' in body
    draft = CredentialDraft.objects.get()
    assert draft.access_token == "" and draft.client_secret == SECRET


def test_a_wrong_store_hash_is_named_beside_the_api_path(alice, bigcommerce, url):
    response = client_for(alice).post(url, fields(api_path="https://api.bigcommerce.com/stores/zzzz999/v3/"))
    assert response.status_code == 422
    assert 'id="id_api_path_error"' in response.content.decode()


def test_a_foreign_host_is_refused_without_a_call(alice, bigcommerce, url):
    response = client_for(alice).post(url, fields(api_path=f"https://evil.example/stores/{HASH}/v3/"))
    assert response.status_code == 422
    assert bigcommerce.calls == 0


def test_an_api_path_without_its_store_hash_is_refused_without_a_call(alice, bigcommerce, url):
    response = client_for(alice).post(url, fields(api_path="https://api.bigcommerce.com/stores/v3/"))
    assert response.status_code == 422
    assert "has no store hash between /stores/ and /v3/" in response.content.decode()
    assert bigcommerce.calls == 0 and not Store.objects.exists()


def test_swapped_token_and_secret_are_recognised(alice, bigcommerce, url):
    body = client_for(alice).post(url, fields(access_token=SECRET, client_secret=TOKEN)).content.decode()
    assert "Client secret" in body and bigcommerce.calls == 0


def test_the_txt_file_upload(alice, bigcommerce, url):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("Violet.txt", TXT.encode(), content_type="text/plain")
    response = client_for(alice).post(url, {"credentials_file": upload})
    assert response.status_code == 302
    assert Credential.objects.get().client_id == CLIENT_ID


def test_the_txt_pasted(alice, bigcommerce, url):
    response = client_for(alice).post(url, {"credentials_text": "\r\n" + TXT.replace("\n", "\r\n")})
    assert response.status_code == 302


def test_a_binary_file_gets_a_clear_message(alice, bigcommerce, url):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("photo.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    response = client_for(alice).post(url, {"credentials_file": upload})
    assert response.status_code == 422
    assert "file" in response.content.decode().lower()
    assert not Store.objects.exists()


def test_oversized_values_get_a_4xx_not_a_500(alice, bigcommerce, url):
    response = client_for(alice).post(url, fields(access_token="a" * 1_000_000))
    assert 400 <= response.status_code < 500
    assert not Store.objects.exists()


def test_a_store_connected_elsewhere_is_refused_without_naming_anyone(alice, charlie, bigcommerce, url):
    client_for(charlie).post(reverse("connect:wizard_credentials", args=["globex"]), fields())
    assert Store.objects.get().merchant.slug == "globex"
    response = client_for(alice).post(url, fields())
    body = response.content.decode()
    assert response.status_code == 422
    assert "already connected to Violet under another account" in body
    assert "Globex" not in body and "charlie" not in body
    assert Credential.objects.get().store.merchant.slug == "globex"


def test_a_store_connected_elsewhere_is_said_before_its_missing_scopes(alice, charlie, bigcommerce, url):
    """Told to fix the scopes, the merchant would build a new API account and then be refused."""
    client_for(charlie).post(reverse("connect:wizard_credentials", args=["globex"]), fields())
    other = "z9y8x7w6v5u4t3s2r1q0p9o8n7m6l5k"
    bigcommerce.add_token(HASH, other, scopes=ALL_SCOPES - {"store_checkout"})
    body = client_for(alice).post(url, fields(access_token=other)).content.decode()
    assert "already connected to Violet under another account" in body
    assert "Checkouts" not in body and "Globex" not in body
    assert Credential.objects.get().store.merchant.slug == "globex"


def test_a_typed_hash_alone_never_says_whose_store_it_is(alice, charlie, bigcommerce, url):
    client_for(charlie).post(reverse("connect:wizard_credentials", args=["globex"]), fields())
    body = client_for(alice).post(url, fields(access_token="w" * 31)).content.decode()
    assert "under another account" not in body


@override_settings(CONNECT_THROTTLE_PER_MERCHANT=3)
def test_live_checks_are_throttled_per_merchant(alice, bigcommerce, url):
    from django.core.cache import cache

    cache.clear()
    client = client_for(alice)
    for _ in range(3):
        assert client.post(url, fields(access_token="z" * 31)).status_code == 422
    calls = bigcommerce.calls
    response = client.post(url, fields())
    assert response.status_code == 429
    assert "Too many checks" in response.content.decode()
    assert bigcommerce.calls == calls  # no call while throttled
    assert CredentialDraft.objects.get().access_token == TOKEN  # nothing lost


def test_members_and_strangers_cannot_use_the_wizard(bob, charlie, bigcommerce, url):
    assert client_for(bob).get(url).status_code == 403
    assert client_for(bob).post(url, fields()).status_code == 403
    assert client_for(charlie).post(url, fields()).status_code == 404
    assert not Store.objects.exists() and bigcommerce.calls == 0


def test_csrf_is_enforced(alice, url):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post(url, fields()).status_code == 403


def test_kept_secrets_expire_and_are_forgotten(alice, bigcommerce, url):
    import time_machine
    from django.utils import timezone

    from connect.onboarding import drafts_forget_expired, kept_for

    client_for(alice).post(url, fields(access_token="x"))
    assert CredentialDraft.objects.count() == 1
    with time_machine.travel(timezone.now() + timezone.timedelta(minutes=31)):
        assert kept_for(alice.merchants.get(), alice) == {}
        assert drafts_forget_expired() == 1
    assert not CredentialDraft.objects.exists()


def test_disconnect_forgets_the_secrets_kept_for_that_store(alice, bigcommerce, url):
    from stores.services import store_disconnect

    client_for(alice).post(url, fields())
    store = Store.objects.get()
    replace = reverse("connect:store_replace", args=["acme", HASH])
    client_for(alice).post(replace, fields(access_token="q" * 31))
    assert CredentialDraft.objects.filter(target=HASH).exists()
    client_for(alice).post(url, fields(access_token="q" * 31))  # kept for HASH in the new-store wizard
    assert CredentialDraft.objects.filter(target="", store_hash=HASH).exists()
    store_disconnect(store=store)
    assert not CredentialDraft.objects.exists()


# --- after a refused attempt: which store, what stays, where the Replace buttons are


def api_path_value(body: str) -> str:
    tag = re.search(r'<input type="text" name="api_path"[^>]*>', body)
    assert tag, "no API path box"
    value = re.search(r' value="([^"]*)"', tag.group(0))
    return value.group(1) if value else ""


def test_a_missing_scope_names_the_store_and_keeps_its_api_path(alice, bigcommerce, url):
    bigcommerce.add_token(HASH, TOKEN, ALL_SCOPES - {"store_checkout"})
    # Pasted as the .txt's text: the API path box itself was left empty.
    response = client_for(alice).post(url, {"credentials_text": TXT})
    body = response.content.decode()
    assert response.status_code == 422 and "Checkouts: modify" in body
    assert f"of <bdi>Acme Outfitters</bdi> (store hash <code>{HASH}</code>)" in body
    assert api_path_value(body) == API_PATH
    assert_no_secret(body)


def test_the_replace_button_of_a_kept_value_sits_with_its_field(alice, bigcommerce, url):
    response = client_for(alice).post(url, fields(access_token="z" * 31))
    body = response.content.decode()
    assert response.status_code == 422
    labels = {name: body.index(f'<label for="id_{name}">') for name in ("client_id", "client_secret", "access_token")}
    client_id_button = body.index("Replace the kept Client ID")
    secret_button = body.index("Replace the kept Client secret")
    assert labels["client_id"] < client_id_button < labels["client_secret"]
    assert labels["client_secret"] < secret_button < labels["access_token"]
    assert SECRET[-4:] in body and 'name="replace_kept" value="client_secret"' in body


# Issue 28, item 11: a secret pasted into the API path box came back in the
# page's value="…". Only the canonical path of a store hash is ever shown back.
@pytest.mark.parametrize(
    "pasted",
    [
        TOKEN,
        SECRET,
        CLIENT_ID,
        f"ACCESS TOKEN: {TOKEN}",
        f"https://api.bigcommerce.com/stores/{TOKEN}/v3/",
        f"{API_PATH} {TOKEN}",
        f"{API_PATH}?token={TOKEN}",
        TXT,
    ],
)
def test_a_secret_pasted_into_the_api_path_box_is_never_shown_back(alice, bigcommerce, url, pasted):
    response = client_for(alice).post(url, fields(api_path=pasted), follow=True)
    body = response.content.decode()
    assert_no_secret(body)
    for box in re.findall(r'<input[^>]*name="api_path"[^>]*>', body):
        assert re.search(r'value="([^"]*)"', box) is None or f'value="{API_PATH}"' in box, box


@pytest.mark.parametrize(
    "typed",
    [API_PATH, f"https://api.bigcommerce.com/stores/{HASH.upper()}/v2", f"store-{HASH}.mybigcommerce.com", HASH],
)
def test_a_typed_api_path_comes_back_as_its_canonical_form(alice, bigcommerce, url, typed):
    body = client_for(alice).post(url, fields(api_path=typed, access_token=TOKEN[:11] + " " + TOKEN[11:])).content
    assert f'value="{API_PATH}"' in body.decode()
