from django.apps import AppConfig


class StorehooksConfig(AppConfig):
    name = "storehooks"
    verbose_name = "BigCommerce webhooks"

    def ready(self):
        from . import receivers  # noqa: F401 - connects the store signals
