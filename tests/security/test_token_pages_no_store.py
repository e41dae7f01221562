"""Pages an anonymous visitor opens from a link with a token in its URL (an
invitation, the e-mail confirmation, a password reset) are sent with
`Cache-Control: no-store`, whatever they answer: a shared or browser cache must
not keep the page, nor the URL's token with it (issue 28, item 16).

The walk finds every such URL in the URL configuration, so a new one is
covered (or the test says how to fill it)."""

from __future__ import annotations

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from merchants import services
from merchants.models import User
from tests.security.routes import KWARG, kwarg_names, routes

TOKEN_KWARGS = {"token", "uidb64"}


def token_routes() -> list[tuple[str, str]]:
    """(name, route) of every pattern outside /m/ and the console whose URL carries a token."""

    def wanted(route: str) -> bool:
        names = kwarg_names(route)
        return bool(names & TOKEN_KWARGS) and "merchant_slug" not in names and not route.startswith("admin/")

    return routes(wanted)


ROUTES = token_routes()


def no_store(response) -> bool:
    return "no-store" in response.get("Cache-Control", "")


def test_the_walk_finds_the_token_pages():
    assert {"invitation_accept", "email_verify", "password_reset_confirm"} <= {name for name, _ in ROUTES}


@pytest.mark.parametrize(("name", "route"), ROUTES, ids=[name for name, _ in ROUTES])
def test_a_token_page_with_a_bad_token_is_not_stored(client, db, name, route):
    path = "/" + KWARG.sub(lambda match: "not-a-real-" + match.group("name"), route)
    response = client.get(path)
    assert response.status_code < 500
    assert no_store(response), (path, response.status_code, response.get("Cache-Control"))


def test_the_invitation_page_is_not_stored(client, acme, alice, mailoutbox):
    invitation = services.invitation_create(merchant=acme, email="dana@acme.test", role="member", invited_by=alice)
    response = client.get(reverse("invitation_accept", args=[services.invitation_token(invitation)]))
    assert response.status_code == 200 and "dana@acme.test" in response.content.decode()
    assert no_store(response)
    # A refused form (a weak password) too.
    refused = client.post(reverse("invitation_accept", args=[services.invitation_token(invitation)]), {"password": "1"})
    assert refused.status_code == 200 and no_store(refused)


def test_the_confirmation_page_is_not_stored(client, db):
    user = User.objects.create_user(email="dana@acme.test", password="a-long-new-password-42")
    response = client.get(reverse("email_verify", args=[services.email_verification_token(user)]))
    assert response.status_code == 200 and no_store(response)


def test_the_password_reset_pages_are_not_stored(client, alice):
    uid = urlsafe_base64_encode(force_bytes(alice.pk))
    response = client.get(reverse("password_reset_confirm", args=[uid, default_token_generator.make_token(alice)]))
    # Django swaps the token for a session marker and redirects to the set-password page.
    assert response.status_code == 302 and no_store(response)
    page = client.get(response["Location"])
    assert page.status_code == 200 and "new_password1" in page.content.decode()
    assert no_store(page)


def test_no_token_from_a_token_url_reaches_the_log(client, acme, alice, mailoutbox, caplog):
    """Django logs every 4xx with its path ("Gone: /invitations/<token>/"); a
    refusal can leave the link working (an invitee with an account who is not
    logged in yet), so the log's filter cuts the token out of such paths."""
    import logging

    from config.logging import SecretFilter

    User.objects.create_user(email="dana@acme.test", password="a-long-new-password-42")
    invitation = services.invitation_create(merchant=acme, email="dana@acme.test", role="member", invited_by=alice)
    token = services.invitation_token(invitation)
    path = reverse("invitation_accept", args=[token])
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.post(path, {"password": "a-long-new-password-42"})
    assert response.status_code == 410 and "log in first" in response.content.decode()
    assert services.invitation_from_token(token)  # the link still works
    records = [record for record in caplog.records if record.name == "django.request"]
    assert records
    for record in records:
        SecretFilter().filter(record)  # the log handler's filter (it may have run already)
        assert token not in record.getMessage()
        assert "/invitations/[redacted]/" in record.getMessage()


@pytest.mark.parametrize(
    ("line", "printed"),
    [
        ("Gone: /verify-email/eyJpZCI6MX0:1xad2d:abc/", "Gone: /verify-email/[redacted]/"),
        ("Not Found: /password-reset/MQ/cx1-0123456789abcdef/", "Not Found: /password-reset/MQ/[redacted]/"),
        ("Gone: /invitations/eyJpZCI6MX0:1xad2d:abc/", "Gone: /invitations/[redacted]/"),
        (
            "Gone: /account/two-factor/link/q7B-x_2mZ0aP9dT4wLk8sV1nC6hR3eYuJ5oF0gIiNtM/",
            "Gone: /account/two-factor/link/[redacted]/",
        ),
    ],
)
def test_the_log_filter_cuts_tokens_out_of_paths(line, printed):
    from config.logging import redact

    assert redact(line) == printed
