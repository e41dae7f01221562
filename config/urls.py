from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Violet Connect — staff console"
admin.site.site_title = "Violet Connect staff"
admin.site.index_title = "Fleet"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("merchants.urls")),
    path("", include("connect.urls")),
]
