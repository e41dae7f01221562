"""alice (Acme owner), bob (Acme member) and charlie (Globex owner) see exactly
what they should; strangers get 404; anonymous visitors are sent to log in."""

import pytest
from django.urls import reverse

from merchants.tenancy import TENANT_URL_KWARG
from tests.conftest import client_for
from tests.security.routes import url_patterns

# Merchant-facing URLs that are not about one merchant's data.
UNSCOPED_CONNECT_URLS = {"connect:home", "connect:merchant_picker"}


def connect_url_names() -> dict[str, str]:
    """Every named pattern in the `connect` namespace → its full route."""
    return {
        f"connect:{pattern.name}": route
        for pattern, route, namespace in url_patterns()
        if namespace == "connect" and pattern.name
    }


def test_every_merchant_page_is_scoped_by_the_tenant_middleware():
    names = connect_url_names()
    assert "connect:dashboard" in names and "connect:store_detail" in names
    for name, route in names.items():
        if name in UNSCOPED_CONNECT_URLS:
            continue
        assert f"<slug:{TENANT_URL_KWARG}>" in route, f"{name} ({route}) escapes tenant scoping"


@pytest.fixture
def urls(acme_store):
    return {
        "dashboard": reverse("connect:dashboard", args=["acme"]),
        "store": reverse("connect:store_detail", args=["acme", acme_store.store_hash]),
        "people": reverse("connect:people", args=["acme"]),
    }


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_members_see_their_merchant(request, who, urls, acme_store):
    client = client_for(request.getfixturevalue(who))
    response = client.get(urls["dashboard"])
    assert response.status_code == 200
    assert acme_store.name in response.content.decode()
    assert client.get(urls["store"]).status_code == 200
    assert client.get(urls["people"]).status_code == 200


def test_a_stranger_gets_404_everywhere(charlie, urls, globex_store):
    client = client_for(charlie)
    for url in urls.values():
        response = client.get(url)
        assert response.status_code == 404, url
        assert b"Acme" not in response.content


def test_a_stranger_cannot_reach_another_merchants_store_through_their_own_slug(charlie, acme_store):
    # The store hash is Acme's; the slug is charlie's own merchant.
    response = client_for(charlie).get(reverse("connect:store_detail", args=["globex", acme_store.store_hash]))
    assert response.status_code == 404


def test_a_merchant_only_lists_its_own_stores(charlie, acme_store, globex_store):
    response = client_for(charlie).get(reverse("connect:dashboard", args=["globex"]))
    body = response.content.decode()
    assert globex_store.name in body
    assert acme_store.name not in body


def test_anonymous_visitors_are_sent_to_log_in(client, urls):
    for url in urls.values():
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_unknown_merchant_is_404_not_500(alice):
    assert client_for(alice).get(reverse("connect:dashboard", args=["nope"])).status_code == 404


def test_members_read_but_only_owners_invite(alice, bob, mailoutbox):
    url = reverse("connect:people", args=["acme"])
    response = client_for(bob).post(url, {"email": "dana@acme.test", "role": "member"})
    assert response.status_code == 403
    assert mailoutbox == []

    response = client_for(alice).post(url, {"email": "dana@acme.test", "role": "member"})
    assert response.status_code == 302
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["dana@acme.test"]


def test_switching_between_merchants(alice, globex):
    from merchants.models import Membership

    Membership.objects.create(merchant=globex, user=alice, role="member")
    client = client_for(alice)
    assert client.get(reverse("connect:home"))["Location"] == reverse("connect:merchant_picker")
    picker = client.get(reverse("connect:merchant_picker")).content.decode()
    assert "Acme" in picker and "Globex" in picker
    client.get(reverse("connect:dashboard", args=["globex"]))
    # Home remembers the merchant used last.
    assert client.get(reverse("connect:home"))["Location"] == reverse("connect:dashboard", args=["globex"])


def test_tenant_scope_refuses_models_that_are_not_tenant_owned(alice, acme):
    from merchants.models import Membership, Merchant
    from merchants.tenancy import Tenant

    tenant = Tenant(merchant=acme, membership=Membership.objects.get(user=alice))
    with pytest.raises(TypeError):
        tenant.scope(Merchant.objects.all())
