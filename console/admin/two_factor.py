"""Staff console: who has a second factor, and resetting it for someone who
lost their phone and their recovery codes (Operations; logged; never your own).

Replaces django-otp's own device admins, which show TOTP keys and QR codes:
here no key, no QR code and no recovery code is ever shown. Imported by
`console.admin_app.VerifiedAdminConfig.ready()` after autodiscovery.
(To move into console/admin/ with the other console modules.)
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from console.display import ago
from merchants.models import SecondFactor
from merchants.two_factor import services

from .audit import log_staff_action
from .checkbox import DirectActionCheckboxMixin
from .permissions import ViewOnlyAdminMixin
from .secret_once import secret_once_response

for _model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


@admin.register(SecondFactor)
class SecondFactorAdmin(DirectActionCheckboxMixin, ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["user", "is_staff", "confirmed", "created", "last_used", "recovery_codes_left", "wrong_codes"]
    list_filter = ["confirmed", "user__is_staff"]
    search_fields = ["user__email"]
    list_select_related = ["user"]
    ordering = ["user__email"]
    fields = ["user", "name", "confirmed", "created_at", "last_used_at", "throttling_failure_count"]
    readonly_fields = fields
    actions = ["reset_second_factor"]

    def get_queryset(self, request):
        tokens_left = (
            StaticToken.objects.filter(device__user=OuterRef("user"))
            .values("device__user")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(codes_left=Coalesce(Subquery(tokens_left, output_field=IntegerField()), 0))
        )

    @admin.display(description="staff", boolean=True)
    def is_staff(self, device):
        return device.user.is_staff

    @admin.display(description="created")
    def created(self, device):
        return ago(device.created_at)

    @admin.display(description="last used")
    def last_used(self, device):
        return ago(device.last_used_at)

    @admin.display(description="recovery codes left")
    def recovery_codes_left(self, device):
        return device.codes_left

    @admin.display(description="wrong codes in a row")
    def wrong_codes(self, device):
        return device.throttling_failure_count

    def has_reset_permission(self, request) -> bool:
        return request.user.is_active and request.user.has_perm("merchants.delete_secondfactor")

    @admin.action(
        permissions=["reset"],
        description="Reset their second factor (staff get a one-time link to set it up again)",
    )
    def reset_second_factor(self, request, queryset):
        """Remove their devices and recovery codes. A staff member can then
        enrol only through a one-time link (issue 28, item 16), shown here once
        for the colleague to hand over; a merchant simply logs in with their
        password again. Never one's own; a superuser's only by a superuser."""
        people = {device.user for device in queryset.select_related("user")}
        refusal = None
        if request.user in people:
            refusal = "You cannot reset your own second factor: ask a colleague in Operations."
        elif any(p.is_superuser for p in people) and not request.user.is_superuser:
            refusal = "Only a superuser can reset a superuser's second factor. Nothing was reset."
        elif len(people) > 1 and any(p.is_staff for p in people):
            refusal = "Reset staff one at a time: each gets their own one-time link to hand over. Nothing was reset."
        if refusal:
            self.message_user(request, refusal, messages.ERROR)
            return None
        for person in sorted(people, key=lambda p: p.email):
            removed = services.second_factor_reset(person)
            if not person.is_staff:
                log_staff_action(
                    request,
                    person,
                    f"Reset the second factor of {person.email} ({removed} device(s) removed); "
                    "their password alone logs them in until they set it up again.",
                )
                continue
            link, expires_at = services.enrolment_link_issue(user=person, by=request.user)
            until = timezone.localtime(expires_at).strftime("%Y-%m-%d %H:%M %Z")
            log_staff_action(
                request,
                person,
                f"Reset the second factor of {person.email} ({removed} device(s) removed) and issued "
                f"a one-time enrolment link, valid until {until}.",
            )
            return secret_once_response(
                request,
                model_admin=self,
                obj=person,
                title=f"Second factor reset for {person.email}",
                label="One-time enrolment link",
                secret=link,
                explanation=(
                    f"Give this link to {person.email} yourself (by phone or chat, after making sure it is "
                    f"them), not by e-mail. Logged in as {person.email}, it sets up their new second factor, "
                    f"once, until {until}; their password alone no longer can."
                ),
                continue_url=reverse("admin:merchants_secondfactor_changelist"),
            )
        self.message_user(
            request,
            f"Second factor reset for {', '.join(sorted(p.email for p in people))}. "
            "Their password alone logs them in until they set it up again.",
            messages.SUCCESS,
        )
        return None
