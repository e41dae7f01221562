"""Fleet-wide incidents in the console: every staff group sees them (Support
and Operations); Operations alone mark a store as a reference store (checked
every minute) and close an incident by hand."""

from django.db import migrations

PERMISSIONS = (
    # (model, codename, name, groups)
    ("incident", "view_incident", "Can view incident", ("Support", "Operations")),
    ("store", "mark_reference_store", "Can mark a store as a reference store", ("Operations",)),
    ("incident", "close_incident", "Can close a fleet-wide incident", ("Operations",)),
)


def grant(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    for model, codename, name, groups in PERMISSIONS:
        content_type, _ = ContentType.objects.get_or_create(app_label="stores", model=model)
        permission, _ = Permission.objects.get_or_create(
            content_type=content_type, codename=codename, defaults={"name": name}
        )
        for group in Group.objects.filter(name__in=groups):
            group.permissions.add(permission)


def revoke(apps, schema_editor):
    apps.get_model("auth", "Permission").objects.filter(
        content_type__app_label="stores", codename__in=["mark_reference_store", "close_incident"]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("stores", "0013_fleet_incidents"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
