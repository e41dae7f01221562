"""Replacing a store's credentials from the staff console: the merchant
wizard's form, validation (`connect.onboarding`) and page logic
(`connect.credentials_page`), with nothing ever echoing a secret, and the
result written to the staff actions log."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from config.client_address import client_ip
from connect import onboarding
from connect.credentials_page import SECRET_POST_FIELDS, api_path_to_show, credentials_page
from connect.forms import CredentialsForm
from console import selectors

from .audit import log_staff_action
from .permissions import has_store_permission


class SecretTextarea(forms.Textarea):
    """The pasted .txt holds every secret: never put it back in the page."""

    def format_value(self, value):
        return None


class StaffCredentialsForm(CredentialsForm):
    """The merchant wizard's form, with no field ever echoing a secret."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["credentials_text"].widget = SecretTextarea(
            attrs={"rows": 6, "spellcheck": "false", "autocomplete": "off"}
        )


class ReplaceCredentialsMixin:
    """StoreAdmin's credential replacement (mixed into `console.admin.stores.StoreAdmin`)."""

    def has_replace_credentials_permission(self, request, obj=None):
        return has_store_permission(request, "replace_credentials")

    def credentials_urls(self) -> list:
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/replace-credentials/",
                wrap(self.replace_credentials_view),
                name="stores_store_replace_credentials",
            ),
        ]

    # -- replacing credentials: the merchant wizard's validation, from the admin

    @method_decorator(sensitive_post_parameters(*SECRET_POST_FIELDS))
    @method_decorator(sensitive_variables("form", "attempt"))
    def replace_credentials_view(self, request, object_id):
        store = self.get_object(request, unquote(object_id))
        if store is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_replace_credentials_permission(request, store):
            raise PermissionDenied
        if request.method == "POST" and request.POST.get("start_over"):
            onboarding.draft_discard(store.merchant, request.user, store.store_hash)
            self.message_user(request, "Forgot the values kept from your last attempt.", messages.INFO)
            return redirect("admin:stores_store_replace_credentials", store.pk)
        form = StaffCredentialsForm(request.POST or None, request.FILES or None)
        posted = request.method == "POST"
        attempt = None
        if posted and form.is_valid():
            attempt = onboarding.connect_attempt(
                merchant=store.merchant,
                user=request.user,
                typed=form.typed(),
                file_text=form.file_text(),
                client_address=client_ip(request),
                store=store,
            )
            if attempt.ok:
                return self._credentials_replaced(request, attempt)
            codes = sorted({problem.code for problem in attempt.problems}) or (
                ["throttled"] if attempt.throttled_for else []
            )
            log_staff_action(
                request,
                store,
                "Tried to replace the credentials; refused: " + (", ".join(codes) or "unknown") + ".",
            )
        page = credentials_page(posted=posted, attempt=attempt, merchant=store.merchant, user=request.user, store=store)
        fields = [
            {
                "field": form[name],
                "problems": page.field_problems[name],
                "kept": page.kept_last4(name),
                # Only the API path is ever shown back, only when nothing is wrong with
                # it, and only as the canonical path of its store hash (never typed text).
                "value": api_path_to_show(form[name].value())
                if name == "api_path" and not page.field_problems[name] and not form[name].errors
                else "",
            }
            for name in CredentialsForm.TYPED_FIELDS
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": store,
            "store": store,
            "title": f"Replace credentials: {store.display_name}",
            "form": form,
            "fields": fields,
            "kept": list(page.kept.values()),
            "general_problems": page.general_problems,
            "missing_scopes": page.missing_scopes,
            "throttled_for": page.throttled_for,
            "outcome": page.outcome,
            "current": selectors.credential_fingerprint(store),
        }
        return TemplateResponse(request, "admin/stores/store/replace_credentials.html", context, status=page.status)

    def _credentials_replaced(self, request, attempt) -> HttpResponseRedirect:
        store = attempt.store
        credential = selectors.credential_fingerprint(store)
        token = f"token ending in …{credential.access_token_last4}" if credential else "new credentials"
        if attempt.replaced:
            log_staff_action(request, store, f"Replaced the credentials after a full live check; now {token}.")
            message = f"New credentials saved for {store.display_name} ({token}). Every scope Violet needs is granted."
        else:
            log_staff_action(
                request,
                store,
                f"Reconnected the store with new credentials after a full live check; now {token}.",
            )
            message = f"{store.display_name} is connected again ({token}). Every scope Violet needs is granted."
        self.message_user(request, message, messages.SUCCESS)
        return redirect("admin:stores_store_change", store.pk)
