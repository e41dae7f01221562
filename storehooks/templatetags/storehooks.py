from django import template

from ..selectors import client_secret_state

register = template.Library()


@register.inclusion_tag("storehooks/client_secret.html")
def client_secret_status(store):
    """What proves (or disproves) the store's Client secret, in one paragraph,
    for the merchant: from when the store came to it (`merchant_since`)."""
    return {"secret": client_secret_state(store, since=store.merchant_since)}
