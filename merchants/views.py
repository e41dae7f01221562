"""Sign-up, login and invitations. Thin: the work is in `services`."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from config import throttle
from config.client_address import client_ip

from . import login_limits, services
from .forms import AcceptInvitationForm, LoginForm, PasswordResetForm, SignUpForm, TimeZoneForm
from .identity import canonical_email
from .two_factor import services as two_factor
from .two_factor.middleware import redirect_with_next


class LoginView(auth_views.LoginView):
    """The password step. Someone with a second factor is not logged in yet:
    they are parked as pending and asked for a code (two_factor.views.verify)."""

    redirect_authenticated_user = True
    authentication_form = LoginForm

    def post(self, request, *args, **kwargs):
        # The wide locks (login_limits) are asked before the password is.
        email = canonical_email(request.POST.get("username", ""))
        lock = login_limits.login_lock(
            email=email,
            client_address=client_ip(request),
            known_browser=login_limits.browser_known(request, email),
        )
        if lock is not None:
            return render(request, "registration/login_paused.html", {"lock": lock}, status=429)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        user = form.get_user()
        if two_factor.has_second_factor(user):
            two_factor.pending_login_start(self.request, user)
            return redirect_with_next("two_factor_verify", self.get_redirect_url() or "")
        return login_limits.browser_remember(self.request, super().form_valid(form), user.email)

    def form_invalid(self, form):
        if form.has_error(NON_FIELD_ERRORS, "invalid_login"):
            login_limits.login_failure_record(
                email=canonical_email(self.request.POST.get("username", "")), client_address=client_ip(self.request)
            )
        return super().form_invalid(form)

    def get_default_redirect_url(self):
        if self.request.user.is_staff:
            return reverse("admin:index")
        return super().get_default_redirect_url()

    def get_context_data(self, **kwargs):
        return super().get_context_data(signup_enabled=settings.SIGNUP_ENABLED, **kwargs)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's; a password reset by e-mail also marks this browser as known to
    the account, so the login's wide locks (login_limits) no longer hold it:
    that is how the owner of a locked account gets in at once."""

    def form_valid(self, form):
        return login_limits.browser_remember(self.request, super().form_valid(form), self.user.email)


class PasswordResetView(auth_views.PasswordResetView):
    """Django's, with `services.account_mail_allowed`'s limits: over them, the
    same redirect to "if an account exists we sent a mail", and no mail."""

    email_template_name = "registration/password_reset_email.txt"
    form_class = PasswordResetForm

    def form_valid(self, form):
        allowed = services.account_mail_allowed(
            services.AccountMail.PASSWORD_RESET,
            email=form.cleaned_data["email"],
            client_address=client_ip(self.request),
        )
        if not allowed:
            return HttpResponseRedirect(self.get_success_url())
        return super().form_valid(form)


@sensitive_post_parameters("password")
def signup(request: HttpRequest) -> HttpResponse:
    if not settings.SIGNUP_ENABLED:
        raise Http404("Sign-up is by invitation only.")
    if request.user.is_authenticated:
        return redirect("connect:home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # The same page whether or not the address already had an account.
        services.user_sign_up(
            email=form.cleaned_data["email"],
            password=form.cleaned_data["password"],
            merchant_name=form.cleaned_data["merchant_name"],
            client_address=client_ip(request),
            time_zone=form.cleaned_data["time_zone"],
        )
        return render(request, "registration/signup_sent.html", {"email": form.cleaned_data["email"]})
    return render(request, "registration/signup.html", {"form": form})


def _email_verify_invalid(request: HttpRequest) -> HttpResponse:
    reason = "This confirmation link is not valid, has expired, was used already, or belongs to another account."
    return render(request, "registration/email_verify_invalid.html", {"reason": reason}, status=410)


@never_cache
@require_http_methods(["GET", "POST"])
def email_verify(request: HttpRequest, token: str) -> HttpResponse:
    """The link mailed at sign-up. Opening it (GET) changes nothing: a page with a
    button. The button (a POST, CSRF-protected) confirms the address, once, and
    logs the person in unless they have a second factor (then: log in as usual)."""
    user = services.email_verification_user(token)
    if user is None or (request.user.is_authenticated and request.user.pk != user.pk):
        return _email_verify_invalid(request)
    if request.method != "POST":
        return render(request, "registration/email_verify_confirm.html", {"email": user.email})
    verified = services.email_verify(token)
    if verified is None:
        return _email_verify_invalid(request)
    if not request.user.is_authenticated:
        if not verified.may_log_in:
            messages.success(request, "Your e-mail address is confirmed. Log in to continue.")
            return redirect("login")
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    membership = user.memberships.select_related("merchant").first()
    if membership is None:
        return redirect("connect:home")
    messages.success(request, f"Welcome! {membership.merchant.name} is ready. Let's connect your store.")
    return redirect("connect:dashboard", merchant_slug=membership.merchant.slug)


@login_required
@require_POST
def email_verify_resend(request: HttpRequest) -> HttpResponse:
    if request.user.email_verified_at is not None:
        messages.info(request, "Your e-mail address is already confirmed.")
    elif throttle.allow(f"verify-resend:{request.user.pk}", limit=3, window_seconds=3600):
        services.email_verification_send(request.user)
        messages.success(request, f"We sent a new confirmation link to {request.user.email}.")
    else:
        messages.warning(request, "We sent several links already. Look for them in your inbox, or try in an hour.")
    return redirect("connect:home")


@never_cache  # the token is in the URL: no cache keeps the page (issue 28, item 16)
@sensitive_post_parameters("password")
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = services.invitation_from_token(token)
    except services.InvitationError as error:
        return render(request, "merchants/invitation_invalid.html", {"reason": str(error)}, status=410)

    user = request.user if request.user.is_authenticated else None
    form = None if user else AcceptInvitationForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and (form is None or form.is_valid()):
        try:
            membership = services.invitation_accept(
                token=token, user=user, password=form.cleaned_data["password"] if form else None
            )
        except services.InvitationError as error:
            return render(request, "merchants/invitation_invalid.html", {"reason": str(error)}, status=410)
        if user is None:
            login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"You've joined {membership.merchant.name}.")
        return redirect("connect:dashboard", merchant_slug=membership.merchant.slug)
    return render(request, "merchants/invitation_accept.html", {"invitation": invitation, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def account_time_zone(request: HttpRequest) -> HttpResponse:
    """The person's time zone: every time on their pages and in their e-mails is written in it."""
    form = TimeZoneForm(request.POST or None, initial={"time_zone": request.user.time_zone})
    if request.method == "POST" and form.is_valid():
        services.user_set_time_zone(request.user, form.cleaned_data["time_zone"])
        messages.success(request, f"Times are now shown in {form.cleaned_data['time_zone']}.")
        return redirect("account_time_zone")
    return render(request, "registration/time_zone.html", {"form": form}, status=400 if form.errors else 200)
