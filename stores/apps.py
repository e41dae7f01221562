from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_periodic_tasks(sender, **kwargs):
    from .schedule import ensure_periodic_tasks

    ensure_periodic_tasks()


class StoresConfig(AppConfig):
    name = "stores"
    verbose_name = "Stores"

    def ready(self):
        post_migrate.connect(_ensure_periodic_tasks, sender=self)
