from django.urls import re_path

from . import views

app_name = "storehooks"

urlpatterns = [
    re_path(r"^(?P<store_hash>[a-z0-9]{1,20})/$", views.receive, name="receive"),
]
