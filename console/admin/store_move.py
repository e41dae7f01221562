"""Moving a store to another merchant from the staff console (Operations
only): choose the merchant, confirm on a second page, then the stores service
(`store_move`) moves it and the staff actions log names both merchants."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from merchants.models import Merchant
from stores import services
from stores.models import Store

from .audit import log_staff_action
from .permissions import has_store_permission


class MerchantChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, merchant: Merchant) -> str:
        return f"{merchant.name} ({merchant.slug})"


class StoreMoveForm(forms.Form):
    to_merchant = MerchantChoiceField(
        queryset=Merchant.objects.none(),
        label="Move to merchant",
        empty_label="Choose a merchant…",
        error_messages={"invalid_choice": "Choose one of the merchants listed (not the store's own)."},
    )

    def __init__(self, *args, store: Store, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_merchant"].queryset = Merchant.objects.exclude(pk=store.merchant_id).order_by("name")


class StoreMoveMixin:
    """StoreAdmin's "Move to another merchant" (mixed into `console.admin.stores.StoreAdmin`)."""

    def has_move_permission(self, request, obj=None):
        return has_store_permission(request, "move")

    def move_urls(self) -> list:
        return [
            path(
                "<path:object_id>/move/",
                self.admin_site.admin_view(self.move_view),
                name="stores_store_move",
            )
        ]

    def move_button(self, request, store: Store) -> list[dict]:
        if not self.has_move_permission(request, store):
            return []
        return [
            {
                "url": reverse("admin:stores_store_move", args=[store.pk]),
                "label": "Move to another merchant…",
                "method": "get",
                "name": "move",
            }
        ]

    def move_view(self, request, object_id):
        store = self.get_object(request, unquote(object_id))
        if store is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_move_permission(request, store):
            raise PermissionDenied
        form = StoreMoveForm(request.POST or None, store=store)
        if request.method != "POST":
            return self._move_page(request, store, form)
        if not form.is_valid():
            return self._move_page(request, store, form, status=400)
        to_merchant = form.cleaned_data["to_merchant"]
        if request.POST.get("confirm") != "yes":
            return self._move_page(request, store, form, to_merchant=to_merchant)
        try:
            previous = services.store_move(store=store, to_merchant=to_merchant, by=request.user)
        except services.StoreMoveRefused as refused:
            self.message_user(request, str(refused), messages.WARNING)
            return redirect("admin:stores_store_change", store.pk)
        log_staff_action(
            request,
            store,
            f"Moved the store from merchant {previous.name} ({previous.slug}) "
            f"to merchant {to_merchant.name} ({to_merchant.slug}); credentials and status kept.",
        )
        self.message_user(
            request,
            f"{store.display_name} now belongs to {to_merchant.name}. {previous.name} no longer sees it; "
            f"{to_merchant.name} sees its history from now on.",
            messages.SUCCESS,
        )
        return redirect("admin:stores_store_change", store.pk)

    def _move_page(self, request, store: Store, form, *, to_merchant: Merchant | None = None, status: int = 200):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Move {store.display_name} to another merchant",
            "store": store,
            "form": form,
            "to_merchant": to_merchant,
            "cancel_url": reverse("admin:stores_store_change", args=[store.pk]),
        }
        return TemplateResponse(request, "admin/stores/store/move.html", context, status=status)
