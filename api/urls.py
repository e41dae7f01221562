from django.urls import re_path

from .proxy import proxy
from .proxy_urls import ROUTE
from .views import api

app_name = "api"

# ninja's patterns: the endpoints (named store_list, store_detail, store_check)
# and `openapi.json`.
urlpatterns = [
    # The BigCommerce proxy: a plain async view (any method, BigCommerce's own
    # answers), not a ninja operation; described in docs/service-clients.md.
    re_path("^" + ROUTE, proxy, name="proxy"),
    *api.urls[0],
]
