"""Who may do what in the staff console.

Most rows are view-only: they change only through services (onboarding,
checks, the staff actions). The store actions are gated by custom permissions
on Store, created with the staff groups by migration `stores.0002_staff_groups`
(not in Store.Meta, so the stores models stay untouched): "Support" has none
of them, "Operations" has all of them.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

STORE_PERMISSIONS = {
    "check": "stores.check_store",
    "pause": "stores.pause_store",
    "disconnect": "stores.disconnect_store",
    "replace_credentials": "stores.replace_credentials",
    "move": "stores.move_store",  # migration stores.0006
    "reference": "stores.mark_reference_store",  # migration stores.0014
}
INCIDENT_CLOSE_PERMISSION = "stores.close_incident"  # migration stores.0014


def has_store_permission(request: HttpRequest, action: str) -> bool:
    return request.user.is_active and request.user.has_perm(STORE_PERMISSIONS[action])


class ViewOnlyAdminMixin:
    """Staff see these rows; nobody adds, edits or deletes them here (they
    change only through services: onboarding, checks, the actions)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ViewOnlyInline(ViewOnlyAdminMixin, admin.TabularInline):
    """Rows shown on their parent's page, read-only; at most `row_limit` of them
    (in the inline's `ordering`), so a store with 100,000 checks still renders."""

    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    row_limit: int | None = None

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        limit = self.row_limit
        if limit is None:
            return formset

        class Limited(formset):
            def get_queryset(self):
                if not hasattr(self, "_limited"):
                    self._limited = super().get_queryset()[:limit]
                return self._limited

        return Limited
