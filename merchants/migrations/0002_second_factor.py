"""Second factor in the staff console: `SecondFactor`, a proxy of django-otp's
TOTPDevice listed under Merchants. Support sees who has one; Operations may
also reset someone's (their TOTP device and recovery codes), after which that
person sets it up again at their next login."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

SUPPORT = [("merchants", "view_secondfactor")]
OPERATIONS = SUPPORT + [("merchants", "delete_secondfactor")]
GROUPS = {"Support": SUPPORT, "Operations": OPERATIONS}


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    for group_name, wanted in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        for app_label, codename in wanted:
            group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    for group in Group.objects.filter(name__in=list(GROUPS)):
        group.permissions.remove(
            *Permission.objects.filter(content_type__app_label="merchants", codename__in=[c for _, c in OPERATIONS])
        )


class Migration(migrations.Migration):
    dependencies = [
        ("merchants", "0001_initial"),
        ("stores", "0002_staff_groups"),
        ("otp_totp", "0003_add_timestamps"),
        ("otp_static", "0003_add_timestamps"),
    ]

    operations = [
        migrations.CreateModel(
            name="SecondFactor",
            fields=[],
            options={
                "verbose_name": "second factor",
                "verbose_name_plural": "second factors",
                "proxy": True,
                "indexes": [],
                "constraints": [],
            },
            bases=("otp_totp.totpdevice",),
        ),
        migrations.RunPython(grant, revoke),
    ]
