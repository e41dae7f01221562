"""The one tenant-scoping mechanism every merchant-facing view goes through.

Merchant-facing URLs carry the merchant: `/m/<merchant_slug>/...`. Before any
such view runs, `TenantMiddleware` resolves the slug against the visitor's
own memberships:

- an anonymous visitor is sent to the login page;
- a signed-in person who is not a member gets 404, exactly as if the merchant
  did not exist (a stranger learns nothing);
- a member gets `request.tenant`, whose `scope()` and `get_object_or_404()`
  are how views reach tenant-owned rows.

A view cannot forget the check: it happens on the URL, not in the view, and
`tests/merchants/test_tenancy.py` proves every merchant-facing URL pattern
carries `merchant_slug`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404

from .models import Membership, Merchant

TENANT_URL_KWARG = "merchant_slug"
SESSION_KEY = "current_merchant_slug"


@dataclass(frozen=True)
class Tenant:
    merchant: Merchant
    membership: Membership

    @property
    def is_owner(self) -> bool:
        return self.membership.is_owner

    def require_owner(self) -> None:
        """Members read; only owners change things."""
        if not self.is_owner:
            raise PermissionDenied("Only an owner of this merchant can do that.")

    def scope(self, queryset: QuerySet) -> QuerySet:
        """Restrict a queryset of a tenant-owned model to this merchant.

        Tenant-owned models declare `tenant_path`, the lookup from the model
        to its Merchant (e.g. "merchant" for a Store, "store__merchant" for a
        Check).
        """
        path = getattr(queryset.model, "tenant_path", None)
        if path is None:
            raise TypeError(f"{queryset.model.__name__} is not tenant-owned (no tenant_path).")
        return queryset.filter(**{path: self.merchant})

    def get_object_or_404(self, queryset: QuerySet | type[Model], **lookup) -> Model:
        if not isinstance(queryset, QuerySet):
            queryset = queryset._default_manager.all()
        return get_object_or_404(self.scope(queryset), **lookup)


def membership_for(user, merchant_slug: str) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.select_related("merchant").filter(user=user, merchant__slug=merchant_slug).first()


class TenantMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        request.tenant = None
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        slug = view_kwargs.get(TENANT_URL_KWARG)
        if slug is None:
            return None
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        membership = membership_for(request.user, slug)
        if membership is None:
            raise Http404("No such merchant.")
        request.tenant = Tenant(merchant=membership.merchant, membership=membership)
        request.session[SESSION_KEY] = slug
        return None


def tenant_context(request: HttpRequest) -> dict:
    """Template context: the current tenant and the merchants one can switch to."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or request.path.startswith("/admin/"):
        return {}
    memberships = list(Membership.objects.select_related("merchant").filter(user=user).order_by("merchant__name"))
    return {"tenant": getattr(request, "tenant", None), "my_memberships": memberships}
