"""Issue 28, item 4: every link in every e-mail the portal sends is built from
PUBLIC_BASE_URL, never from the request's Host header — even if ALLOWED_HOSTS
let a forged Host through (production refuses a wildcard: tests/config/test_settings.py)."""

import re

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from merchants import services as merchant_services
from notifications import services as notification_services
from stores import services as store_services
from stores.models import StatusChange
from tests.conftest import client_for
from tests.reports import credentials, report, revoke_by_two_checks

PUBLIC = "https://connect.violet.io"
ATTACKER = "attacker.example"
# Links to somewhere other than the portal that an e-mail may carry: the store's
# own BigCommerce control panel (status e-mails say where to fix an API account).
ELSEWHERE = re.compile(r"https://store-[a-z0-9]+\.mybigcommerce\.com/manage/")

pytestmark = pytest.mark.usefixtures("db")


def assert_links_are_public(mail):
    text = f"{mail.subject}\n{mail.body}"
    assert ATTACKER not in text, text
    links = re.findall(r"https?://\S+", mail.body)
    assert links, mail.body
    for link in links:
        assert link.startswith(PUBLIC + "/") or ELSEWHERE.match(link), link


@override_settings(ALLOWED_HOSTS=["*"], PUBLIC_BASE_URL=PUBLIC)
def test_a_password_reset_link_never_follows_the_host_header(client, alice, mailoutbox):
    client.post(reverse("password_reset"), {"email": alice.email}, HTTP_HOST=ATTACKER)
    [mail] = mailoutbox
    assert_links_are_public(mail)
    assert f"{PUBLIC}/password-reset/" in mail.body
    assert mail.subject == "Choose a new password for Violet Connect"


@override_settings(ALLOWED_HOSTS=["*"], PUBLIC_BASE_URL=PUBLIC, STAFF_NOTIFICATION_EMAILS=["oncall@violet.test"])
def test_every_email_the_portal_sends_links_to_public_base_url_only(client, alice, acme, admin_user, mailoutbox):
    # Sign-up (a new address: the confirmation link; a taken one: login and reset links).
    client.post(
        reverse("signup"),
        {"merchant_name": "Initech", "email": "peter@initech.test", "password": "tps-reports-2026!"},
        HTTP_HOST=ATTACKER,
    )
    client.post(
        reverse("signup"),
        {"merchant_name": "Acme Two", "email": alice.email, "password": "tps-reports-2026!"},
        HTTP_HOST=ATTACKER,
    )
    # Password reset.
    client.post(reverse("password_reset"), {"email": alice.email}, HTTP_HOST=ATTACKER)
    # An invitation.
    client_for(alice).post(
        reverse("connect:people", args=["acme"]), {"email": "dana@acme.test", "role": "member"}, HTTP_HOST=ATTACKER
    )
    # Staff invite themselves and accept: the owners are told.
    staff_invitation = merchant_services.invitation_create(
        merchant=acme, email=admin_user.email, role="owner", invited_by=admin_user
    )
    client_for(admin_user).post(
        reverse("invitation_accept", args=[merchant_services.invitation_token(staff_invitation)]), HTTP_HOST=ATTACKER
    )
    # A status e-mail (owners and staff), from a worker: no request at all.
    store = store_services.store_connect(merchant=acme, credentials=credentials(), report=report())
    StatusChange.objects.update(processed_at=timezone.now())
    revoke_by_two_checks(store)
    notification_services.status_changes_process()
    notification_services.notifications_deliver_due()

    subjects = [mail.subject for mail in mailoutbox]
    assert len(mailoutbox) >= 8, subjects
    kinds = {
        "confirm": "/verify-email/",
        "existing": "/login/",
        "reset": "/password-reset/",
        "invitation": "/invitations/",
        "owners told": "/m/acme/people/",
        "status": f"/m/acme/stores/{store.store_hash}/",
    }
    for kind, path in kinds.items():
        assert any(PUBLIC + path in mail.body for mail in mailoutbox), kind
    for mail in mailoutbox:
        assert_links_are_public(mail)
