"""Merchant-facing pages. Everything about one merchant lives under
/m/<merchant_slug>/, which `merchants.tenancy.TenantMiddleware` guards."""

from django.urls import include, path

from . import views

app_name = "connect"

merchant_patterns = [
    path("", views.dashboard, name="dashboard"),
    path("connect/", views.wizard_step, {"step": 1}, name="wizard_account"),
    path("connect/scopes/", views.wizard_step, {"step": 2}, name="wizard_scopes"),
    path("connect/save/", views.wizard_step, {"step": 3}, name="wizard_save"),
    path("connect/credentials/", views.wizard_credentials, name="wizard_credentials"),
    path("stores/<str:store_hash>/", views.store_detail, name="store_detail"),
    path("stores/<str:store_hash>/check/", views.store_check_now, name="store_check_now"),
    path("stores/<str:store_hash>/status.json", views.store_status, name="store_status"),
    path("stores/<str:store_hash>/replace/", views.store_replace, name="store_replace"),
    path("stores/<str:store_hash>/connect-again/", views.store_reconnect, name="store_reconnect"),
    path("stores/<str:store_hash>/disconnect/", views.store_disconnect, name="store_disconnect"),
    path("people/", views.people, name="people"),
    path("people/<int:membership_id>/role/", views.membership_role, name="membership_role"),
    path("people/<int:membership_id>/remove/", views.membership_remove, name="membership_remove"),
    path(
        "people/invitations/<int:invitation_id>/withdraw/",
        views.invitation_withdraw,
        name="invitation_withdraw",
    ),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("merchants/", views.merchant_picker, name="merchant_picker"),
    path("m/<slug:merchant_slug>/", include(merchant_patterns)),
]
