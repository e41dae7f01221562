from django.apps import AppConfig


class ConnectConfig(AppConfig):
    name = "connect"
    verbose_name = "Merchant pages"

    def ready(self):
        from . import receivers  # noqa: F401 - connects the signal receivers
