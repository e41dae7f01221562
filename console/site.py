"""The staff console's admin site: staff *and* a verified second factor.

`SecondFactorMiddleware` already turns every unverified request to /admin/
away; this is the same rule inside the site, so that removing or reordering
the middleware cannot open the console to a password alone.
"""

from django.contrib.admin import AdminSite


class VerifiedAdminSite(AdminSite):
    def has_permission(self, request) -> bool:
        is_verified = getattr(request.user, "is_verified", None)
        return super().has_permission(request) and callable(is_verified) and is_verified()
