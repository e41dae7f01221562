from django.contrib import admin
from django.urls import include, path

from ops import views as ops_views

admin.site.site_header = "Violet Connect — staff console"
admin.site.site_title = "Violet Connect staff"
admin.site.index_title = "Fleet"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("api.urls")),
    path("bigcommerce/webhooks/", include("storehooks.urls")),
    path("health/live", ops_views.live, name="health_live"),
    path("health/ready", ops_views.ready, name="health_ready"),
    path("health/", ops_views.health, name="health"),
    path("metrics", ops_views.metrics, name="metrics"),
    path("", include("merchants.urls")),
    path("", include("connect.urls")),
]
