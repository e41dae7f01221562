from django.urls import path

from . import views

app_name = "api"

urlpatterns = [
    path("stores/", views.store_list, name="store_list"),
    path("stores/<str:store_hash>/", views.store_detail, name="store_detail"),
    path("stores/<str:store_hash>/check/", views.store_check, name="store_check"),
]
