"""Response headers Django 5.2 does not set by itself."""

from django.conf import settings
from django.utils.cache import patch_cache_control


class SecurityHeadersMiddleware:
    """A strict Content-Security-Policy (one stylesheet and one script, both
    ours: nothing inline, nothing from elsewhere) and a Permissions-Policy."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.csp = "; ".join(f"{directive} {value}" for directive, value in settings.CONTENT_SECURITY_POLICY.items())

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.csp)
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            # A signed-in person's pages (their stores, people, credentials'
            # fingerprints) are never kept by a browser or a shared cache.
            patch_cache_control(response, no_store=True, private=True)
        return response
