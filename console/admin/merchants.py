"""Staff console for people and merchants: search merchants by name, owner
email or store hash; see their people and stores; invite someone (the same
`invitation_create` the merchant's People page uses, so the email goes out)."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Count, Prefetch, Q
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from console.display import ago, status_badge
from merchants.forms import InvitationForm
from merchants.models import Invitation, Membership, Merchant, User
from merchants.services import InvitationRefused, invitation_create, invitation_sender_may_send
from stores.models import Store
from stores.selectors import broken_values

from .audit import log_staff_action
from .permissions import ViewOnlyAdminMixin, ViewOnlyInline
from .store_search import search_by_store

MAX_INLINE_STORES = 50


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = [
        "email",
        "first_name",
        "last_name",
        "is_staff",
        "staff_roles",
        "is_active",
        "last_login",
    ]
    list_filter = ["is_staff", "is_superuser", "is_active", "groups"]
    search_fields = ["email", "first_name", "last_name"]
    # Checkboxes, each with its label, not Django's two-box filter widget
    # (its search icons carry aria-label on a bare <span>: an axe violation).
    filter_horizontal = ()
    formfield_overrides = {models.ManyToManyField: {"widget": forms.CheckboxSelectMultiple}}
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name")}),
        (
            "Permissions",
            {
                "fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions"),
                "description": "Violet staff: tick “Staff status” and add them to the "
                "Support group "
                "(sees everything, changes nothing) or the Operations group (also checks, pauses, "
                "disconnects, replaces credentials, manages webhooks and API tokens).",
            },
        ),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description="staff roles")
    def staff_roles(self, user):
        if user.is_superuser:
            return "superuser"
        return ", ".join(group.name for group in user.groups.all()) or "—"


if admin.site.is_registered(Group):
    admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(BaseGroupAdmin):
    """django.contrib.auth's, with checkboxes for the permissions (see UserAdmin)."""

    filter_horizontal = ()
    formfield_overrides = {models.ManyToManyField: {"widget": forms.CheckboxSelectMultiple}}


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]

    def get_formset(self, request, obj=None, **kwargs):
        """Each row's inputs named for screen readers: a tabular inline's only
        labels are its column headers, which do not label the inputs."""
        formset = super().get_formset(request, obj, **kwargs)

        class Labelled(formset):
            def add_fields(self, form, index):
                super().add_fields(form, index)
                if "role" in form.fields:
                    form.fields["role"].widget.attrs["aria-label"] = "Role"
                if "DELETE" in form.fields:
                    form.fields["DELETE"].widget.attrs["aria-label"] = "Remove this membership"

        return Labelled


class StoreInline(ViewOnlyInline):
    """The merchant's stores with their status (read-only; act on the store's page)."""

    model = Store
    row_limit = MAX_INLINE_STORES
    fields = ["store_hash", "name", "domain", "status_badge", "last_check"]
    readonly_fields = fields
    verbose_name_plural = f"Stores (first {MAX_INLINE_STORES}; all of them under Stores)"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .only("id", "merchant_id", "store_hash", "name", "domain", "status", "last_checked_at")
        )

    @admin.display(description="status")
    def status_badge(self, store):
        return status_badge(store.status)

    @admin.display(description="last check")
    def last_check(self, store):
        return ago(store.last_checked_at)


class InvitationInline(ViewOnlyInline):
    model = Invitation
    row_limit = 20
    ordering = ["-created_at"]
    show_change_link = False
    fields = ["email", "role", "invited_by", "created_at", "state"]
    readonly_fields = fields
    verbose_name_plural = "Invitations (latest 20)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("invited_by")

    @admin.display(description="state")
    def state(self, invitation):
        return _invitation_state(invitation)


def _invitation_state(invitation: Invitation) -> str:
    if invitation.accepted_at:
        return "accepted"
    if invitation.revoked_at:
        return "withdrawn"
    if not invitation.is_open:
        return "expired"
    return "open" if invitation_sender_may_send(invitation) else "void (its sender can no longer invite)"


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "owners", "store_count", "broken_count", "created_at"]
    search_fields = ["name", "slug", "memberships__user__email"]
    search_help_text = "Search by merchant name, a member's email or one of its stores (as in the store list)."
    prepopulated_fields = {"slug": ("name",)}
    inlines = [MembershipInline, StoreInline, InvitationInline]
    show_full_result_count = False
    change_form_template = "admin/merchants/merchant/change_form.html"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.resolver_match and request.resolver_match.url_name == "merchants_merchant_changelist":
            owners = Membership.objects.filter(role=Membership.Role.OWNER).select_related("user")
            queryset = queryset.annotate(
                n_stores=Count("stores", distinct=True),
                n_broken=Count("stores", filter=Q(stores__status__in=broken_values()), distinct=True),
            ).prefetch_related(Prefetch("memberships", queryset=owners, to_attr="owner_memberships"))
        return queryset

    def get_search_results(self, request, queryset, search_term):
        """Word by word: the name, slug or a member's email contains it, or it
        finds one of the merchant's stores by the store list's rule (one
        trigram index, not a scan of every store's hash)."""
        if not search_term:
            return queryset, False
        found = search_by_store(queryset, search_term, store="stores", also=tuple(self.search_fields))
        return found, True

    @admin.display(description="owners")
    def owners(self, merchant):
        return ", ".join(m.user.email for m in getattr(merchant, "owner_memberships", [])) or "—"

    @admin.display(description="stores", ordering="n_stores")
    def store_count(self, merchant):
        count = getattr(merchant, "n_stores", 0)
        url = reverse("admin:stores_store_changelist") + f"?merchant__id__exact={merchant.pk}"
        return format_html('<a href="{}">{}</a>', url, count)

    @admin.display(description="broken", ordering="n_broken")
    def broken_count(self, merchant):
        count = getattr(merchant, "n_broken", 0)
        if not count:
            return "0"
        url = reverse("admin:stores_store_changelist") + f"?merchant__id__exact={merchant.pk}&broken=now"
        return format_html('<a class="vc-badge vc-bad" href="{}">{}</a>', url, count)

    # -- inviting people

    def has_invite_permission(self, request, obj=None):
        return request.user.is_active and request.user.has_perm("merchants.add_invitation")

    def get_urls(self):
        custom = [
            path(
                "<path:object_id>/invite/",
                self.admin_site.admin_view(self.invite_view),
                name="merchants_merchant_invite",
            )
        ]
        return custom + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        if self.has_invite_permission(request):
            extra_context["invite_url"] = reverse("admin:merchants_merchant_invite", args=[object_id])
        extra_context["stores_url"] = (
            reverse("admin:stores_store_changelist") + f"?merchant__id__exact={unquote(object_id)}"
        )
        return super().change_view(request, object_id, form_url, extra_context)

    def invite_view(self, request, object_id):
        merchant = self.get_object(request, unquote(object_id))
        if merchant is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_invite_permission(request, merchant):
            raise PermissionDenied
        form = InvitationForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            email, role = form.cleaned_data["email"], form.cleaned_data["role"]
            try:
                invitation = invitation_create(merchant=merchant, email=email, role=role, invited_by=request.user)
            except InvitationRefused as refused:
                self.message_user(request, str(refused), messages.WARNING)
                return redirect("admin:merchants_merchant_change", merchant.pk)
            log_staff_action(
                request,
                merchant,
                f"Invited {invitation.email} as {invitation.get_role_display().lower()}.",
            )
            self.message_user(
                request,
                f"Invitation sent to {invitation.email} ({invitation.get_role_display().lower()}).",
                messages.SUCCESS,
            )
            return redirect("admin:merchants_merchant_change", merchant.pk)
        members = merchant.memberships.select_related("user").order_by("user__email")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": merchant,
            "title": f"Invite someone to {merchant.name}",
            "form": form,
            "members": format_html_join(
                ", ", "{} ({})", ((m.user.email, m.get_role_display().lower()) for m in members)
            ),
        }
        return TemplateResponse(
            request,
            "admin/merchants/merchant/invite.html",
            context,
            status=400 if form.errors else 200,
        )


@admin.register(Invitation)
class InvitationAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: invitations are sent from a merchant's page (Invite), so the email goes out."""

    list_display = ["email", "merchant", "role", "invited_by", "created_at", "state"]
    list_filter = [
        "role",
        ("accepted_at", admin.EmptyFieldListFilter),
        ("revoked_at", admin.EmptyFieldListFilter),
    ]
    list_select_related = ["merchant", "invited_by"]
    search_fields = ["email", "merchant__name"]
    fields = [
        "email",
        "merchant",
        "role",
        "invited_by",
        "sent_as",
        "created_at",
        "state",
        "accepted_at",
        "accepted_by",
        "revoked_at",
    ]
    readonly_fields = fields

    @admin.display(description="state")
    def state(self, invitation):
        return _invitation_state(invitation)
