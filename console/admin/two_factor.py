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
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from console.display import ago
from merchants.models import SecondFactor
from merchants.two_factor import services

from .audit import log_staff_action
from .checkbox import DirectActionCheckboxMixin
from .permissions import ViewOnlyAdminMixin

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
        description="Reset their second factor (they set it up again at their next login)",
    )
    def reset_second_factor(self, request, queryset):
        people = {device.user for device in queryset.select_related("user")}
        if request.user in people:
            self.message_user(
                request,
                "You cannot reset your own second factor: ask a colleague in Operations.",
                messages.ERROR,
            )
            return
        for person in sorted(people, key=lambda p: p.email):
            removed = services.second_factor_reset(person)
            log_staff_action(
                request,
                person,
                f"Reset the second factor of {person.email} ({removed} device(s) removed); "
                "they set it up again at their next login.",
            )
        self.message_user(
            request,
            f"Second factor reset for {', '.join(sorted(p.email for p in people))}. "
            "They set it up again at their next login.",
            messages.SUCCESS,
        )
