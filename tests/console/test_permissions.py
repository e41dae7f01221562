"""The two staff roles: Support views everything and changes nothing;
Operations also acts. People who are not staff never reach the admin."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from api.tokens import api_token_issue
from stores.models import Credential, StatusChange
from tests.conftest import client_for

ACTIONS = ["check", "pause", "resume", "disconnect", "replace_credentials"]


def url(name, *args):
    return reverse(f"admin:{name}", args=args)


def view_pages(store, endpoint, token):
    return [
        url("index"),
        url("stores_store_changelist"),
        url("stores_store_change", store.pk),
        url("stores_store_history", store.pk),
        url("stores_store_export"),
        url("stores_check_changelist"),
        url("stores_statuschange_changelist"),
        url("merchants_merchant_changelist"),
        url("merchants_merchant_change", store.merchant_id),
        url("merchants_user_changelist"),
        url("merchants_invitation_changelist"),
        url("notifications_notification_changelist"),
        url("notifications_webhookendpoint_changelist"),
        url("notifications_webhookendpoint_change", endpoint.pk),
        url("api_apitoken_changelist"),
        url("api_apitoken_change", token.pk),
        url("admin_logentry_changelist"),
        url("django_celery_beat_periodictask_changelist"),
    ]


def action_pages(store, endpoint, token):
    return [
        url("stores_store_check", store.pk),
        url("stores_store_pause", store.pk),
        url("stores_store_resume", store.pk),
        url("stores_store_disconnect", store.pk),
        url("stores_store_replace_credentials", store.pk),
        url("merchants_merchant_invite", store.merchant_id),
        url("notifications_webhookendpoint_add"),
        url("notifications_webhookendpoint_rotate", endpoint.pk),
        url("api_apitoken_add"),
        url("api_apitoken_revoke", token.pk),
    ]


@pytest.fixture
def token(superuser):
    return api_token_issue(name="Dashboards", created_by=superuser)[0]


def test_the_migration_creates_both_groups_with_the_custom_store_permissions(staff_groups):
    codenames = set(
        Permission.objects.filter(
            content_type__app_label="stores", content_type__model="store"
        ).values_list("codename", flat=True)
    )
    assert {"check_store", "pause_store", "disconnect_store", "replace_credentials"} <= codenames
    support = set(staff_groups["Support"].permissions.values_list("codename", flat=True))
    operations = set(staff_groups["Operations"].permissions.values_list("codename", flat=True))
    assert support and all(codename.startswith("view_") for codename in support)
    assert {
        "view_store",
        "view_check",
        "view_statuschange",
        "view_logentry",
        "view_periodictask",
    } <= support
    assert support < operations
    assert {
        "check_store",
        "pause_store",
        "disconnect_store",
        "replace_credentials",
        "add_webhookendpoint",
        "change_webhookendpoint",
        "add_apitoken",
        "change_apitoken",
        "add_invitation",
    } <= operations
    assert not any(
        codename.startswith("delete_store") or codename == "change_store" for codename in operations
    )


@pytest.mark.parametrize("who", ["support", "operations", "superuser"])
def test_every_staff_role_views_everything(request, who, acme_store, endpoint, token):
    client = client_for(request.getfixturevalue(who))
    for page in view_pages(acme_store, endpoint, token):
        assert client.get(page).status_code == 200, page


def test_support_can_do_none_of_the_actions(support, acme_store, endpoint, token, monkeypatch):
    sent = []
    monkeypatch.setattr("stores.tasks.check_stores.delay", lambda *args: sent.append(args))
    client = client_for(support)
    for page in action_pages(acme_store, endpoint, token):
        assert client.get(page).status_code == 403, page
        assert (
            client.post(page, {"email": "x@acme.test", "role": "member", "name": "n"}).status_code
            == 403
        ), page
    # The list offers no action and the store page no button...
    changelist = client.get(url("stores_store_changelist")).content.decode()
    assert 'name="action"' not in changelist and "Export CSV" in changelist
    page = client.get(url("stores_store_change", acme_store.pk)).content.decode()
    for label in ("Check now", "Pause checks", "Disconnect", "Replace credentials"):
        assert label not in page
    assert (
        "Invite someone"
        not in client.get(url("merchants_merchant_change", acme_store.merchant_id)).content.decode()
    )
    assert (
        "Rotate signing secret"
        not in client.get(url("notifications_webhookendpoint_change", endpoint.pk)).content.decode()
    )
    # ...and posting an action anyway does nothing.
    for action in ("check_now_action", "pause_action", "disconnect_action"):
        client.post(
            url("stores_store_changelist"),
            {"action": action, "_selected_action": [acme_store.pk], "post": "yes"},
        )
    # Nor can Support change a merchant, a person or the schedule.
    assert (
        client.post(
            url("merchants_merchant_change", acme_store.merchant_id), {"name": "X", "slug": "x"}
        ).status_code
        == 403
    )
    assert client.get(url("merchants_merchant_add")).status_code == 403
    assert client.get(url("django_celery_beat_periodictask_add")).status_code == 403
    acme_store.refresh_from_db()
    assert acme_store.status == "connected" and Credential.objects.filter(store=acme_store).exists()
    assert sent == [] and not StatusChange.objects.exists()


def test_operations_can_do_every_action(operations, acme_store, endpoint, token):
    client = client_for(operations)
    for page in action_pages(acme_store, endpoint, token):
        assert client.get(page).status_code == 200, page
    changelist = client.get(url("stores_store_changelist")).content.decode()
    for action in ("check_now_action", "pause_action", "resume_action", "disconnect_action"):
        assert f'value="{action}"' in changelist
    page = client.get(url("stores_store_change", acme_store.pk)).content.decode()
    for label in ("Check now", "Pause checks", "Disconnect", "Replace credentials"):
        assert label in page
    # The beat schedule is editable by Operations.
    assert client.get(url("django_celery_beat_periodictask_add")).status_code == 200


def test_operations_still_cannot_edit_stores_merchants_or_people(operations, acme_store, alice):
    client = client_for(operations)
    assert client.get(url("stores_store_delete", acme_store.pk)).status_code == 403
    assert client.get(url("merchants_merchant_add")).status_code == 403
    assert client.get(url("merchants_merchant_delete", acme_store.merchant_id)).status_code == 403
    assert (
        client.post(url("merchants_user_change", alice.pk), {"email": "evil@x.test"}).status_code
        == 403
    )
    alice.refresh_from_db()
    assert alice.email == "alice@acme.test"


def test_nobody_deletes_a_store_history_or_a_token(superuser, acme_store, token):
    client = client_for(superuser)
    assert client.get(url("stores_store_delete", acme_store.pk)).status_code == 403
    assert client.get(url("api_apitoken_delete", token.pk)).status_code == 403


@pytest.mark.parametrize("who", ["alice", "bob", "charlie"])
def test_people_who_are_not_staff_cannot_reach_the_admin(request, who, acme_store, staff_groups):
    person = request.getfixturevalue(who)
    # Even in the Operations group, someone who is not staff stays out.
    person.groups.add(staff_groups["Operations"])
    client = client_for(person)
    for page in (
        url("index"),
        url("stores_store_changelist"),
        url("stores_store_change", acme_store.pk),
        url("stores_store_check", acme_store.pk),
        url("stores_store_export"),
    ):
        response = client.get(page)
        assert response.status_code == 302 and response["Location"].startswith(
            reverse("admin:login")
        ), page
    response = client.post(url("stores_store_disconnect", acme_store.pk))
    assert response.status_code == 302
    assert Credential.objects.filter(store=acme_store).exists()


def test_anonymous_visitors_are_sent_to_the_admin_login(client, acme_store):
    response = client.get(url("stores_store_changelist"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


def test_staff_without_a_role_see_nothing(acme_store):
    from merchants.models import User

    nobody = User.objects.create_user(email="new@violet.test", password="x", is_staff=True)
    client = client_for(nobody)
    assert client.get(url("stores_store_changelist")).status_code == 403
    assert client.get(url("stores_store_check", acme_store.pk)).status_code == 403
    index = client.get(url("index")).content.decode()
    assert "The fleet at a glance" not in index
