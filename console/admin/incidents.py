"""Fleet-wide incidents in the staff console: the Incidents page (history,
read-only), each incident's page with what it saw and held, and Operations'
"Close incident" (logged). The banner on every console page is the
`open_incidents` tag (`console.templatetags.console`)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from stores import services
from stores.incident_rule import KIND_WORDS, IncidentKind
from stores.models import Incident

from .audit import log_staff_action
from .permissions import INCIDENT_CLOSE_PERMISSION, ViewOnlyAdminMixin


@admin.register(Incident)
class IncidentAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("kind_words", "state", "opened_at", "closed_at", "stores_at_open", "held_stores_count")
    list_filter = ("kind",)
    date_hierarchy = "opened_at"
    fields = (
        "kind_words",
        "state",
        "opened_at",
        "reason",
        "by_reference",
        "stores_at_open",
        "checks_at_open",
        "example_answers",
        "held_stores_count",
        "held_checks_count",
        "still_held",
        "closed_at",
        "close_reason",
        "closed_by",
    )
    readonly_fields = fields

    @admin.display(description="what failed", ordering="kind")
    def kind_words(self, incident: Incident) -> str:
        return f"{incident.kind}: {KIND_WORDS[IncidentKind(incident.kind)]}"

    @admin.display(description="state")
    def state(self, incident: Incident) -> str:
        return "open" if incident.is_open else "closed"

    @admin.display(description="example answers")
    def example_answers(self, incident: Incident) -> str:
        rows = [example for example in incident.examples if isinstance(example, dict)]
        if not rows:
            return "—"
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li>store {} at {}: {} (HTTP {}) {}</li>",
                (
                    (
                        str(example.get("store_hash", ""))[:40],
                        str(example.get("at", ""))[:40],
                        str(example.get("outcome", ""))[:40],
                        ", ".join(str(status) for status in example.get("statuses", []))[:60] or "—",
                        str(example.get("problem", ""))[:300],
                    )
                    for example in rows
                ),
            ),
        )

    @admin.display(description="stores held now")
    def still_held(self, incident: Incident) -> str:
        held = incident.held_stores.count()
        if not held:
            return "0"
        url = reverse("admin:stores_store_changelist") + f"?held_by__id__exact={incident.pk}"
        return format_html('<a href="{}">{}</a>', url, held)

    # -- closing by hand

    def has_close_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.has_perm(INCIDENT_CLOSE_PERMISSION)

    def get_urls(self):
        return [
            path(
                "<path:object_id>/close/",
                self.admin_site.admin_view(self.close_view),
                name="stores_incident_close",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        incident = self.get_object(request, unquote(object_id))
        extra_context = dict(extra_context or {})
        if incident is not None and incident.is_open and self.has_close_permission(request, incident):
            extra_context["close_url"] = reverse("admin:stores_incident_close", args=[incident.pk])
        return super().change_view(request, object_id, form_url, extra_context)

    def close_view(self, request, object_id):
        incident = self.get_object(request, unquote(object_id))
        if incident is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_close_permission(request, incident):
            raise PermissionDenied
        if request.method == "POST":
            note = request.POST.get("reason", "").strip()[:500]
            reason = "Closed by hand" + (f": {note}" if note else ".")
            if services.incident_close(incident=incident, reason=reason, user=request.user):
                log_staff_action(request, incident, f"Closed the incident by hand. {reason}")
                self.message_user(
                    request,
                    "The incident is closed. Every store it held is checked again now; "
                    "only those still failing are flagged.",
                    messages.SUCCESS,
                )
            else:
                self.message_user(request, "The incident was already closed.", messages.WARNING)
            return redirect("admin:stores_incident_change", incident.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Close incident: {incident.kind}",
            "incident": incident,
            "cancel_url": reverse("admin:stores_incident_change", args=[incident.pk]),
        }
        return TemplateResponse(request, "admin/stores/incident/close.html", context)
