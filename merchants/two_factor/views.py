"""The second-factor pages: the code step of the login, enrolment (with the
recovery codes shown once), and the account page. Thin: rules in `services`."""

from __future__ import annotations

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_lockout_response
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django_otp import login as otp_login

from config.client_address import client_ip
from merchants import login_limits

from . import services
from .forms import CodeForm, EnrolmentCodeForm
from .middleware import redirect_with_next

WRONG_CODE = "That code is not right. Check the time on your phone, or use a recovery code."
THROTTLED = "Too many wrong codes: wait a little before the next try."


def _next_url(request: HttpRequest, user) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return reverse("admin:index") if user.is_staff else resolve_url(settings.LOGIN_REDIRECT_URL)


def _is_verified(user) -> bool:
    return user.is_authenticated and user.is_verified()


@never_cache
@sensitive_post_parameters("code")
@sensitive_variables("form")
def verify(request: HttpRequest) -> HttpResponse:
    """The code step: after the password for someone with a device (pending,
    not logged in yet), or for a logged-in session the second factor has not
    verified yet."""
    user = services.pending_user(request)
    if user is None and request.user.is_authenticated and not _is_verified(request.user):
        if services.has_second_factor(request.user):
            user = request.user
        elif request.user.is_staff:
            return redirect_with_next("two_factor_enrol", _next_url(request, request.user))
    if user is None:
        if _is_verified(request.user):
            return redirect(_next_url(request, request.user))
        return redirect_with_next("login", request.GET.get("next") or "")

    # Wrong codes count against the same email and address as wrong passwords.
    credentials = {settings.AXES_USERNAME_FORM_FIELD: user.email}
    if AxesProxyHandler.is_locked(request, credentials):
        return get_lockout_response(request, credentials=credentials)

    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        result = services.code_verify(user, form.cleaned_data["code"])
        if result.device is not None:
            services.login_complete(request, user, result.device)
            if result.used_recovery_code:
                left = services.recovery_codes_left(user)
                messages.warning(
                    request,
                    f"You used a recovery code; {left} left. "
                    "If your phone is lost, set up the second factor again from your account page.",
                )
            return login_limits.browser_remember(request, redirect(_next_url(request, user)), user.email)
        user_login_failed.send(sender=__name__, credentials=credentials, request=request)
        login_limits.login_failure_record(email=user.email, client_address=client_ip(request))
        form.add_error("code", THROTTLED if result.throttled else WRONG_CODE)
    return render(
        request,
        "two_factor/verify.html",
        {"form": form, "next": request.POST.get("next") or request.GET.get("next", ""), "email": user.email},
        status=400 if form.errors else 200,
    )


@never_cache
@login_required
@sensitive_post_parameters("code")
@sensitive_variables("form", "codes")
def enrol(request: HttpRequest) -> HttpResponse:
    """Scan the QR code (or type the key), confirm with a current code, then
    see the recovery codes, once."""
    user = request.user
    if services.has_second_factor(user):
        if not _is_verified(user):
            return redirect_with_next("two_factor_verify", _next_url(request, user))
        return redirect("two_factor_account")
    if not services.enrolment_allowed(request):
        return render(
            request,
            "two_factor/enrol_link_needed.html",
            {"minutes": settings.SECOND_FACTOR_ENROLMENT_LINK_MINUTES},
            status=403,
        )
    device = services.enrolment_device(user)
    form = EnrolmentCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = services.enrolment_confirm(device, form.cleaned_data["code"])
        if codes is not None:
            device.refresh_from_db()
            otp_login(request, device)
            request.session.pop(services.ENROLMENT_LINK_SESSION_KEY, None)
            return render(
                request,
                "two_factor/recovery_codes.html",
                {"codes": codes, "continue_url": _next_url(request, user)},
            )
        form.add_error("code", "That code is not right. Type the code your app shows now.")
    return render(
        request,
        "two_factor/enrol.html",
        {
            "form": form,
            "qr": services.enrolment_qr_data_uri(device),
            "secret": services.enrolment_secret(device),
            "next": request.POST.get("next") or request.GET.get("next", ""),
            "forced": user.is_staff,
        },
        status=400 if form.errors else 200,
    )


@never_cache
@login_required
@sensitive_variables("token")
def enrol_link(request: HttpRequest, token: str) -> HttpResponse:
    """The one-time link a colleague gave after resetting this person's second
    factor. Opening it changes nothing; its button (a POST) claims it and
    opens enrolment for this session."""
    if request.method == "POST":
        if services.enrolment_link_claim(request, token=token):
            return redirect("two_factor_enrol")
        return render(request, "two_factor/enrol_link.html", {"refused": True}, status=410)
    return render(request, "two_factor/enrol_link.html", {"refused": False})


@never_cache
@login_required
@sensitive_post_parameters("code")
def account(request: HttpRequest) -> HttpResponse:
    """Is the second factor on? Merchants turn it on (enrolment) or off (with a code)."""
    user = request.user
    enabled = services.has_second_factor(user)
    if enabled and not _is_verified(user):
        return redirect_with_next("two_factor_verify", request.get_full_path())
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.second_factor_turn_off(user, form.cleaned_data["code"])
        except services.SecondFactorError as error:
            form.add_error("code", str(error))
        else:
            messages.success(request, "The second factor is off: your password alone logs you in.")
            return redirect("two_factor_account")
    return render(
        request,
        "two_factor/account.html",
        {
            "enabled": enabled,
            "form": form,
            "recovery_left": services.recovery_codes_left(user) if enabled else 0,
        },
        status=400 if form.errors else 200,
    )
