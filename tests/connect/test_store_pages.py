"""Store pages: dashboard, store page, check now, replace credentials, disconnect."""

import re

import pytest
import responses
from django.urls import reverse

from stores import services
from stores.bigcommerce.report import Outcome
from stores.models import Credential, Store
from stores.status import StoreStatus
from tests.conftest import client_for
from tests.connect.test_wizard import API_PATH, CLIENT_ID, HASH, SECRET, TOKEN, assert_no_secret, fields
from tests.fake_bigcommerce import FakeBigCommerce
from tests.reports import credentials, report

NEW_TOKEN = "n3wt0k3nzyxwvutsrqponmlkjihgfed"


@pytest.fixture
def bigcommerce():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake = FakeBigCommerce(rsps)
        fake.add_token(HASH, TOKEN)
        fake.add_token(HASH, NEW_TOKEN)
        yield fake


@pytest.fixture
def store(acme, alice):
    creds = credentials(HASH, token=TOKEN)
    creds = type(creds)(store_hash=HASH, access_token=TOKEN, client_id=CLIENT_ID, client_secret=SECRET)
    return services.store_connect(merchant=acme, credentials=creds, report=report(store_hash=HASH), user=alice)


def page(client, name, *args):
    return client.get(reverse(f"connect:{name}", args=["acme", *args]))


def test_dashboard_shows_status_plan_and_what_to_do(alice, store):
    services.store_record_check(
        store_id=store.pk,
        report=report(Outcome.MISSING_SCOPES, store_hash=HASH, missing=["store_cart"]),
        trigger="schedule",
        started_at=store.created_at,
        duration_ms=1,
    )
    services.store_record_check(
        store_id=store.pk,
        report=report(Outcome.MISSING_SCOPES, store_hash=HASH, missing=["store_cart"]),
        trigger="schedule",
        started_at=store.created_at,
        duration_ms=1,
    )
    body = page(client_for(alice), "dashboard").content.decode()
    assert "Acme Outfitters" in body and "acme.example" in body and "Plus" in body
    assert "badge-missing_scopes" in body and "Carts: modify" in body
    assert "Create a new API account" in body


def test_store_page_shows_history_scopes_and_no_secret(alice, store):
    body = page(client_for(alice), "store_detail", HASH).content.decode()
    assert "Scopes at the last check" in body and "Checkouts: modify" in body and "Granted" in body
    assert "Onboarding" in body and "Pending → <strong>Connected</strong>" in body
    assert_no_secret(body)


def test_members_read_but_see_no_actions(bob, store):
    body = page(client_for(bob), "store_detail", HASH).content.decode()
    assert "Acme Outfitters" in body
    assert "Replace credentials" not in body and "Disconnect" not in body and "Check now" not in body


@pytest.mark.parametrize(
    "name,method",
    [
        ("store_check_now", "post"),
        ("store_replace", "get"),
        ("store_replace", "post"),
        ("store_disconnect", "get"),
        ("store_disconnect", "post"),
    ],
)
def test_members_cannot_change_anything(bob, store, name, method):
    response = getattr(client_for(bob), method)(reverse(f"connect:{name}", args=["acme", HASH]))
    assert response.status_code == 403
    store.refresh_from_db()
    assert store.status == "connected" and Credential.objects.filter(store=store).exists()


def test_check_now_queues_one_check_and_is_throttled(alice, store, monkeypatch):
    sent = []
    monkeypatch.setattr("stores.tasks.check_stores.delay", lambda *args: sent.append(args))
    client = client_for(alice)
    url = reverse("connect:store_check_now", args=["acme", HASH])
    response = client.post(url, follow=True)
    body = response.content.decode()
    assert "This page updates itself when the check ends" in body and "Refresh this page" not in body
    # While the check runs, the page polls its status and does not pass the lease off as the next check.
    assert 'id="check-progress"' in body and "js/store-status.js" in body
    assert "Running now" in body
    assert len(sent) == 1 and sent[0][0] == [store.pk] and sent[0][2] == "merchant"
    assert not any(TOKEN in repr(arg) for arg in sent[0])  # ids and a claim token, never secrets
    response = client.post(url, follow=True)
    assert "a moment ago" in response.content.decode()
    assert len(sent) == 1


def test_replace_credentials_validates_then_swaps(alice, store, bigcommerce):
    url = reverse("connect:store_replace", args=["acme", HASH])
    response = client_for(alice).post(url, {"access_token": NEW_TOKEN, "client_id": CLIENT_ID, "client_secret": SECRET})
    assert response.status_code == 302
    assert Credential.objects.get(store=store).access_token == NEW_TOKEN
    assert store.checks.filter(trigger="replace").exists()


def test_the_store_page_names_the_api_account_in_use_and_replacing_says_delete_the_old(alice, store, bigcommerce):
    """Step 3 promises the last four characters: the merchant can tell which API account
    Violet uses, and after replacing it, which one to delete in BigCommerce."""
    client = client_for(alice)
    body = page(client, "store_detail", HASH).content.decode()
    assert f"Client ID ending in <code>…{CLIENT_ID[-4:]}</code>" in body
    assert f"access token ending in <code>…{TOKEN[-4:]}</code>" in body and "alice@acme.test" in body
    assert_no_secret(body)
    new_client_id = "n3wc1ient1dq9w8e7r6t5y4u3i2o1z"
    url = reverse("connect:store_replace", args=["acme", HASH])
    response = client.post(
        url, {"access_token": NEW_TOKEN, "client_id": new_client_id, "client_secret": SECRET}, follow=True
    )
    body = response.content.decode()
    assert "delete it in BigCommerce" in body and f"Client ID ends in …{CLIENT_ID[-4:]}" in body
    assert f"Client ID ending in <code>…{new_client_id[-4:]}</code>" in body
    assert_no_secret(body, (NEW_TOKEN, new_client_id, SECRET, TOKEN, CLIENT_ID))


def test_re_sending_the_credentials_in_use_says_nothing_changed(alice, store, bigcommerce):
    url = reverse("connect:store_replace", args=["acme", HASH])
    body = client_for(alice).post(url, fields(), follow=True).content.decode()
    assert "These are the credentials Violet already uses" in body and "nothing changed" in body
    assert "New credentials saved" not in body and "delete it in BigCommerce" not in body
    body = client_for(alice).post(url, fields(access_token=NEW_TOKEN), follow=True).content.decode()
    assert "New credentials saved" in body and "nothing changed" not in body


def test_replace_with_bad_credentials_keeps_the_old_ones(alice, store, bigcommerce):
    url = reverse("connect:store_replace", args=["acme", HASH])
    response = client_for(alice).post(url, fields(access_token="q" * 31))
    assert response.status_code == 422
    assert Credential.objects.get(store=store).access_token == TOKEN


def test_replace_with_another_stores_credentials_is_refused(alice, store, bigcommerce):
    url = reverse("connect:store_replace", args=["acme", HASH])
    response = client_for(alice).post(url, fields(api_path="https://api.bigcommerce.com/stores/other77/v3/"))
    assert response.status_code == 422
    assert "for another store" in response.content.decode()
    assert bigcommerce.calls == 0


def test_disconnect_asks_then_deletes_the_secrets_and_keeps_history(alice, store):
    client = client_for(alice)
    confirm = page(client, "store_disconnect", HASH)
    assert "Disconnect and delete the credentials" in confirm.content.decode()
    response = client.post(reverse("connect:store_disconnect", args=["acme", HASH]))
    assert response.status_code == 302
    store.refresh_from_db()
    assert store.status == "disconnected"
    assert not Credential.objects.filter(store=store).exists()
    assert store.checks.exists()
    assert "Connect it again" in page(client, "store_detail", HASH).content.decode()


def test_reconnect_after_disconnect_through_the_wizard(alice, store, bigcommerce):
    client = client_for(alice)
    client.post(reverse("connect:store_disconnect", args=["acme", HASH]))
    response = client.post(reverse("connect:wizard_credentials", args=["acme"]), fields())
    assert response.status_code == 302
    assert Store.objects.get(store_hash=HASH).status == "connected"


def test_strangers_get_404_on_every_store_page(charlie, store):
    client = client_for(charlie)
    for name, method in [
        ("store_detail", "get"),
        ("store_check_now", "post"),
        ("store_replace", "get"),
        ("store_replace", "post"),
        ("store_disconnect", "get"),
        ("store_disconnect", "post"),
        ("store_reconnect", "get"),
    ]:
        assert getattr(client, method)(reverse(f"connect:{name}", args=["acme", HASH])).status_code == 404
    for step in ("wizard_account", "wizard_scopes", "wizard_save"):
        for wanted in (HASH, "", "a\x00b", HASH.upper(), "x" * 300):
            assert client.get(reverse(f"connect:{step}", args=["acme"]), {"store": wanted}).status_code == 404
    store.refresh_from_db()
    assert store.status == "connected"


# Issue 29, item 10: the replace page's step pills led into the new-store
# wizard, its API path box was empty, and "Connect it again" restarted at step 1.
def step_links(body: str) -> list[str]:
    nav = body[body.index('<nav aria-label="Steps"') :]
    return re.findall(r'<a href="([^"]+)"', nav[: nav.index("</nav>")])


def test_the_replace_pages_steps_stay_in_the_replace_flow(alice, store):
    client = client_for(alice)
    replace = reverse("connect:store_replace", args=["acme", HASH])
    wizard = [reverse(f"connect:{n}", args=["acme"]) for n in ("wizard_account", "wizard_scopes", "wizard_save")]
    expected = [f"{url}?store={HASH}" for url in wizard] + [replace]
    body = client.get(replace).content.decode()
    assert step_links(body) == expected
    for number, url in enumerate(wizard):
        step = client.get(url, {"store": HASH}).content.decode()
        assert step_links(step) == expected
        assert "Replace the credentials of <bdi>Acme Outfitters</bdi>" in step
        following = expected[number + 1]
        assert f'class="button primary" href="{following}"' in step  # its Next stays in the flow
        assert reverse("connect:wizard_credentials", args=["acme"]) not in step


def test_the_replace_page_prefills_the_stores_api_path(alice, store):
    body = page(client_for(alice), "store_replace", HASH).content.decode()
    assert re.search(r'<input type="text" name="api_path"[^>]* value="' + re.escape(API_PATH) + '"', body)
    assert_no_secret(body)


def test_connect_it_again_resumes_where_the_merchant_left_off(alice, store, bigcommerce):
    client = client_for(alice)
    client.post(reverse("connect:store_disconnect", args=["acme", HASH]))
    again = reverse("connect:store_reconnect", args=["acme", HASH])
    detail = page(client, "store_detail", HASH).content.decode()
    assert f'href="{again}">Connect it again' in detail
    # Connected once: its credentials page, the API path filled in, steps 1–3 a click away.
    response = client.get(again)
    assert response.status_code == 302 and response.url == reverse("connect:store_replace", args=["acme", HASH])
    body = client.get(response.url).content.decode()
    assert "Connect <bdi>Acme Outfitters</bdi> again" in body and API_PATH in body
    assert "keep working" not in body  # there are no current credentials
    # Gone back to step 2 for a new API account: "Connect it again" brings them back there.
    client.get(reverse("connect:wizard_scopes", args=["acme"]), {"store": HASH})
    assert client.get(again).url == reverse("connect:wizard_scopes", args=["acme"]) + f"?store={HASH}"
    # And the credentials page connects it again.
    response = client.post(reverse("connect:store_replace", args=["acme", HASH]), fields())
    assert response.status_code == 302
    assert Store.objects.get(store_hash=HASH).status == "connected"


def test_replace_kept_cannot_target_another_merchants_store(charlie, store, globex):
    response = client_for(charlie).post(
        reverse("connect:store_replace", args=["globex", HASH]), {"replace_kept": "access_token"}
    )
    assert response.status_code == 404


def test_api_path_is_kept_after_a_failed_attempt_but_no_secret_is(alice, bigcommerce):
    body = (
        client_for(alice)
        .post(reverse("connect:wizard_credentials", args=["acme"]), fields(access_token="q" * 31))
        .content.decode()
    )
    assert f'value="{API_PATH}"' in body
    assert_no_secret(body)


def test_the_status_json_says_whether_a_check_is_running(alice, bob, charlie, store, monkeypatch):
    monkeypatch.setattr("stores.tasks.check_stores.delay", lambda *args: None)
    status_url = reverse("connect:store_status", args=["acme", HASH])
    reader = client_for(bob)
    first = reader.get(status_url)
    assert first.status_code == 200 and "no-store" in first["Cache-Control"]
    assert first.json()["checking"] is False and first.json()["status"] == "connected"
    client_for(alice).post(reverse("connect:store_check_now", args=["acme", HASH]))
    assert reader.get(status_url).json()["checking"] is True
    # The check ends: its result is recorded, the claim released.
    services.store_record_check(
        store_id=store.pk, report=report(store_hash=HASH), trigger="merchant", started_at=store.created_at,
        duration_ms=5, claim_token=Store.objects.get(pk=store.pk).claim_token,
    )
    assert reader.get(status_url).json()["checking"] is False
    assert client_for(charlie).get(status_url).status_code == 404


def test_times_on_the_store_page_say_their_zone_and_outcomes_are_words(alice, store):
    services.store_record_check(
        store_id=store.pk, report=report(Outcome.MISSING_SCOPES, store_hash=HASH, missing=["store_cart"]),
        trigger="schedule", started_at=store.created_at, duration_ms=7,
    )
    body = page(client_for(alice), "store_detail", HASH).content.decode()
    assert f"{store.created_at:%Y-%m-%d %H:%M} UTC" in body
    assert "Scopes missing" in body and ">missing_scopes<" not in body
    for label in ("When", "Why", "Outcome", "Took"):
        assert f'data-label="{label}"' in body


def test_a_disconnected_store_shows_no_granted_scopes_and_true_words(alice, store):
    services.store_record_check(
        store_id=store.pk, report=report(store_hash=HASH), trigger="schedule", started_at=store.created_at,
        duration_ms=7,
    )
    client = client_for(alice)
    client.post(reverse("connect:store_disconnect", args=["acme", HASH]))
    body = page(client, "store_detail", HASH).content.decode()
    assert "Granted" not in body and "Scopes at the last check" not in body
    assert "new API account" not in body and "the same values work" in body
    dashboard = page(client, "dashboard").content.decode()
    assert "No store is connected yet" not in dashboard
    assert "None of your stores is connected to Violet now" in dashboard


def test_the_dashboard_says_when_a_store_was_and_will_be_checked(alice, store):
    """Relative times, each a `<time>` with the exact moment (zone said) in its title."""
    import re
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    Store.objects.filter(pk=store.pk).update(
        last_checked_at=now - timedelta(minutes=3), next_check_at=now + timedelta(minutes=12, seconds=30)
    )
    body = page(client_for(alice), "dashboard").content.decode()
    last = re.search(r'Last check: <time datetime="([^"]+)" title="([^"]+)">([^<]+)</time>', body)
    following = re.search(r'Next check: <time datetime="[^"]+" title="[^"]+">([^<]+)</time>', body)
    assert last and following, body
    assert last.group(1) == timezone.localtime(now - timedelta(minutes=3)).isoformat()
    assert last.group(2).endswith(" UTC") and last.group(3) == "3\xa0minutes ago"
    assert following.group(1) == "in 12\xa0minutes"
    Store.objects.filter(pk=store.pk).update(last_checked_at=None, next_check_at=None)
    body = page(client_for(alice), "dashboard").content.decode()
    assert "Last check: —" in body and "Next check: —" in body


def test_a_check_within_the_minute_was_just_now_not_0_minutes_ago(alice, store):
    import re
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    Store.objects.filter(pk=store.pk).update(
        last_checked_at=now - timedelta(seconds=20), next_check_at=now + timedelta(seconds=30)
    )
    body = page(client_for(alice), "dashboard").content.decode()
    assert re.search(r"Last check: <time [^>]+>just now</time>", body), body
    assert re.search(r"Next check: <time [^>]+>within a minute</time>", body)
    assert "0\xa0minutes" not in body


def test_the_dashboard_asks_the_database_as_often_for_many_stores_as_for_one(alice, store, acme):
    """No query per store (the profile is not loaded; nothing on the page reads it)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(alice)
    page(client, "dashboard")  # sessions and caches warm

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert page(client, "dashboard").status_code == 200
        return len(captured)

    one = queries()
    Store.objects.bulk_create(
        Store(merchant=acme, store_hash=f"more{i}", name=f"More {i}", status="connected", profile={"plan_name": "x"})
        for i in range(5)
    )
    assert queries() == one
    Store.objects.filter(store_hash__startswith="more").update(failure_count=1)  # newest checks to read
    assert queries() == one + 1  # one query for all their latest checks, not one a store


def test_a_check_that_just_failed_is_said_not_hidden_under_connected(alice, store):
    """After "Check now" on a store whose token was deleted: the status waits for the
    confirming check, but the card says what the check saw and what happens next."""
    from datetime import timedelta

    from django.utils import timezone

    from stores.models import Check

    now = timezone.now()
    Check.objects.create(
        store=store, started_at=now, outcome="invalid_token", trigger=Check.Trigger.MERCHANT, duration_ms=80
    )
    Store.objects.filter(pk=store.pk).update(
        suspected_status=StoreStatus.REVOKED, failure_count=1, next_check_at=now + timedelta(minutes=1)
    )
    body = page(client_for(alice), "store_detail", store.store_hash).content.decode()
    assert "Every scope it needs is granted" not in body
    assert "did not pass: Access token refused." in body
    assert "Violet checks again at " in body and "before it calls this store revoked" in body
    dashboard = page(client_for(alice), "dashboard").content.decode()
    assert "did not pass: Access token refused." in dashboard and "Every scope it needs is granted" not in dashboard
    Store.objects.filter(pk=store.pk).update(suspected_status="", failure_count=0)
    Check.objects.create(store=store, started_at=now + timedelta(seconds=5), outcome="connected", trigger="schedule")
    body = page(client_for(alice), "store_detail", store.store_hash).content.decode()
    assert "Every scope it needs is granted" in body


def test_pausing_a_broken_store_keeps_its_fix_on_the_page(alice, store):
    from stores.status import CAUSES

    for _ in range(2):  # refused, then confirmed
        services.store_record_check(
            store_id=store.pk,
            report=report(Outcome.INVALID_TOKEN, store_hash=HASH),
            trigger="schedule",
            started_at=timezone_now(),
            duration_ms=5,
        )
    store.refresh_from_db()
    assert store.status == StoreStatus.REVOKED
    services.store_pause(store=store, reason="testing pause")
    body = page(client_for(alice), "store_detail", store.store_hash).content.decode()
    assert CAUSES[StoreStatus.REVOKED].replace("'", "&#x27;") in body  # what broke
    assert "Violet staff paused the checks of this store." in body  # and the pause
    assert "Replace the credentials</a>" in body  # the fix's steps are still there
    assert "testing pause" not in body


def timezone_now():
    from django.utils import timezone

    return timezone.now()


def test_a_right_to_left_override_in_a_store_name_stays_inside_it(alice, store):
    """A store name is BigCommerce's (the merchant's) text: isolated with <bdi>, its
    U+202E cannot reverse the words around it in a heading or a list."""
    Store.objects.filter(pk=store.pk).update(name="Evil\u202eemaN")
    body = page(client_for(alice), "store_detail", HASH).content.decode()
    assert "<h1><bdi>Evil\u202eemaN</bdi></h1>" in body
    dashboard = page(client_for(alice), "dashboard").content.decode()
    assert "<bdi>Evil\u202eemaN</bdi></a>" in dashboard
    assert "<h1><bdi>Acme</bdi>: stores</h1>" in dashboard
