"""API tokens in the staff console: created here (the token is shown once),
listed by name and prefix, revoked here. Only a SHA-256 digest is stored."""

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_variables

from api.models import ApiToken
from api.tokens import api_token_issue, api_token_revoke
from console.display import ago, badge

from .audit import log_staff_action
from .checkbox import DirectActionCheckboxMixin
from .secret_once import secret_once_response


@admin.register(ApiToken)
class ApiTokenAdmin(DirectActionCheckboxMixin, admin.ModelAdmin):
    list_display = ["name", "token_prefix", "created_by", "created_at", "last_used", "expires", "state"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["created_by", "revoked_by"]
    search_fields = ["name", "prefix", "created_by__email"]
    actions = ["revoke_action"]
    change_form_template = "admin/api/apitoken/change_form.html"

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name"]
        return [
            "name",
            "token_prefix",
            "state",
            "created_by",
            "created_at",
            "last_used",
            "expires",
            "revoked_at",
            "revoked_by",
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [
            "token_prefix",
            "state",
            "created_by",
            "created_at",
            "last_used",
            "expires",
            "revoked_at",
            "revoked_by",
        ]

    def has_delete_permission(self, request, obj=None):
        # Revoke instead: the token's record stays for the audit trail.
        return False

    def has_revoke_permission(self, request, obj=None):
        return self.has_change_permission(request, obj)

    @admin.display(description="token")
    def token_prefix(self, token):
        return token.display_prefix

    @admin.display(description="last used", ordering="last_used_at")
    def last_used(self, token):
        return ago(token.last_used_at)

    @admin.display(description="expires", ordering="expires_at")
    def expires(self, token):
        return ago(token.expires_at, never="—")

    @admin.display(description="state", ordering="revoked_at")
    def state(self, token):
        if token.revoked_at:
            return badge("Revoked", "off", title=f"revoked {token.revoked_at:%Y-%m-%d %H:%M} UTC")
        if token.is_expired:
            return badge("Expired", "off", title="issue a new token")
        return badge("Active", "ok")

    @method_decorator(sensitive_variables("_token", "raw"))
    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        _token, raw = api_token_issue(name=obj.name, created_by=request.user, token=obj)
        request._api_token_raw = raw  # for response_add only; never stored

    @method_decorator(sensitive_variables("raw"))
    def response_add(self, request, obj, post_url_continue=None):
        raw = getattr(request, "_api_token_raw", "")
        return secret_once_response(
            request,
            model_admin=self,
            obj=obj,
            title=f"API token “{obj.name}” created",
            label="API token",
            secret=raw,
            explanation="Send it as “Authorization: Bearer <token>” to /api/v1/. "
            "Copy it now: Violet keeps "
            "only a digest and will never show it again.",
            continue_url=reverse("admin:api_apitoken_changelist"),
        )

    # -- revoking

    def _revoke(self, request, token) -> bool:
        if api_token_revoke(token=token, user=request.user):
            log_staff_action(request, token, f"Revoked the API token {token.display_prefix}.")
            return True
        return False

    @admin.action(description="Revoke selected tokens", permissions=["revoke"])
    def revoke_action(self, request, queryset):
        revoked = sum(self._revoke(request, token) for token in queryset)
        self.message_user(request, f"Revoked {revoked} token{'s' if revoked != 1 else ''}.")

    def get_urls(self):
        custom = [
            path(
                "<path:object_id>/revoke/",
                self.admin_site.admin_view(self.revoke_view),
                name="api_apitoken_revoke",
            )
        ]
        return custom + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        token = self.get_object(request, unquote(object_id))
        if token is not None and token.is_active and self.has_revoke_permission(request, token):
            extra_context["revoke_url"] = reverse("admin:api_apitoken_revoke", args=[token.pk])
        return super().change_view(request, object_id, form_url, extra_context)

    def revoke_view(self, request, object_id):
        token = self.get_object(request, unquote(object_id))
        if token is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_revoke_permission(request, token):
            raise PermissionDenied
        if request.method == "POST":
            if self._revoke(request, token):
                self.message_user(request, f"Revoked {token}. Requests with it now get 401.")
            else:
                self.message_user(request, f"{token} was already revoked.")
            return redirect("admin:api_apitoken_change", token.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": token,
            "title": f"Revoke the API token “{token.name}”",
        }
        return TemplateResponse(request, "admin/api/apitoken/revoke_confirmation.html", context)
