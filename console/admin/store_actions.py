"""The staff actions on stores: check now, pause, resume, disconnect, one
store at a time (buttons on its page) or many (the list's actions). Each is
gated by its permission, goes through the stores services (or the check
queue) and is written to the staff actions log."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from console import selectors
from stores import services
from stores.models import Check, Store
from stores.selectors import check_state
from stores.status import UNCHECKED_STATUSES, StoreStatus

from .audit import log_staff_action
from .permissions import has_store_permission


class StoreActionsMixin:
    """StoreAdmin's actions (mixed into `console.admin.stores.StoreAdmin`)."""

    def has_check_permission(self, request, obj=None):
        return has_store_permission(request, "check")

    def has_pause_permission(self, request, obj=None):
        return has_store_permission(request, "pause")

    def has_disconnect_permission(self, request, obj=None):
        return has_store_permission(request, "disconnect")

    def has_reference_permission(self, request, obj=None):
        return has_store_permission(request, "reference")

    def action_urls(self) -> list:
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/check-now/",
                wrap(self.action_view),
                {"action": "check"},
                name="stores_store_check",
            ),
            path(
                "<path:object_id>/pause/",
                wrap(self.action_view),
                {"action": "pause"},
                name="stores_store_pause",
            ),
            path(
                "<path:object_id>/resume/",
                wrap(self.action_view),
                {"action": "resume"},
                name="stores_store_resume",
            ),
            path(
                "<path:object_id>/disconnect/",
                wrap(self.action_view),
                {"action": "disconnect"},
                name="stores_store_disconnect",
            ),
            path(
                "<path:object_id>/reference/",
                wrap(self.action_view),
                {"action": "reference"},
                name="stores_store_reference",
            ),
            path(
                "<path:object_id>/unreference/",
                wrap(self.action_view),
                {"action": "unreference"},
                name="stores_store_unreference",
            ),
            path("<path:object_id>/status.json", wrap(self.status_view), name="stores_store_status"),
        ]

    def status_view(self, request, object_id):
        """The store page's status.json while a check runs (`check_state`)."""
        store = self.get_object(request, unquote(object_id))
        if store is None or not self.has_view_permission(request, store):
            raise Http404
        return JsonResponse(check_state(store))  # never cached: admin_view wraps it in never_cache

    # -- the buttons on the store page

    def action_buttons(self, request, store: Store) -> dict:
        buttons = []
        if store.status not in UNCHECKED_STATUSES and self.has_check_permission(request, store):
            buttons.append(("check", "Check now", "post"))
        if store.status == StoreStatus.PAUSED and self.has_pause_permission(request, store):
            buttons.append(("resume", "Resume checks", "post"))
        elif store.status not in UNCHECKED_STATUSES and self.has_pause_permission(request, store):
            buttons.append(("pause", "Pause checks", "get"))
        if self.has_replace_credentials_permission(request, store):
            label = (
                "Reconnect with new credentials" if store.status == StoreStatus.DISCONNECTED else "Replace credentials"
            )
            buttons.append(("replace_credentials", label, "get"))
        if store.status != StoreStatus.DISCONNECTED and self.has_disconnect_permission(request, store):
            buttons.append(("disconnect", "Disconnect…", "get"))
        if self.has_reference_permission(request, store):
            if store.is_reference:
                buttons.append(("unreference", "Stop using as a reference store", "post"))
            elif store.status not in UNCHECKED_STATUSES:
                buttons.append(("reference", "Make it a reference store…", "get"))
        return {
            "store_actions": [
                {
                    "url": reverse(f"admin:stores_store_{name}", args=[store.pk]),
                    "label": label,
                    "method": method,
                    "name": name,
                }
                for name, label, method in buttons
            ],
            "checks_url": reverse("admin:stores_check_changelist") + f"?store__id__exact={store.pk}",
            "status_changes_url": reverse("admin:stores_statuschange_changelist") + f"?store__id__exact={store.pk}",
        }

    # -- the actions, one store at a time; each returns (message level, message)

    ACTIONS = {
        "check": {
            "permission": "check",
            "title": "Check now",
            "button": "Queue a check now",
            "explanation": "Violet checks this store's credentials with BigCommerce right away "
            "(every scope), "
            "then records the result and applies the status rules as for a scheduled check.",
        },
        "pause": {
            "permission": "pause",
            "title": "Pause checks",
            "button": "Pause checks",
            "explanation": "Violet stops checking this store until someone resumes the checks. "
            "Its status "
            "becomes Paused; no notification is sent. The credentials are kept.",
            "reason": True,
        },
        "resume": {
            "permission": "pause",
            "title": "Resume checks",
            "button": "Resume checks",
            "explanation": "The store goes back to the status it had before the pause "
            "and is checked at once; "
            "that check decides its status.",
        },
        "disconnect": {
            "permission": "disconnect",
            "title": "Disconnect",
            "button": "Yes, disconnect and delete the credentials",
            "explanation": "The store's credentials are deleted at once and Violet stops "
            "checking it. Its "
            "history stays. To connect it again, the merchant (or staff) enters its credentials again: "
            "the same ones work if the API account still exists in BigCommerce. "
            "This cannot be undone.",
            "danger": True,
        },
        "reference": {
            "permission": "reference",
            "title": "Make it a reference store",
            "button": "Make it a reference store",
            "explanation": "A reference store (a canary) is checked every minute. When it fails the same way "
            "as other stores, a fleet-wide incident opens at once: that kind of failure then flips no store "
            "and tells no merchant until it is over. Use Violet's own BigCommerce stores, or a merchant's "
            "store only with the merchant's permission (it is called every minute).",
        },
        "unreference": {
            "permission": "reference",
            "title": "Stop using as a reference store",
            "button": "Stop using as a reference store",
            "explanation": "The store is checked on the usual schedule again.",
        },
    }

    def _do_reference(self, request, store: Store, **kwargs):
        if not services.store_set_reference(store=store, reference=True):
            return messages.WARNING, f"{store.display_name} is already a reference store."
        log_staff_action(request, store, "Made it a reference store (checked every minute).")
        return messages.SUCCESS, f"{store.display_name} is a reference store: it is checked every minute."

    def _do_unreference(self, request, store: Store, **kwargs):
        if not services.store_set_reference(store=store, reference=False):
            return messages.WARNING, f"{store.display_name} is not a reference store."
        log_staff_action(request, store, "Stopped using it as a reference store.")
        return messages.SUCCESS, f"{store.display_name} is no longer a reference store; it is checked as usual."

    def _do_check(self, request, store: Store, **kwargs):
        answer = services.store_check_request(store=store, trigger=Check.Trigger.STAFF)
        if answer.answer == answer.Answer.NOT_CHECKED:
            why = {
                StoreStatus.DISCONNECTED: "Violet holds no credentials for it; reconnect it first",
                StoreStatus.PAUSED: "its checks are paused; resume them first",
            }.get(answer.reason, "Violet does not check a store in this status")
            return (
                messages.WARNING,
                f"{store.display_name} was not checked: it is {store.get_status_display().lower()}, so {why}.",
            )
        if answer.queued:
            log_staff_action(request, store, "Queued a check (check now).")
            return (
                messages.SUCCESS,
                f"Check of {store.display_name} queued. Its page updates itself when the check ends.",
            )
        return messages.INFO, f"A check of {store.display_name} is already in flight."

    def _do_pause(self, request, store: Store, reason: str = "", public_message: str = "", **kwargs):
        reason = reason.strip()[:500]
        try:
            change = services.store_pause(
                store=store,
                user=request.user,
                reason=reason or "Checks paused by Violet staff.",
                public_message=public_message,
            )
        except services.PauseRefused as refused:
            return messages.ERROR, f"{store.display_name}: {refused}"
        if change is None:
            return (
                messages.WARNING,
                f"{store.display_name} is {store.get_status_display().lower()}: nothing to pause.",
            )
        log_staff_action(
            request,
            store,
            f"Paused checks (was {StoreStatus(change.old_status).label})."
            + (f" Reason: {reason}" if reason else "")
            + (f" Message for the merchant: {change.public_reason}" if change.public_reason else ""),
        )
        return messages.SUCCESS, f"Checks of {store.display_name} are paused."

    def _do_resume(self, request, store: Store, **kwargs):
        change = services.store_resume(store=store, user=request.user)
        if change is None:
            return messages.WARNING, f"{store.display_name} is not paused: nothing to resume."
        log_staff_action(
            request,
            store,
            f"Resumed checks (status back to {StoreStatus(change.new_status).label}; a check is due now).",
        )
        return (
            messages.SUCCESS,
            f"Checks of {store.display_name} resumed; it is due for a check now.",
        )

    def _do_disconnect(self, request, store: Store, **kwargs):
        if store.status == StoreStatus.DISCONNECTED:
            return messages.WARNING, f"{store.display_name} is already disconnected."
        credential = selectors.credential_fingerprint(store)
        services.store_disconnect(store=store, user=request.user, reason="Disconnected by Violet staff.")
        deleted = (
            f"deleted the credentials (token ending in …{credential.access_token_last4})"
            if credential
            else "no credentials were stored"
        )
        log_staff_action(request, store, f"Disconnected the store; {deleted}.")
        return (
            messages.SUCCESS,
            f"{store.display_name} is disconnected and its credentials are deleted.",
        )

    def _perform(self, request, action: str, store: Store, **kwargs):
        return getattr(self, f"_do_{action}")(request, store, **kwargs)

    def _allowed(self, request, action: str, store: Store | None = None) -> bool:
        return getattr(self, f"has_{self.ACTIONS[action]['permission']}_permission")(request, store)

    def action_view(self, request, object_id, action):
        store = self.get_object(request, unquote(object_id))
        if store is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self._allowed(request, action, store):
            raise PermissionDenied
        if request.method == "POST":
            level, message = self._perform_posted(request, action, store)
            self.message_user(request, message, level)
            return redirect("admin:stores_store_change", store.pk)
        return self._confirmation(request, action, [store])

    def _perform_posted(self, request, action: str, store):
        """`_perform` with the confirmation form's staff note and public message."""
        return self._perform(
            request,
            action,
            store,
            reason=request.POST.get("reason", ""),
            public_message=request.POST.get("public_message", ""),
        )

    def _confirmation(self, request, action: str, stores, *, bulk: bool = False):
        spec = self.ACTIONS[action]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"{spec['title']}: {stores[0].display_name}"
            if len(stores) == 1
            else f"{spec['title']}: {len(stores)} stores",
            "spec": spec,
            "action": action,
            "stores": stores,
            "bulk": bulk,
            "action_name": f"{action}_action" if action != "check" else "check_now_action",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "cancel_url": reverse("admin:stores_store_changelist")
            if bulk
            else reverse("admin:stores_store_change", args=[stores[0].pk]),
        }
        return TemplateResponse(request, "admin/stores/store/action_confirmation.html", context)

    def _bulk(self, request, action: str, queryset):
        """One success line for what was done (none when nothing was); a refused
        store is a warning that says why, an informational note stays info."""
        done, notes = 0, []
        for store in queryset:
            level, message = self._perform_posted(request, action, store)
            if level == messages.SUCCESS:
                done += 1
            else:
                notes.append((level, message))
        verb = {
            "check": "Queued checks for",
            "pause": "Paused checks of",
            "resume": "Resumed checks of",
            "disconnect": "Disconnected",
        }[action]
        if done:
            self.message_user(request, f"{verb} {done} store{'s' if done != 1 else ''}.", messages.SUCCESS)
        elif not notes:
            self.message_user(request, "No store was selected: nothing was done.", messages.WARNING)
        for level, note in notes[:10]:
            self.message_user(request, note, level)
        if len(notes) > 10:
            self.message_user(request, f"…and {len(notes) - 10} more stores skipped.", messages.WARNING)

    @admin.action(description="Check now", permissions=["check"])
    def check_now_action(self, request, queryset):
        self._bulk(request, "check", queryset)

    @admin.action(description="Pause checks", permissions=["pause"])
    def pause_action(self, request, queryset):
        self._bulk(request, "pause", queryset)

    @admin.action(description="Resume checks", permissions=["pause"])
    def resume_action(self, request, queryset):
        self._bulk(request, "resume", queryset)

    @admin.action(description="Disconnect (asks for confirmation)…", permissions=["disconnect"])
    def disconnect_action(self, request, queryset):
        if request.POST.get("post") == "yes":
            self._bulk(request, "disconnect", queryset)
            return None
        return self._confirmation(request, "disconnect", list(queryset), bulk=True)
