from importlib import import_module

from django.contrib.admin.apps import AdminConfig


class VerifiedAdminConfig(AdminConfig):
    """django.contrib.admin, with `VerifiedAdminSite` as `admin.site`."""

    default_site = "console.site.VerifiedAdminSite"

    def ready(self):
        super().ready()  # autodiscovers every app's admin module
        # django-otp's own device admins show TOTP keys and QR codes: replaced
        # by a console page that shows neither (console/admin/two_factor.py).
        import_module("console.admin.two_factor")
