"""Let the staff groups (stores 0002: Support, Operations) view webhook
registrations and deliveries. Nobody changes them: they are evidence."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEW = ["view_hookregistration", "view_webhookdelivery"]
GROUPS = ["Support", "Operations"]


def grant(apps, schema_editor):
    app_config = apps.get_app_config("storehooks")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    permissions = list(Permission.objects.filter(content_type__app_label="storehooks", codename__in=VIEW))
    for group in Group.objects.filter(name__in=GROUPS):
        group.permissions.add(*permissions)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    permissions = list(Permission.objects.filter(content_type__app_label="storehooks", codename__in=VIEW))
    for group in Group.objects.filter(name__in=GROUPS):
        group.permissions.remove(*permissions)


class Migration(migrations.Migration):
    dependencies = [
        ("storehooks", "0001_initial"),
        ("stores", "0002_staff_groups"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
