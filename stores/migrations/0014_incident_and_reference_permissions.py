"""The Operations-only permissions of fleet-wide incidents: marking a store as
a reference store (checked every minute), and closing an incident by hand."""

from django.db import migrations

PERMISSIONS = (
    ("store", "mark_reference_store", "Can mark a store as a reference store"),
    ("incident", "close_incident", "Can close a fleet-wide incident"),
)


def grant(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    for model, codename, name in PERMISSIONS:
        content_type, _ = ContentType.objects.get_or_create(app_label="stores", model=model)
        permission, _ = Permission.objects.get_or_create(
            content_type=content_type, codename=codename, defaults={"name": name}
        )
        for group in Group.objects.filter(name="Operations"):
            group.permissions.add(permission)


def revoke(apps, schema_editor):
    apps.get_model("auth", "Permission").objects.filter(
        content_type__app_label="stores", codename__in=[codename for _, codename, _ in PERMISSIONS]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("stores", "0013_fleet_incidents"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
