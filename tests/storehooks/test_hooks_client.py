"""`stores.bigcommerce.webhooks` against BigCommerce faked with `responses`: the
requests are the real client's, over the real RequestsTransport."""

from __future__ import annotations

import asyncio
import itertools
import json
import re

import pytest
import responses

from stores.bigcommerce import webhooks as hooks
from stores.bigcommerce.client import BigCommerceClient, RequestsTransport

BASE = "https://api.bigcommerce.com"
HASH = "abc123"
TOKEN = "s3cr3tt0k3n1234567890abcdefghij"
OURS = "https://connect.violet.test/bigcommerce/webhooks/abc123/"
SCOPES = ["store/information/updated", "store/app/uninstalled"]
KEY = {"X-Violet-Account": "k1"}


class FakeHooks:
    """BigCommerce's /v3/hooks for one API account, in memory."""

    def __init__(self, rsps: responses.RequestsMock, *, page_size: int = 250) -> None:
        self.hooks: dict[int, dict] = {}
        self.ids = itertools.count(1)
        self.calls: list[tuple[str, str]] = []
        self.page_size = page_size
        self.fail: dict[str, int] = {}
        url = re.compile(re.escape(f"{BASE}/stores/{HASH}/v3/hooks") + r".*")
        for method in ("GET", "POST", "PUT", "DELETE"):
            rsps.add_callback(method, url, callback=self.answer)
        rsps.add_callback("GET", f"{BASE}/stores/{HASH}/v2/store", callback=self.profile)

    def add(self, scope, destination, *, is_active=True, headers=None) -> int:
        hook_id = next(self.ids)
        self.hooks[hook_id] = {
            "id": hook_id,
            "scope": scope,
            "destination": destination,
            "is_active": is_active,
            "headers": headers,
            "client_id": "c",
        }
        return hook_id

    def profile(self, request):
        return 200, {}, json.dumps({"id": HASH, "plan_name": "Pro", "phone": "555-0100"})

    def answer(self, request):
        assert request.headers["X-Auth-Token"] == TOKEN
        path = request.path_url
        self.calls.append((request.method, path.split("?")[0]))
        if request.method in self.fail:
            return self.fail[request.method], {}, json.dumps({"status": self.fail[request.method]})
        tail = path.split("/v3/hooks")[1]
        if request.method == "GET" and not tail.strip("/").split("?")[0]:
            query = dict(p.split("=") for p in path.split("?")[1].split("&"))
            page, limit = int(query["page"]), min(int(query["limit"]), self.page_size)
            items = list(self.hooks.values())
            chosen = items[(page - 1) * limit : page * limit]
            total_pages = max(1, -(-len(items) // limit))
            return (
                200,
                {},
                json.dumps(
                    {
                        "data": chosen,
                        "meta": {
                            "pagination": {
                                "total": len(items),
                                "count": len(chosen),
                                "per_page": limit,
                                "current_page": page,
                                "total_pages": total_pages,
                            }
                        },
                    }
                ),
            )
        if request.method == "POST":
            body = json.loads(request.body)
            hook_id = self.add(body["scope"], body["destination"], headers=body.get("headers"))
            return 200, {}, json.dumps({"data": self.hooks[hook_id], "meta": {}})
        hook_id = int(tail.strip("/"))
        if hook_id not in self.hooks:
            return 404, {}, json.dumps({"status": 404, "title": "Webhook not found"})
        if request.method == "PUT":
            self.hooks[hook_id].update(json.loads(request.body))
            return 200, {}, json.dumps({"data": self.hooks[hook_id], "meta": {}})
        if request.method == "DELETE":
            return 200, {}, json.dumps({"data": self.hooks.pop(hook_id), "meta": {}})
        return 200, {}, json.dumps({"data": self.hooks[hook_id], "meta": {}})

    def ours(self) -> dict[str, list[dict]]:
        found: dict[str, list[dict]] = {}
        for hook in self.hooks.values():
            if hooks.same_receiver(hook["destination"], OURS):
                found.setdefault(hook["scope"], []).append(hook)
        return found


@pytest.fixture
def fake():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeHooks(rsps)


def run(operation):
    async def main():
        client = BigCommerceClient(BASE, RequestsTransport(), max_attempts=1)
        try:
            return await operation(client)
        finally:
            await client.aclose()

    return asyncio.run(main())


def ensure(headers=KEY):
    return run(
        lambda c: hooks.ensure_hooks(c, HASH, access_token=TOKEN, destination=OURS, scopes=SCOPES, headers=headers)
    )


def test_first_registration_creates_one_hook_per_scope(fake):
    result = ensure()
    assert (result.created, result.updated, result.deleted) == (2, 0, 0)
    ours = fake.ours()
    assert sorted(ours) == sorted(SCOPES)
    assert all(len(v) == 1 and v[0]["headers"] == KEY and v[0]["is_active"] for v in ours.values())
    assert result.hooks == {scope: ours[scope][0]["id"] for scope in SCOPES}


def test_registering_again_changes_nothing(fake):
    first = ensure()
    fake.calls.clear()
    second = ensure()
    assert second.hooks == first.hooks
    assert (second.created, second.updated, second.deleted) == (0, 0, 0)
    assert [m for m, _ in fake.calls] == ["GET"]  # one list, no writes
    assert len(fake.hooks) == 2


def test_existing_hooks_are_reused_updated_and_deduplicated(fake):
    moved = fake.add(SCOPES[0], "https://old.violet.test/bigcommerce/webhooks/abc123/", headers=KEY)
    inactive = fake.add(SCOPES[1], OURS, is_active=False, headers=KEY)
    duplicate = fake.add(SCOPES[1], OURS, headers=KEY)
    stale_scope = fake.add("store/order/*", OURS)
    merchants_own = fake.add(SCOPES[0], "https://merchant.example/hooks")
    result = ensure()
    assert result.hooks == {SCOPES[0]: moved, SCOPES[1]: duplicate}
    assert (result.created, result.updated, result.deleted) == (0, 1, 2)
    assert fake.hooks[moved]["destination"] == OURS
    assert inactive not in fake.hooks and stale_scope not in fake.hooks
    assert merchants_own in fake.hooks  # not ours: never touched


def test_hooks_with_other_headers_get_ours(fake):
    hook_id = fake.add(SCOPES[0], OURS, headers={"X-Violet-Account": "old"})
    ensure()
    assert fake.hooks[hook_id]["headers"] == KEY


def test_listing_follows_pages(fake, monkeypatch):
    monkeypatch.setattr(hooks, "PAGE_SIZE", 2)
    fake.page_size = 2
    for n in range(5):
        fake.add(f"store/product/{n}", "https://merchant.example/hooks")
    fake.add(SCOPES[0], OURS, headers=KEY)
    result = ensure()
    assert result.created == 1  # found the sixth hook on page 3
    assert len(fake.hooks) == 7


def test_remove_deletes_only_ours(fake):
    ensure()
    merchants_own = fake.add(SCOPES[0], "https://merchant.example/hooks")
    removed = run(lambda c: hooks.remove_hooks(c, HASH, access_token=TOKEN, destination=OURS))
    assert removed == 2
    assert list(fake.hooks) == [merchants_own]


def test_a_hook_already_gone_counts_as_deleted(fake):
    run(lambda c: hooks.delete_hook(c, HASH, 999, access_token=TOKEN))


@pytest.mark.parametrize("status,transient", [(401, False), (403, False), (503, True), (500, True)])
def test_failures_raise_call_failed_without_the_token(fake, status, transient):
    fake.fail["GET"] = status
    with pytest.raises(hooks.CallFailed) as caught:
        ensure()
    assert caught.value.status == status and caught.value.transient is transient
    assert str(caught.value) == f"GET /v3/hooks?limit=250&page=1 -> {status}"
    assert TOKEN not in repr(caught.value)


def test_fetch_profile_keeps_the_fields_a_check_keeps(fake):
    assert run(lambda c: hooks.fetch_profile(c, HASH, access_token=TOKEN)) == {
        "id": HASH,
        "plan_name": "Pro",
    }


def test_same_receiver():
    assert hooks.same_receiver("https://a.test/bigcommerce/webhooks/abc123/", OURS)
    assert not hooks.same_receiver("https://a.test/bigcommerce/webhooks/abc1234/", OURS)
    assert not hooks.same_receiver("https://a.test/other", OURS)


def test_fetch_profile_makes_every_value_storable():
    """Issue 28, item 3: a re-read profile (after store/information/updated)
    carries no U+0000 and no lone surrogate into the database."""
    body = '{"id": "' + HASH + '", "name": "Bad\\u0000Name", "plan_name": "Half \\ud800 pair"}'
    with responses.RequestsMock() as rsps:
        rsps.add("GET", f"{BASE}/stores/{HASH}/v2/store", body=body, content_type="application/json")
        profile = run(lambda c: hooks.fetch_profile(c, HASH, access_token=TOKEN))
    assert profile == {"id": HASH, "name": "BadName", "plan_name": "Half \ufffd pair"}
