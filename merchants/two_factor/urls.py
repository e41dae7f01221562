from django.urls import path

from . import views

urlpatterns = [
    path("login/code/", views.verify, name="two_factor_verify"),
    path("account/two-factor/", views.account, name="two_factor_account"),
    path("account/two-factor/setup/", views.enrol, name="two_factor_enrol"),
    path("account/two-factor/link/<str:token>/", views.enrol_link, name="two_factor_enrol_link"),
]
