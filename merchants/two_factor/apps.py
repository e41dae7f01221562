from importlib import import_module

from django.contrib.admin.apps import AdminConfig


class VerifiedAdminConfig(AdminConfig):
    """django.contrib.admin, with `VerifiedAdminSite` as `admin.site`."""

    default_site = "merchants.two_factor.admin_site.VerifiedAdminSite"

    def ready(self):
        super().ready()  # autodiscovers every app's admin module
        # django-otp's own device admins show TOTP keys and QR codes: replaced
        # by a console page that shows neither (merchants/admin_two_factor.py).
        import_module("merchants.admin_two_factor")
