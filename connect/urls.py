"""Merchant-facing pages. Everything about one merchant lives under
/m/<merchant_slug>/, which `merchants.tenancy.TenantMiddleware` guards."""

from django.urls import include, path

from . import views

app_name = "connect"

merchant_patterns = [
    path("", views.dashboard, name="dashboard"),
    path("stores/<str:store_hash>/", views.store_detail, name="store_detail"),
    path("people/", views.people, name="people"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("merchants/", views.merchant_picker, name="merchant_picker"),
    path("m/<slug:merchant_slug>/", include(merchant_patterns)),
]
