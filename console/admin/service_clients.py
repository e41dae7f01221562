"""Service clients in the staff console: Operations create them (the secret
is shown once), rotate their secret (the old one keeps working for a grace
period) and revoke them; every step goes through api/service_clients.py,
which logs it. A client whose secret was issued by someone who has since lost
Operations rights is flagged "Rotate" (it keeps working)."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html_join
from django.views.decorators.debug import sensitive_variables

from api.models import CredentialRelease, ServiceClient
from api.scopes import SCOPES
from api.service_clients import (
    DEFAULT_GRACE,
    ServiceClientError,
    parse_name,
    parse_networks,
    secret_issuer_has_rights,
    service_client_create,
    service_client_revoke,
    service_client_rotate,
)
from console.display import ago, badge

from .checkbox import DirectActionCheckboxMixin
from .pagination import EstimatedCountPaginator
from .permissions import ViewOnlyAdminMixin
from .secret_once import secret_once_response

GRACE_CHOICES = [
    ("0", "none: the old secret stops now"),
    ("3600", "1 hour"),
    (str(int(DEFAULT_GRACE.total_seconds())), "24 hours (default)"),
    ("604800", "7 days"),
]


class ServiceClientForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=[(scope, f"{scope} — {what}") for scope, what in SCOPES.items()],
        widget=forms.CheckboxSelectMultiple,
    )
    networks = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="CIDRs it may call from, one per line or comma-separated (e.g. 10.20.0.0/16). Empty: any.",
    )

    class Meta:
        model = ServiceClient
        fields = ["name"]

    def clean_name(self):
        try:
            return parse_name(self.cleaned_data["name"])
        except ServiceClientError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_networks(self):
        raw = self.cleaned_data.get("networks", "").replace("\n", ",")
        try:
            return parse_networks(raw.split(","))
        except ServiceClientError as exc:
            raise forms.ValidationError(str(exc)) from None


class RotateForm(forms.Form):
    grace = forms.TypedChoiceField(
        choices=GRACE_CHOICES,
        coerce=lambda value: timedelta(seconds=int(value)),
        initial=str(int(DEFAULT_GRACE.total_seconds())),
        label="The current secret keeps working for",
    )


@admin.register(ServiceClient)
class ServiceClientAdmin(DirectActionCheckboxMixin, admin.ModelAdmin):
    form = ServiceClientForm
    list_display = ["name", "scope_list", "network_list", "secret", "issued", "last_used", "state"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["secret_issued_by"]
    search_fields = ["name", "secret_prefix"]
    change_form_template = "admin/api/serviceclient/change_form.html"
    READ_ONLY = [
        "scope_list",
        "network_list",
        "secret",
        "state",
        "issued",
        "created_by",
        "created_at",
        "rotated_by",
        "rotated_at",
        "previous_secret",
        "revoked_by",
        "revoked_at",
        "last_used",
        "recent_releases",
    ]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "scopes", "networks"]
        return ["name", *self.READ_ONLY]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["name", *self.READ_ONLY]

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: the record stays for the audit trail

    def has_manage_permission(self, request, obj=None):
        return self.has_change_permission(request, obj)

    @admin.display(description="scopes")
    def scope_list(self, client):
        return ", ".join(client.scopes)

    @admin.display(description="networks")
    def network_list(self, client):
        return ", ".join(client.networks) or "any"

    @admin.display(description="secret")
    def secret(self, client):
        return client.display_prefix

    @admin.display(description="secret issued", ordering="secret_issued_at")
    def issued(self, client):
        who = client.secret_issued_by or ("a deleted account" if client.secret_issued_by_person else "command line")
        return format_html_join("", "{} by {}", [(ago(client.secret_issued_at), who)])

    @admin.display(description="previous secret")
    def previous_secret(self, client):
        return ago(client.previous_secret_expires_at, never="—") if client.previous_secret_hash else "—"

    @admin.display(description="last used", ordering="last_used_at")
    def last_used(self, client):
        return ago(client.last_used_at)

    @admin.display(description="state", ordering="revoked_at")
    def state(self, client):
        if client.revoked_at:
            return badge("Revoked", "off", title=f"revoked {client.revoked_at:%Y-%m-%d %H:%M} UTC")
        if not secret_issuer_has_rights(client):
            return badge(
                "Rotate",
                "warn",
                title="Its secret was issued by someone who no longer has Operations rights. It keeps working.",
            )
        return badge("Active", "ok")

    @admin.display(description="recent credential releases")
    def recent_releases(self, client):
        releases = CredentialRelease.objects.filter(client=client).select_related("store")[:10]
        if not releases:
            return "none"
        return format_html_join(
            "",
            "<div>{} <code>{}</code> from {}</div>",
            [(ago(r.released_at), r.store.store_hash, r.client_address or "?") for r in releases],
        )

    @method_decorator(sensitive_variables("issued"))
    def save_model(self, request, obj, form, change):
        if change:
            return  # nothing is edited in place; rotate and revoke have their own pages
        issued = service_client_create(
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            networks=form.cleaned_data["networks"],
            by=request.user,
            client=obj,
        )
        request._service_client_secret = issued.secret  # for response_add only; never stored

    def log_addition(self, request, obj, message):
        pass  # the service wrote the LogEntry, with the scopes and networks

    @method_decorator(sensitive_variables("secret"))
    def response_add(self, request, obj, post_url_continue=None):
        return self._secret_page(request, obj, getattr(request, "_service_client_secret", ""), "created")

    @method_decorator(sensitive_variables("secret"))
    def _secret_page(self, request, client, secret, what):
        return secret_once_response(
            request,
            model_admin=self,
            obj=client,
            title=f"Service client “{client.name}” {what}",
            label="Secret",
            secret=secret,
            explanation="The service sends it as “Authorization: Bearer <secret>” to /api/v1/. "
            "Copy it now: Violet keeps only a digest and will never show it again.",
            continue_url=reverse("admin:api_serviceclient_change", args=[client.pk]),
        )

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/rotate/", view(self.rotate_view), name="api_serviceclient_rotate"),
            path("<path:object_id>/revoke/", view(self.revoke_view), name="api_serviceclient_revoke"),
        ] + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        client = self.get_object(request, unquote(object_id))
        if client is not None and client.is_active and self.has_manage_permission(request, client):
            extra_context["rotate_url"] = reverse("admin:api_serviceclient_rotate", args=[client.pk])
            extra_context["revoke_url"] = reverse("admin:api_serviceclient_revoke", args=[client.pk])
        if client is not None and client.is_active and not secret_issuer_has_rights(client):
            extra_context["needs_rotation"] = True
        return super().change_view(request, object_id, form_url, extra_context)

    def _managed(self, request, object_id):
        client = self.get_object(request, unquote(object_id))
        if client is not None and not self.has_manage_permission(request, client):
            raise PermissionDenied
        return client

    def _confirm(self, request, client, title, form=None):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": client,
            "title": title,
            "form": form,
        }
        return TemplateResponse(request, "admin/api/serviceclient/confirm.html", context)

    @method_decorator(sensitive_variables("issued"))
    def rotate_view(self, request, object_id):
        client = self._managed(request, object_id)
        if client is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        form = RotateForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                issued = service_client_rotate(client=client, by=request.user, grace=form.cleaned_data["grace"])
            except ServiceClientError as exc:
                self.message_user(request, str(exc), level="error")
                return redirect("admin:api_serviceclient_change", client.pk)
            return self._secret_page(request, issued.client, issued.secret, "rotated")
        return self._confirm(request, client, f"Rotate the secret of “{client.name}”", form)

    def revoke_view(self, request, object_id):
        client = self._managed(request, object_id)
        if client is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if request.method == "POST":
            if service_client_revoke(client=client, by=request.user):
                self.message_user(request, f"Revoked {client}. Requests with its secrets now get 401.")
            else:
                self.message_user(request, f"{client} was already revoked.")
            return redirect("admin:api_serviceclient_change", client.pk)
        return self._confirm(request, client, f"Revoke the service client “{client.name}”")


@admin.register(CredentialRelease)
class CredentialReleaseAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["released_at", "client", "store", "version", "client_address"]
    list_select_related = ["client", "store"]
    list_filter = ["client"]
    search_fields = ["store__store_hash", "client__name"]
    # An audit table grows with every release: no COUNT(*) over all of it.
    show_full_result_count = False
    paginator = EstimatedCountPaginator
