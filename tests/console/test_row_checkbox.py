"""The console lists' row checkbox: written directly, as Django's widget would."""

from django.contrib import admin

from console.admin.api_tokens import ApiTokenAdmin
from console.admin.checkbox import DirectActionCheckboxMixin
from console.admin.stores import StoreAdmin
from console.admin.two_factor import SecondFactorAdmin
from stores.models import Store


def test_the_row_checkbox_is_djangos_own_markup(acme_store):
    """DirectActionCheckboxMixin writes what Django's widget renders, for a
    name that needs escaping too."""
    acme_store.name = 'Acme <"Outfitters"> & Co'
    model_admin = StoreAdmin(Store, admin.site)
    mine = model_admin.action_checkbox(acme_store)
    assert mine == admin.ModelAdmin.action_checkbox(model_admin, acme_store)
    assert "&lt;&quot;Outfitters&quot;&gt;" in mine


def test_the_lists_with_actions_use_it():
    for model_admin in (StoreAdmin, ApiTokenAdmin, SecondFactorAdmin):
        assert issubclass(model_admin, DirectActionCheckboxMixin)
