"""Links from a store's profile: only web addresses, at ingest, at render and in the API."""

import pytest
from django.urls import reverse
from django.utils import timezone

from api.tokens import api_token_issue
from stores.links import safe_web_url
from stores.models import Store
from stores.services.profile import apply_profile, store_refresh_profile

HOSTILE = [
    "javascript:alert(document.domain)",
    "JavaScript:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "//evil.example/",
    "https://store.example@evil.example/",
    "https:///nohost",
    "https://evil.example/\nSet-Cookie: x",
    "ftp://store.example/",
    "",
    None,
    42,
]


@pytest.mark.parametrize("value", HOSTILE)
def test_only_web_addresses_pass(value, settings):
    settings.DEBUG = True
    assert safe_web_url(value) == ""


def test_http_only_in_development(settings):
    settings.DEBUG = False
    assert safe_web_url("https://shop.example/") == "https://shop.example/"
    assert safe_web_url("http://shop.example/") == ""
    settings.DEBUG = True
    assert safe_web_url("http://127.0.0.1:8100/") == "http://127.0.0.1:8100/"


def test_ingest_keeps_no_script_url(acme_store, settings):
    settings.DEBUG = False
    profile = {
        "name": "Evil",
        "secure_url": "javascript:alert(1)",
        "control_panel_base_url": "https://store-acme123.mybigcommerce.com",
    }
    store_refresh_profile(store=acme_store, profile=profile)
    acme_store.refresh_from_db()
    assert acme_store.secure_url == "" and acme_store.profile["secure_url"] == ""
    assert acme_store.control_panel_url == "https://store-acme123.mybigcommerce.com"


def test_apply_profile_is_the_filter(acme_store, settings):
    settings.DEBUG = False
    profile = {"secure_url": "data:text/html,x", "control_panel_base_url": "http://x.example"}
    apply_profile(acme_store, profile, timezone.now())
    assert acme_store.secure_url == "" and acme_store.control_panel_url == ""


@pytest.fixture
def stored_javascript_url(acme_store):
    # A row written before the rule (or by any other path): rendering checks again.
    Store.objects.filter(pk=acme_store.pk).update(
        secure_url="javascript:alert(1)", control_panel_url="javascript:alert(2)"
    )
    return acme_store


def test_the_console_draws_no_script_link(stored_javascript_url, admin_client):
    page = admin_client.get(reverse("admin:stores_store_change", args=[stored_javascript_url.pk]))
    assert page.status_code == 200
    assert "javascript:" not in page.content.decode()


def test_the_api_serves_no_script_url(stored_javascript_url, admin_user, client):
    _token, raw = api_token_issue(name="t", created_by=admin_user)
    response = client.get(
        reverse("api:store_detail", args=[stored_javascript_url.store_hash]), HTTP_AUTHORIZATION=f"Bearer {raw}"
    )
    assert response.status_code == 200
    assert "javascript:" not in response.content.decode()
