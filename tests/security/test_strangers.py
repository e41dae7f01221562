"""Every merchant-facing URL, asked for with another merchant's ids: 404 for a
signed-in stranger, the login page for an anonymous visitor, never data."""


import pytest

from merchants.models import Invitation, Membership
from stores.models import Credential, Store
from tests.conftest import ACME_TOKEN, client_for
from tests.security.routes import KWARG, routes


def merchant_routes() -> list[tuple[str, str]]:
    """(name, route) of every pattern under /m/<merchant_slug>/."""
    return routes(lambda route: "<slug:merchant_slug>" in route)


def fill(route: str, values: dict[str, str]) -> str:
    def value(match):
        name = match.group("name")
        if name not in values:
            raise AssertionError(f"test does not know how to fill <{name}> in {route}: add it")
        return values[name]

    return "/" + KWARG.sub(value, route)


ROUTES = merchant_routes()


def test_the_walk_finds_the_merchant_pages():
    names = {name for name, _ in ROUTES}
    assert {"dashboard", "store_detail", "store_replace", "store_disconnect", "wizard_credentials", "people"} <= names


@pytest.fixture
def acme_urls(acme_store, alice):
    ids = {
        "merchant_slug": "acme",
        "store_hash": acme_store.store_hash,
        "membership_id": str(Membership.objects.get(user=alice).pk),
        "invitation_id": str(Invitation.objects.create(merchant=acme_store.merchant, email="d@acme.test").pk),
    }
    return [fill(route, ids) for _, route in ROUTES]


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_stranger_gets_404_on_every_merchant_url(charlie, globex_store, acme_urls, method):
    client = client_for(charlie)
    for url in acme_urls:
        response = getattr(client, method)(
            url, {"field": "access_token", "target": "acme123", "email": "x@y.test", "role": "owner"}
        )
        assert response.status_code == 404, f"{method.upper()} {url} → {response.status_code}"
        assert b"Acme" not in response.content


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_anonymous_visitor_is_sent_to_log_in(client, acme_urls, method):
    for url in acme_urls:
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/login/"), url


def test_a_member_of_one_merchant_cannot_reach_another_through_its_own_slug(bob, acme_store, globex_store):
    """bob belongs to Acme: Globex's store hash under Acme's slug is 404."""
    client = client_for(bob)
    for _name, route in ROUTES:
        if "<str:store_hash>" not in route:
            continue
        url = fill(route, {"merchant_slug": "acme", "store_hash": globex_store.store_hash})
        assert client.get(url).status_code in (404, 405), url  # 405: POST-only, says nothing of the object
        assert client.post(url).status_code in (404, 405), url


def test_nothing_changed_after_all_that(charlie, bob, acme_store, acme_urls):
    for client in (client_for(charlie), client_for(bob)):
        for url in acme_urls:
            client.post(url)
    acme_store.refresh_from_db()
    assert acme_store.status == "connected"
    assert Credential.objects.get(store=acme_store).access_token == ACME_TOKEN
    assert Store.objects.count() == 1
