"""Staff views of webhook registrations and deliveries: read-only (the rows are evidence)."""

from django.contrib import admin

from storehooks.models import HookRegistration, WebhookDelivery
from storehooks.selectors import client_secret_state

from .permissions import ViewOnlyAdminMixin
from .store_search import SearchByStoreMixin


@admin.register(HookRegistration)
class HookRegistrationAdmin(SearchByStoreMixin, ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("store", "registered_at", "last_attempt_at", "last_error", "client_secret")
    list_select_related = ("store",)
    search_fields = ("store__store_hash",)  # turns the search on; SearchByStoreMixin searches
    search_help_text = "Search by store (hash, name, domain, merchant or id; as in the store list)."
    fields = (
        "store",
        "destination",
        "hooks",
        "registered_at",
        "last_attempt_at",
        "last_error",
        "client_secret",
    )
    readonly_fields = fields

    @admin.display(description="Client secret")
    def client_secret(self, obj: HookRegistration) -> str:
        state = client_secret_state(obj.store)
        if state.proven:
            return f"proven by a signed delivery on {state.verified_at:%Y-%m-%d %H:%M} UTC"
        if state.looks_wrong:
            return f"looks wrong: {state.failures} deliveries in a row signed with another key"
        return "checked by format only" if state.state == "format_only" else "—"


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(SearchByStoreMixin, ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "received_at",
        "store",
        "outcome",
        "reason",
        "scope",
        "webhook_id",
        "processed_at",
    )
    list_filter = ("outcome", "reason", "scope")
    list_select_related = ("store",)
    search_fields = ("store__store_hash",)  # turns the search on; SearchByStoreMixin searches
    search_also = ("webhook_id",)
    search_help_text = "Search by store (hash, name, domain, merchant or id; as in the store list), or by webhook id."
    date_hierarchy = "received_at"
    fields = (
        "store",
        "received_at",
        "outcome",
        "reason",
        "scope",
        "webhook_id",
        "processed_at",
        "result",
    )
    readonly_fields = fields
