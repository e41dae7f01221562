"""The guard in front of the staff console: every URL under /admin/ (its own
login page, its JSON views and its static-free pages alike) wants a logged-in
person whose session a second factor verified. Install after django-otp's
OTPMiddleware.

- anonymous: to the admin login, which itself sends them to the portal's login
  (password, then code); the admin's own password form is never shown;
- logged in, not verified, with a device: to the code step;
- staff with no device yet: to enrolment (forced at the first login);
- not staff: the admin turns them away as before, and its login page says
  the console is for Violet staff instead of offering another password form.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponseRedirect
from django.shortcuts import render, resolve_url
from django.urls import reverse

from . import services


def redirect_with_next(to: str, next_url: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"{resolve_url(to)}?{urlencode({'next': next_url})}")


class SecondFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        admin_index = reverse("admin:index")
        if request.path.startswith(admin_index):
            refusal = self.refuse(request, admin_index)
            if refusal is not None:
                return refusal
        return self.get_response(request)

    @staticmethod
    def refuse(request, admin_index: str):
        user = request.user
        admin_login = reverse("admin:login")
        at_login = request.path == admin_login
        if not user.is_authenticated:
            if at_login:
                return redirect_with_next(settings.LOGIN_URL, request.GET.get("next") or admin_index)
            return redirect_with_next(admin_login, request.get_full_path())
        verified = user.is_verified()
        if verified and (user.is_staff or not at_login):
            return None  # the admin's own permission checks take over
        if not verified and services.has_second_factor(user):
            return redirect_with_next("two_factor_verify", request.get_full_path())
        if not verified and user.is_staff:
            return redirect_with_next("two_factor_enrol", request.get_full_path())
        if at_login:
            return render(request, "two_factor/staff_only.html", status=403)
        return redirect_with_next(admin_login, request.get_full_path())
