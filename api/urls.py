from .views import api

app_name = "api"

# ninja's patterns: the endpoints (named store_list, store_detail, store_check)
# and `openapi.json`.
urlpatterns = api.urls[0]
