"""The one page that ever shows a new secret (a webhook signing secret, an API token)."""

from __future__ import annotations

from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.views.decorators.debug import sensitive_variables


@sensitive_variables("secret")
def secret_once_response(
    request: HttpRequest,
    *,
    model_admin,
    obj,
    title: str,
    label: str,
    secret: str,
    explanation: str,
    continue_url: str,
) -> TemplateResponse:
    """The one page that ever shows a new secret. It is rendered straight into
    the response (never put in a message cookie or the session), and marked
    not to be cached."""
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "original": obj,
        "title": title,
        "label": label,
        "secret": secret,
        "explanation": explanation,
        "continue_url": continue_url,
    }
    response = TemplateResponse(request, "admin/secret_once.html", context)
    response["Cache-Control"] = "no-store, private"
    response["Pragma"] = "no-cache"
    return response
