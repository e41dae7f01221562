"""Staff console for webhooks and notifications.

Webhook endpoints are configured here. Their signing secret is shown once,
on the page right after the endpoint is created (or its secret rotated), and
afterwards only as a SHA-256 fingerprint. No admin queryset loads the secret
column except the one-row lookup that computes that fingerprint.
Notifications (emails and webhook deliveries) are a read-only history.
"""

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.views.decorators.debug import sensitive_variables

from console.display import ago, badge, fingerprint
from notifications.destinations import url_problem
from notifications.events import EVENT_TYPES
from notifications.models import Notification, WebhookEndpoint
from notifications.services import webhook_endpoint_rotate_secret, webhook_endpoint_save
from stores.models import StoreEvent

from .audit import log_staff_action
from .permissions import ViewOnlyAdminMixin
from .secret_once import secret_once_response
from .store_search import SearchByStoreMixin

STATE_TONE = {"pending": "idle", "delivered": "ok", "failed": "bad"}


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(
        label="URL",
        max_length=500,
        assume_scheme="https",
        help_text=(
            "HTTPS address on the public internet that receives the signed POST requests (Standard "
            "Webhooks format). Internal addresses (loopback, private, link-local, metadata) are refused."
        ),
    )
    events = forms.MultipleChoiceField(
        choices=[(event, event) for event in EVENT_TYPES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave every box empty to receive every event.",
    )
    store_events = forms.MultipleChoiceField(
        label="Store events (the event feed's)",
        choices=StoreEvent.Kind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=(
            "For Violet's services: these events of the store event feed are pushed too, in the feed's "
            "JSON shape (docs/events.md). Leave every box empty to receive none."
        ),
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["name", "url", "events", "store_events", "is_active"]
        help_texts = {
            "is_active": "Untick to stop deliveries. Ticking it again re-enables an endpoint that Violet disabled.",
        }

    def clean_url(self):
        url = self.cleaned_data["url"]
        problem = url_problem(url)
        if problem:
            raise forms.ValidationError(problem)
        return url

    def clean_events(self):
        return list(self.cleaned_data.get("events") or [])

    def clean_store_events(self):
        return list(self.cleaned_data.get("store_events") or [])


class EndpointStateFilter(admin.SimpleListFilter):
    title = "health"
    parameter_name = "health"

    def lookups(self, request, model_admin):
        return [("ok", "Healthy"), ("failing", "Last delivery failed"), ("disabled", "Disabled")]

    def queryset(self, request, queryset):
        if self.value() == "ok":
            return queryset.filter(is_active=True, last_error="")
        if self.value() == "failing":
            return queryset.filter(is_active=True).exclude(last_error="")
        if self.value() == "disabled":
            return queryset.filter(is_active=False)
        return queryset


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ["name", "url", "event_list", "health", "last_success", "last_error_short"]
    list_filter = [EndpointStateFilter]
    search_fields = ["name", "url"]
    readonly_fields = [
        "secret_fingerprint",
        "health",
        "disabled_reason",
        "disabled_at",
        "last_error",
        "last_success_at",
        "created_at",
    ]
    change_form_template = "admin/notifications/webhookendpoint/change_form.html"

    def get_queryset(self, request):
        return super().get_queryset(request).defer("secret")

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": ["name", "url", "events", "store_events", "is_active"]})]
        return [
            (None, {"fields": ["name", "url", "events", "store_events", "is_active"]}),
            ("Signing secret", {"fields": ["secret_fingerprint"]}),
            (
                "Health",
                {
                    "fields": [
                        "health",
                        "disabled_reason",
                        "disabled_at",
                        "last_error",
                        "last_success_at",
                        "created_at",
                    ]
                },
            ),
        ]

    @admin.display(description="events")
    def event_list(self, endpoint):
        listed = ", ".join(endpoint.events) if endpoint.events else "all events"
        if endpoint.store_events:
            listed += "; store events: " + ", ".join(endpoint.store_events)
        return listed

    @admin.display(description="health", ordering="is_active")
    def health(self, endpoint):
        if not endpoint.is_active:
            return badge("Disabled", "bad", title=endpoint.disabled_reason or "disabled")
        if endpoint.last_error:
            return badge("Failing", "warn", title=endpoint.last_error)
        return badge("Healthy", "ok")

    @admin.display(description="last success", ordering="last_success_at")
    def last_success(self, endpoint):
        return ago(endpoint.last_success_at)

    @admin.display(description="last error / disabled because")
    def last_error_short(self, endpoint):
        text = endpoint.disabled_reason if not endpoint.is_active and endpoint.disabled_reason else endpoint.last_error
        return text[:120] or "—"

    @admin.display(description="signing secret")
    def secret_fingerprint(self, endpoint):
        secret = WebhookEndpoint.objects.filter(pk=endpoint.pk).values_list("secret", flat=True).first()
        if not secret:
            return "—"
        return format_html(
            '<code>whsec_…</code> ({})<br><span class="vc-muted">{}</span>',
            fingerprint(secret),
            "Shown in full only once, when created or rotated. Rotate it to get a new one.",
        )

    def save_model(self, request, obj, form, change):
        webhook_endpoint_save(endpoint=obj)

    @method_decorator(sensitive_variables("secret"))
    def response_add(self, request, obj, post_url_continue=None):
        secret = WebhookEndpoint.objects.filter(pk=obj.pk).values_list("secret", flat=True).get()
        return secret_once_response(
            request,
            model_admin=self,
            obj=obj,
            title=f"Webhook endpoint “{obj.name}” created",
            label="Signing secret",
            secret=secret,
            explanation="Give this secret to the receiver so it can verify "
            "the webhook-signature header. "
            "Copy it now: Violet will only show its fingerprint from now on.",
            continue_url=reverse("admin:notifications_webhookendpoint_change", args=[obj.pk]),
        )

    # -- rotating the signing secret

    def has_rotate_permission(self, request, obj=None):
        return self.has_change_permission(request, obj)

    def get_urls(self):
        custom = [
            path(
                "<path:object_id>/rotate-secret/",
                self.admin_site.admin_view(self.rotate_secret_view),
                name="notifications_webhookendpoint_rotate",
            )
        ]
        return custom + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        if self.has_rotate_permission(request):
            extra_context["rotate_url"] = reverse(
                "admin:notifications_webhookendpoint_rotate", args=[unquote(object_id)]
            )
        return super().change_view(request, object_id, form_url, extra_context)

    @method_decorator(sensitive_variables("secret"))
    def rotate_secret_view(self, request, object_id):
        endpoint = self.get_object(request, unquote(object_id))
        if endpoint is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_rotate_permission(request, endpoint):
            raise PermissionDenied
        if request.method != "POST":
            context = {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "original": endpoint,
                "title": f"Rotate the signing secret of “{endpoint.name}”",
            }
            return TemplateResponse(request, "admin/notifications/webhookendpoint/rotate_confirmation.html", context)
        secret = webhook_endpoint_rotate_secret(endpoint=endpoint)
        log_staff_action(request, endpoint, f"Rotated the signing secret (new {fingerprint(secret)}).")
        return secret_once_response(
            request,
            model_admin=self,
            obj=endpoint,
            title=f"New signing secret for “{endpoint.name}”",
            label="New signing secret",
            secret=secret,
            explanation="Deliveries from now on are signed with this secret; "
            "the old one no longer verifies. "
            "Give it to the receiver now: Violet will only show its fingerprint from now on.",
            continue_url=reverse("admin:notifications_webhookendpoint_change", args=[endpoint.pk]),
        )


class EndpointFilter(admin.SimpleListFilter):
    """Endpoints by name, without loading their secrets."""

    title = "webhook endpoint"
    parameter_name = "endpoint"

    def lookups(self, request, model_admin):
        return list(WebhookEndpoint.objects.order_by("name").values_list("pk", "name")[:100])

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(endpoint_id=self.value())
        return queryset


@admin.register(Notification)
class NotificationAdmin(SearchByStoreMixin, ViewOnlyAdminMixin, admin.ModelAdmin):
    """Emails and webhook deliveries: read-only history."""

    list_display = [
        "created_at",
        "event_type",
        "channel",
        "destination",
        "store",
        "state_badge",
        "attempts",
        "last_status_code",
        "last_error_short",
        "delivered_at",
    ]
    list_display_links = ["created_at"]
    list_filter = [
        "state",
        "channel",
        "event_type",
        EndpointFilter,
        ("created_at", admin.DateFieldListFilter),
    ]
    search_fields = ["event_id"]  # turns the search on; SearchByStoreMixin searches
    search_store_path = "status_change__store"
    search_also = ("event_id", "endpoint__name")
    search_help_text = (
        "Search by store (hash, name, domain, merchant or id; as in the store list), event id or endpoint name."
    )
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 50
    fields = [
        "event_type",
        "event_id",
        "channel",
        "destination",
        "store",
        "status_change",
        "store_event",
        "state_badge",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "duration_ms",
        "last_error",
        "delivered_at",
        "created_at",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("endpoint", "status_change__store", "store_event")
            .defer("endpoint__secret", "status_change__store__profile")
        )

    @admin.display(description="to")
    def destination(self, notification):
        if notification.endpoint_id:
            url = reverse("admin:notifications_webhookendpoint_change", args=[notification.endpoint_id])
            return format_html('<a href="{}">{}</a>', url, notification.endpoint.name)
        return ", ".join(notification.recipients) or notification.audience

    @admin.display(description="about")
    def store(self, notification):
        if notification.incident_id:  # a fleet-wide incident's opening or closing
            url = reverse("admin:stores_incident_change", args=[notification.incident_id])
            return format_html('<a href="{}">incident #{}</a>', url, notification.incident_id)
        if notification.status_change_id is None:  # a store event's: its hash, the store may be gone
            event = notification.store_event
            return event.store_hash if event else "—"
        store = notification.status_change.store
        url = reverse("admin:stores_store_change", args=[store.pk])
        return format_html('<a href="{}">{}</a>', url, store.display_name)

    @admin.display(description="state", ordering="state")
    def state_badge(self, notification):
        return badge(notification.get_state_display(), STATE_TONE.get(notification.state, "idle"))

    @admin.display(description="last error")
    def last_error_short(self, notification):
        return notification.last_error[:100] or "—"
