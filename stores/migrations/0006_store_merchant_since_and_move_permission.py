"""A store's `merchant_since` (when it last changed merchant; empty while it
never has), and the Operations-only permission to move a store to another
merchant in the staff console."""

from django.db import migrations, models

MOVE_PERMISSION = ("move_store", "Can move a store to another merchant")


def grant_move(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    store_type, _ = ContentType.objects.get_or_create(app_label="stores", model="store")
    codename, name = MOVE_PERMISSION
    permission, _ = Permission.objects.get_or_create(content_type=store_type, codename=codename, defaults={"name": name})
    for group in Group.objects.filter(name="Operations"):
        group.permissions.add(permission)


def revoke_move(apps, schema_editor):
    apps.get_model("auth", "Permission").objects.filter(
        content_type__app_label="stores", codename=MOVE_PERMISSION[0]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("stores", "0005_store_status_refused"),
    ]

    operations = [
        migrations.AddField(
            model_name="store",
            name="merchant_since",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(grant_move, revoke_move),
    ]
