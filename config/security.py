"""Response headers Django 5.2 does not set by itself."""

from django.conf import settings


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
        return response
