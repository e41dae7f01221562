"""A view that fails with secrets all around it, for tests/config/test_sentry.py."""

import logging

from django.contrib import admin
from django.urls import path

from tests.config.secrets_for_sentry import ACCESS_TOKEN, CLIENT_SECRET, PASSWORD

logger = logging.getLogger("stores.fleet")


def failing(request):
    access_token = ACCESS_TOKEN  # noqa: F841 - a local a traceback would carry
    client_secret = CLIENT_SECRET  # noqa: F841
    password = PASSWORD  # noqa: F841
    logger.info("trying with access_token=%s", ACCESS_TOKEN)  # a breadcrumb
    raise RuntimeError(f"BigCommerce refused X-Auth-Token: {ACCESS_TOKEN} (client_secret={CLIENT_SECRET})")


# The console is mounted as in config/urls.py: the second-factor middleware
# looks its address up on every request.
urlpatterns = [path("fail/", failing), path("admin/", admin.site.urls)]
