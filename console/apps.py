from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    """Violet's staff console: the Django admin's pages for every app's models.

    The console sits above every domain app (it imports stores, merchants,
    connect, notifications, storehooks, api); none of them imports it.
    """

    name = "console"
    verbose_name = "Staff console"
