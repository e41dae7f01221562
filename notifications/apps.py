from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications and webhooks"

    def ready(self):
        from . import receivers  # noqa: F401 - connects the store signals
