"""CSRF on every form: no view escapes Django's CSRF check except those that
are not forms (BigCommerce's webhook receiver, signed; the JSON API under
/api/v1/, authenticated by a bearer secret and never a cookie)."""

from tests.security.routes import url_patterns

# Views that are called by machines with their own proof of origin.
CSRF_EXEMPT_ALLOWED = {
    "storehooks.views.receive",  # Standard Webhooks signature
}
# django-ninja serves every /api/v1/ endpoint through its own exempt view
# (`ninja.operation.sync_view_wrapper`); they are allowed there only, and only
# because no operation accepts a cookie (test_the_api_accepts_only_bearer_secrets).
API_PREFIX = "api/v1/"


def test_the_api_accepts_only_bearer_secrets():
    from ninja.security import HttpBearer

    from api.views import api

    operations = [
        operation
        for _prefix, router in api._routers
        for path_view in router.path_operations.values()
        for operation in path_view.operations
    ]
    assert {op.url_name for op in operations} >= {"store_list", "store_detail", "store_check"}
    for operation in operations:
        assert operation.auth_callbacks, operation.url_name
        assert all(isinstance(auth, HttpBearer) for auth in operation.auth_callbacks), operation.url_name


def all_views(prefix_wanted=lambda route: True):
    return [pattern.callback for pattern, route, _ in url_patterns() if prefix_wanted(route)]


def dotted(view) -> str:
    inner = getattr(view, "view_class", None) or getattr(view, "__wrapped__", None) or view
    return f"{inner.__module__}.{inner.__name__}"


def test_only_machine_endpoints_skip_csrf():
    outside_api = all_views(lambda route: not route.startswith(API_PREFIX))
    exempt = {dotted(view) for view in outside_api if getattr(view, "csrf_exempt", False)}
    assert exempt == CSRF_EXEMPT_ALLOWED, exempt ^ CSRF_EXEMPT_ALLOWED
    assert len(all_views(lambda route: route.startswith(API_PREFIX))) >= 3
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
