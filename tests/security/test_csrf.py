"""CSRF on every form: no view escapes Django's CSRF check except the two that
are not forms (BigCommerce's webhook receiver, signed; the token-authenticated
JSON API)."""

from django.urls import URLPattern, URLResolver, get_resolver

# Views that are called by machines with their own proof of origin.
CSRF_EXEMPT_ALLOWED = {
    "storehooks.views.receive",  # Standard Webhooks signature
    "api.views.store_check",  # Bearer token, never a cookie
}


def all_views():
    found = []

    def walk(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern):
                found.append(pattern.callback)

    walk(get_resolver().url_patterns)
    return found


def dotted(view) -> str:
    inner = getattr(view, "view_class", None) or getattr(view, "__wrapped__", None) or view
    return f"{inner.__module__}.{inner.__name__}"


def test_only_machine_endpoints_skip_csrf():
    exempt = {dotted(view) for view in all_views() if getattr(view, "csrf_exempt", False)}
    assert exempt == CSRF_EXEMPT_ALLOWED, exempt ^ CSRF_EXEMPT_ALLOWED
    assert len(all_views()) > 50  # the walk really saw the admin and the merchant pages


def test_a_form_post_without_the_token_is_refused(alice):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    for url, data in [
        ("/m/acme/people/", {"email": "x@y.test", "role": "member"}),
        ("/m/acme/connect/credentials/", {"access_token": "x"}),
        ("/logout/", {}),
    ]:
        assert client.post(url, data).status_code == 403, url
