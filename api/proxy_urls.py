"""The proxy handler's URL configuration (config/asgi.py): its one pattern, so
a proxied call is not matched against every URL of the portal first. api/urls.py
includes the same pattern (`ROUTE`) for the portal's own handler (make run, tests)."""

from django.urls import re_path

from .proxy import proxy

# Below /api/v1/: the store hash, then the store API path as sent (slashes and all).
ROUTE = r"proxy/(?P<store_hash>[^/]+)/(?P<path>.*)\Z"

PATTERN = r"api/v1/" + ROUTE  # config/asgi.py matches it directly, the same way
urlpatterns = [re_path(r"^" + PATTERN, proxy, name="proxy")]
