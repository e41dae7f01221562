"""Merchant-facing pages. Thin: tenancy comes from `request.tenant` (set by
the middleware before any view here runs), the work is in services."""

import re

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST

from api.releases import services_that_used
from config.client_address import client_ip
from merchants import services as merchant_services
from merchants import team
from merchants.forms import InvitationForm
from merchants.models import Invitation, Membership
from merchants.tenancy import SESSION_KEY, membership_for
from notifications.events import api_accounts_url
from stores import services as store_services
from stores.bigcommerce.scopes import REQUIRED_SCOPES
from stores.models import Check, StatusChange, Store
from stores.selectors import check_in_flight, check_state, credential_fingerprint, latest_checks_by_store
from stores.services import CheckRequest
from stores.status import UNCHECKED_STATUSES, StoreStatus

from . import guidance, onboarding, throttle
from .credentials_page import SECRET_POST_FIELDS, api_path_to_show, credentials_page
from .forms import CredentialsForm

WIZARD_STEPS = (
    (1, "connect:wizard_account", "Create the API account"),
    (2, "connect:wizard_scopes", "Configure scopes"),
    (3, "connect:wizard_save", "API credentials"),
    (4, "connect:wizard_credentials", "Provide credentials"),
)


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
    # Not the profile: the dashboard shows its columns, never the whole
    # document (~1 KB of JSON to parse per store).
    rows = list(request.tenant.scope(Store.objects.exclude(status="disconnected").defer("profile")))
    # A connected store whose newest check failed (awaiting its confirming check, or a
    # passing outage) says so, as its page does: one query, only when there is such a store.
    doubtful = [s.pk for s in rows if s.status == StoreStatus.CONNECTED and (s.failure_count or s.suspected_status)]
    latest = latest_checks_by_store(doubtful)
    stores = [(store, guidance.for_store(store, latest.get(store.pk)), check_in_flight(store)) for store in rows]
    disconnected = request.tenant.scope(Store.objects.filter(status="disconnected"))
    return render(request, "connect/dashboard.html", {"stores": stores, "disconnected": disconnected})


# --- the wizard -------------------------------------------------------------------


STORE_HASH = re.compile(r"[0-9a-z]{1,20}")

# Which step each person reached last, per merchant and store ("" for a new
# store): "Connect it again" resumes there. Step numbers only, nothing typed.
WIZARD_PROGRESS_KEY = "wizard_progress"


def _wizard_key(request: HttpRequest, store: Store | None) -> str:
    return f"{request.tenant.merchant.pk}:{store.store_hash if store else ''}"


def _wizard_step_url(request: HttpRequest, number: int, store: Store | None) -> str:
    """A step's address; with `store` (replacing or reconnecting it), steps 1–3 keep
    to that store's flow and step 4 is its credentials page, never the new-store wizard's."""
    slug = request.tenant.merchant.slug
    name = WIZARD_STEPS[number - 1][1]
    if store is None:
        return reverse(name, args=[slug])
    if number == 4:
        return reverse("connect:store_replace", args=[slug, store.store_hash])
    return f"{reverse(name, args=[slug])}?store={store.store_hash}"


def _wizard_context(request: HttpRequest, step: int, store: Store | None = None, **extra) -> dict:
    progress = request.session.get(WIZARD_PROGRESS_KEY, {})
    request.session[WIZARD_PROGRESS_KEY] = {**progress, _wizard_key(request, store): step}
    steps = [
        {"number": n, "url": _wizard_step_url(request, n, store), "title": title, "current": n == step}
        for n, _name, title in WIZARD_STEPS
    ]
    return {"steps": steps, "step": step, "scopes": REQUIRED_SCOPES, "store": store, **extra}


def wizard_step(request: HttpRequest, merchant_slug: str, step: int) -> HttpResponse:
    store = None
    if "store" in request.GET:  # replacing or reconnecting that store: its steps
        wanted = request.GET["store"]
        if not STORE_HASH.fullmatch(wanted):  # no NUL byte (or other junk) reaches the query
            raise Http404
        store = request.tenant.get_object_or_404(Store, store_hash=wanted)
    request.tenant.require_owner()
    templates = {1: "connect/wizard_account.html", 2: "connect/wizard_scopes.html", 3: "connect/wizard_save.html"}
    return render(request, templates[step], _wizard_context(request, step, store))


def store_reconnect(request: HttpRequest, merchant_slug: str, store_hash: str) -> HttpResponse:
    """ "Connect it again": the step this person reached last for this store, else
    its credentials page (the store was connected once: steps 1–3 are a click away)."""
    store = request.tenant.get_object_or_404(Store, store_hash=store_hash)
    request.tenant.require_owner()
    step = request.session.get(WIZARD_PROGRESS_KEY, {}).get(_wizard_key(request, store), 4)
    return redirect(_wizard_step_url(request, step if step in (1, 2, 3, 4) else 4, store))


@sensitive_post_parameters(*SECRET_POST_FIELDS)
@require_http_methods(["GET", "POST"])
def wizard_credentials(request: HttpRequest, merchant_slug: str) -> HttpResponse:
    request.tenant.require_owner()
    return _credentials_page(request, store=None)


@sensitive_post_parameters(*SECRET_POST_FIELDS)
@require_http_methods(["GET", "POST"])
def store_replace(request: HttpRequest, merchant_slug: str, store_hash: str) -> HttpResponse:
    store = request.tenant.get_object_or_404(Store, store_hash=store_hash)
    request.tenant.require_owner()
    return _credentials_page(request, store=store)


@sensitive_variables("form", "attempt")
def _credentials_page(request: HttpRequest, *, store: Store | None) -> HttpResponse:
    tenant = request.tenant
    posted = request.method == "POST"
    form = CredentialsForm(request.POST if posted else None, request.FILES if posted else None)
    attempt = None
    replacing = posted and request.POST.get("replace_kept") in onboarding.SECRET_FIELDS
    if replacing and form.is_valid():
        # "Replace the kept …": that value is forgotten; what was typed and the last problems stay.
        attempt = onboarding.kept_replace(
            merchant=tenant.merchant,
            user=request.user,
            typed=form.typed(),
            field=request.POST["replace_kept"],
            store=store,
        )
    elif posted and form.is_valid():
        attempt = onboarding.connect_attempt(
            merchant=tenant.merchant,
            user=request.user,
            typed=form.typed(),
            file_text=form.file_text(),
            client_address=client_ip(request),
            store=store,
        )
        if attempt.ok:
            name = attempt.store.display_name
            if attempt.unchanged:
                messages.success(
                    request,
                    f"These are the credentials Violet already uses for {name}: nothing changed. "
                    "They still work, and every scope Violet needs is granted.",
                )
            elif attempt.replaced:
                messages.success(request, f"New credentials saved for {name}. Every scope Violet needs is granted.")
                if attempt.previous_client_id_last4:
                    messages.info(
                        request,
                        "Violet no longer uses the old API account: delete it in BigCommerce (Settings → API → "
                        "Store-level API accounts), the one whose Client ID ends in "
                        f"…{attempt.previous_client_id_last4}.",
                    )
            else:
                messages.success(request, f"{name} is connected to Violet. Every scope Violet needs is granted.")
            return redirect(
                "connect:store_detail", merchant_slug=tenant.merchant.slug, store_hash=attempt.store.store_hash
            )
    page = credentials_page(
        posted=posted and not (replacing and attempt),  # a "Replace" only edits what is kept: 200
        attempt=attempt,
        merchant=tenant.merchant,
        user=request.user,
        store=store,
    )
    context = _wizard_context(
        request,
        4,
        store,
        form=form,
        kept=page.kept,
        kept_store_hash=page.kept_store_hash,
        field_problems=page.field_problems,
        general_problems=page.general_problems,
        missing_scopes=page.missing_scopes,
        throttled_for=page.throttled_for,
        outcome=page.outcome,
        checked_store=page.checked_store,
        kept_api_path=page.api_path,
        api_path_shown=api_path_to_show(form["api_path"].value()) or page.api_path,
    )
    return render(request, "connect/wizard_credentials.html", context, status=page.status)


# --- store pages ------------------------------------------------------------------


def store_detail(request: HttpRequest, merchant_slug: str, store_hash: str) -> HttpResponse:
    store = request.tenant.get_object_or_404(Store, store_hash=store_hash)
    # The merchant's history starts when the store came to it (a previous
    # merchant's is not theirs to see; staff see it all in the console).
    checks, status_changes = Check.objects.filter(store=store), StatusChange.objects.filter(store=store)
    if store.merchant_since is not None:
        checks = checks.filter(started_at__gte=store.merchant_since)
        status_changes = status_changes.filter(created_at__gte=store.merchant_since)
    checks = list(checks[:20])
    context = {
        "store": store,
        "guidance": guidance.for_store(store, checks[0] if checks else None),
        "latest": checks[0] if checks else None,
        "latest_scopes": guidance.scope_rows(checks[0]) if checks else [],
        "checks": checks,
        "status_changes": status_changes[:20],
        "api_accounts_url": api_accounts_url(store.store_hash),
        "checkable": store.status not in UNCHECKED_STATUSES,
        "checking": check_in_flight(store),
        "credential": credential_fingerprint(store) if store.status != StoreStatus.DISCONNECTED else None,
        # Which of Violet's services read the credentials, and when last (names and times only).
        "services_used": services_that_used(store),
    }
    return render(request, "connect/store_detail.html", context)


def store_status(request: HttpRequest, merchant_slug: str, store_hash: str) -> JsonResponse:
    """What the store page polls while a check runs (static/js/store-status.js)."""
    store = request.tenant.get_object_or_404(Store, store_hash=store_hash)
    return JsonResponse(
        check_state(store),
        headers={"Cache-Control": "no-store"},
    )


@require_POST
def store_check_now(request: HttpRequest, merchant_slug: str, store_hash: str) -> HttpResponse:
    store = request.tenant.get_object_or_404(Store, store_hash=store_hash)
    request.tenant.require_owner()
    back = redirect("connect:store_detail", merchant_slug=merchant_slug, store_hash=store_hash)
    interval = settings.CHECK_NOW_MIN_INTERVAL_SECONDS
    result = store_services.store_check_request(
        store=store,
        trigger=Check.Trigger.MERCHANT,
        throttle=lambda: throttle.allow(f"check-now:{store.pk}", limit=1, window_seconds=interval),
    )
    match result.answer:
        case CheckRequest.Answer.NOT_CHECKED:
            messages.error(request, f"{store.display_name} is {result.reason.label.lower()}: it is not checked.")
        case CheckRequest.Answer.THROTTLED:
            messages.warning(request, "A check was asked for a moment ago. Try again in a minute.")
        case CheckRequest.Answer.QUEUED:
            messages.success(request, "Checking now. This page updates itself when the check ends.")
        case CheckRequest.Answer.IN_FLIGHT:
            messages.info(request, "A check of this store is already running.")
    return back


@require_http_methods(["GET", "POST"])
def store_disconnect(request: HttpRequest, merchant_slug: str, store_hash: str) -> HttpResponse:
    store = request.tenant.get_object_or_404(Store, store_hash=store_hash)
    request.tenant.require_owner()
    if request.method == "POST":
        store_services.store_disconnect(store=store, user=request.user, reason=f"Disconnected by {request.user.email}.")
        messages.success(
            request,
            f"{store.display_name} is disconnected and its credentials are deleted. "
            "You can also delete the API account in BigCommerce.",
        )
        return redirect("connect:dashboard", merchant_slug=merchant_slug)
    return render(
        request,
        "connect/store_disconnect.html",
        {"store": store, "api_accounts_url": api_accounts_url(store.store_hash)},
    )


# --- people -----------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def people(request: HttpRequest, merchant_slug: str) -> HttpResponse:
    tenant = request.tenant
    form = InvitationForm(request.POST or None)
    if request.method == "POST":
        tenant.require_owner()
        if form.is_valid():
            try:
                merchant_services.invitation_create(
                    merchant=tenant.merchant,
                    email=form.cleaned_data["email"],
                    role=form.cleaned_data["role"],
                    invited_by=request.user,
                )
            except merchant_services.InvitationRefused as refused:
                form.add_error(None, str(refused))
            else:
                messages.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
                return redirect("connect:people", merchant_slug=merchant_slug)
    context = {
        "form": form,
        "memberships": tenant.merchant.memberships.select_related("user").order_by("user__email"),
        "invitations": team.open_invitations(tenant.merchant),
        "roles": Membership.Role.choices,
    }
    return render(request, "connect/people.html", context)


def _team_change(request: HttpRequest, change, done: str) -> HttpResponse:
    """Run one change of the team (merchants.team); its refusal is a warning saying why."""
    try:
        change()
    except team.TeamError as refused:
        messages.warning(request, str(refused))
    else:
        messages.success(request, done)
    return redirect("connect:people", merchant_slug=request.tenant.merchant.slug)


@require_POST
def invitation_withdraw(request: HttpRequest, merchant_slug: str, invitation_id: int) -> HttpResponse:
    merchant = request.tenant.merchant
    invitation = get_object_or_404(Invitation, merchant=merchant, pk=invitation_id)
    request.tenant.require_owner()
    return _team_change(
        request,
        lambda: team.invitation_withdraw(merchant=merchant, invitation_id=invitation.pk),
        f"The invitation to {invitation.email} is withdrawn: its link no longer works.",
    )


@require_http_methods(["GET", "POST"])
def membership_remove(request: HttpRequest, merchant_slug: str, membership_id: int) -> HttpResponse:
    """GET asks first (the People page's "Remove" leads here); the POST removes."""
    merchant = request.tenant.merchant
    membership = get_object_or_404(Membership.objects.select_related("user"), merchant=merchant, pk=membership_id)
    request.tenant.require_owner()
    if request.method == "GET":
        return render(request, "connect/membership_remove.html", {"membership": membership})
    return _team_change(
        request,
        lambda: team.membership_remove(merchant=merchant, membership_id=membership.pk, by=request.user),
        f"{membership.user.email} is no longer on the team of {merchant.name}.",
    )


@require_POST
def membership_role(request: HttpRequest, merchant_slug: str, membership_id: int) -> HttpResponse:
    merchant = request.tenant.merchant
    membership = get_object_or_404(Membership.objects.select_related("user"), merchant=merchant, pk=membership_id)
    request.tenant.require_owner()
    role = request.POST.get("role", "")
    label = dict(Membership.Role.choices).get(role, role)
    return _team_change(
        request,
        lambda: team.membership_change_role(merchant=merchant, membership_id=membership.pk, role=role, by=request.user),
        f"{membership.user.email} is now {label.lower()}.",
    )
