"""The proxy handler's URL configuration (config/asgi.py): its one pattern, so
a proxied call is not matched against every URL of the portal first. The same
pattern is in api/urls.py, for the portal's own handler (make run, tests)."""

from django.urls import re_path

from .proxy import proxy

PATTERN = r"^api/v1/proxy/(?P<store_hash>[^/]+)/(?P<path>.*)\Z"

urlpatterns = [re_path(PATTERN, proxy, name="proxy")]
