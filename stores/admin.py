"""Staff console for stores. Credentials appear only as fingerprints: no admin
page, form or history entry ever holds a decrypted value."""

from django.contrib import admin

from .models import Check, Credential, StatusChange, Store


class CredentialInline(admin.StackedInline):
    model = Credential
    fields = ["access_token_last4", "client_id_last4", "client_secret_last4", "created_at", "created_by"]
    readonly_fields = fields
    can_delete = False
    extra = 0
    max_num = 0

    def get_queryset(self, request):
        return super().get_queryset(request).fingerprints_only()


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ["store_hash", "name", "merchant", "domain", "plan_name", "status", "last_checked_at", "next_check_at"]
    list_filter = ["status", "plan_name"]
    list_select_related = ["merchant"]
    search_fields = ["store_hash", "name", "domain", "merchant__name"]
    readonly_fields = ["profile", "status", "status_changed_at", "last_checked_at", "connected_at", "created_at", "profile_updated_at"]
    inlines = [CredentialInline]


@admin.register(Check)
class CheckAdmin(admin.ModelAdmin):
    list_display = ["store", "trigger", "outcome", "started_at", "duration_ms"]
    list_filter = ["outcome", "trigger"]
    list_select_related = ["store"]
    search_fields = ["store__store_hash"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(StatusChange)
class StatusChangeAdmin(admin.ModelAdmin):
    list_display = ["store", "old_status", "new_status", "reason", "created_at", "processed_at"]
    list_filter = ["new_status", "old_status"]
    list_select_related = ["store"]
    search_fields = ["store__store_hash"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
