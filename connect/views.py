"""Merchant-facing pages. Thin: tenancy comes from `request.tenant`
(set by the middleware), writes go through services."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from merchants import services as merchant_services
from merchants.forms import InvitationForm
from merchants.models import Membership
from merchants.tenancy import SESSION_KEY, membership_for
from stores.models import Check, StatusChange, Store


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send a person to the merchant they used last, or let them pick one."""
    memberships = list(Membership.objects.select_related("merchant").filter(user=request.user))
    remembered = request.session.get(SESSION_KEY)
    if remembered and membership_for(request.user, remembered):
        return redirect("connect:dashboard", merchant_slug=remembered)
    if len(memberships) == 1:
        return redirect("connect:dashboard", merchant_slug=memberships[0].merchant.slug)
    return redirect("connect:merchant_picker")


@login_required
def merchant_picker(request: HttpRequest) -> HttpResponse:
    memberships = Membership.objects.select_related("merchant").filter(user=request.user)
    return render(request, "connect/merchant_picker.html", {"memberships": memberships})


def dashboard(request: HttpRequest, merchant_slug: str) -> HttpResponse:
    stores = request.tenant.scope(Store.objects.all())
    return render(request, "connect/dashboard.html", {"stores": stores})


def store_detail(request: HttpRequest, merchant_slug: str, store_hash: str) -> HttpResponse:
    store = request.tenant.get_object_or_404(Store, store_hash=store_hash)
    context = {
        "store": store,
        "checks": Check.objects.filter(store=store)[:20],
        "status_changes": StatusChange.objects.filter(store=store)[:20],
    }
    return render(request, "connect/store_detail.html", context)


@require_http_methods(["GET", "POST"])
def people(request: HttpRequest, merchant_slug: str) -> HttpResponse:
    tenant = request.tenant
    form = InvitationForm(request.POST or None)
    if request.method == "POST":
        tenant.require_owner()
        if form.is_valid():
            merchant_services.invitation_create(
                merchant=tenant.merchant,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                invited_by=request.user,
            )
            messages.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
            return redirect("connect:people", merchant_slug=merchant_slug)
    context = {
        "form": form,
        "memberships": tenant.merchant.memberships.select_related("user"),
        "invitations": tenant.merchant.invitations.filter(accepted_at=None, revoked_at=None),
    }
    return render(request, "connect/people.html", context)
