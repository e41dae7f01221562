"""Staff's changes to webhook endpoints go through notifications.services."""

from django.utils import timezone

from notifications import services
from notifications.models import WebhookEndpoint


def _secret(endpoint: WebhookEndpoint) -> str:
    return WebhookEndpoint.objects.values_list("secret", flat=True).get(pk=endpoint.pk)


def test_saving_an_active_endpoint_violet_disabled_enables_it_again(db):
    endpoint = WebhookEndpoint.objects.create(name="Core", url="https://hooks.violet.test/a")
    secret = _secret(endpoint)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        is_active=False, disabled_at=timezone.now(), disabled_reason="The endpoint answered HTTP 410."
    )
    endpoint = WebhookEndpoint.objects.defer("secret").get(pk=endpoint.pk)
    endpoint.is_active = True
    services.webhook_endpoint_save(endpoint=endpoint)
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.disabled_at is None and endpoint.disabled_reason == ""
    assert _secret(endpoint) == secret


def test_saving_an_inactive_endpoint_keeps_why_violet_disabled_it(db):
    endpoint = WebhookEndpoint.objects.create(
        name="Core",
        url="https://hooks.violet.test/a",
        is_active=False,
        disabled_at=timezone.now(),
        disabled_reason="The endpoint answered HTTP 410.",
    )
    endpoint.name = "Core (old)"
    services.webhook_endpoint_save(endpoint=endpoint)
    endpoint.refresh_from_db()
    assert endpoint.name == "Core (old)" and endpoint.disabled_reason == "The endpoint answered HTTP 410."


def test_rotating_the_secret_returns_the_new_one_and_stores_it(db):
    endpoint = WebhookEndpoint.objects.create(name="Core", url="https://hooks.violet.test/a")
    old = _secret(endpoint)
    new = services.webhook_endpoint_rotate_secret(endpoint=endpoint)
    assert new.startswith("whsec_") and new != old and _secret(endpoint) == new
