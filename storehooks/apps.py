from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_periodic_tasks(sender, **kwargs):
    from .tasks import ensure_periodic_tasks

    ensure_periodic_tasks()


class StorehooksConfig(AppConfig):
    name = "storehooks"
    verbose_name = "BigCommerce webhooks"

    def ready(self):
        from . import receivers  # noqa: F401 - connects the store signals

        post_migrate.connect(_ensure_periodic_tasks, sender=self)
