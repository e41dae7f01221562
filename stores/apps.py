from django.apps import AppConfig
from django.db.models.signals import post_migrate


class StoresConfig(AppConfig):
    name = "stores"
    verbose_name = "Stores"

    def ready(self):
        # Imported once the apps are ready: it lists every app's tasks.
        from config import periodic_tasks

        post_migrate.connect(periodic_tasks.ensure_after_migrate, sender=self)
