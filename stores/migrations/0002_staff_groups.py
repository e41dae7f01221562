"""The two staff roles of the Violet staff console, as groups.

- "Support": views everything, changes nothing.
- "Operations": views everything and may act: check now, pause and resume,
  disconnect, replace credentials (custom permissions on Store, created
  here), configure webhook endpoints, create and revoke API tokens, invite
  people to a merchant, and edit the beat schedule.

The custom Store permissions are declared here rather than in Store.Meta so
the stores models stay as they are. Re-running is harmless (get_or_create),
and existing groups are brought back to exactly these permissions.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CUSTOM_STORE_PERMISSIONS = {
    "check_store": "Can check a store now",
    "pause_store": "Can pause and resume a store's checks",
    "disconnect_store": "Can disconnect a store (deletes its credentials)",
    "replace_credentials": "Can replace a store's credentials",
}

VIEWABLE = {
    "merchants": ["user", "merchant", "membership", "invitation"],
    "stores": ["store", "check", "statuschange"],
    "notifications": ["webhookendpoint", "notification"],
    "api": ["apitoken"],
    "admin": ["logentry"],
    "auth": ["group"],
    "django_celery_beat": [
        "periodictask",
        "intervalschedule",
        "crontabschedule",
        "solarschedule",
        "clockedschedule",
    ],
}

SUPPORT = [(app, f"view_{model}") for app, models in VIEWABLE.items() for model in models]
OPERATIONS = (
    SUPPORT
    + [("stores", codename) for codename in CUSTOM_STORE_PERMISSIONS]
    + [
        ("notifications", "add_webhookendpoint"),
        ("notifications", "change_webhookendpoint"),
        ("notifications", "delete_webhookendpoint"),
        ("api", "add_apitoken"),
        ("api", "change_apitoken"),
        ("merchants", "add_invitation"),
        ("django_celery_beat", "add_periodictask"),
        ("django_celery_beat", "change_periodictask"),
        ("django_celery_beat", "add_intervalschedule"),
        ("django_celery_beat", "change_intervalschedule"),
        ("django_celery_beat", "add_crontabschedule"),
        ("django_celery_beat", "change_crontabschedule"),
    ]
)
GROUPS = {"Support": SUPPORT, "Operations": OPERATIONS}


def create_staff_groups(apps, schema_editor):
    # Default permissions are normally created after every migration has run
    # (post_migrate); create them now so the groups can be given them.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")

    store_type, _ = ContentType.objects.get_or_create(app_label="stores", model="store")
    for codename, name in CUSTOM_STORE_PERMISSIONS.items():
        Permission.objects.get_or_create(
            content_type=store_type, codename=codename, defaults={"name": name}
        )

    for group_name, wanted in GROUPS.items():
        permissions = []
        for app_label, codename in wanted:
            permission = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if permission is None:
                raise RuntimeError(
                    f"Permission {app_label}.{codename} is missing; cannot create the {group_name} group."
                )
            permissions.append(permission)
        group, _ = Group.objects.get_or_create(name=group_name)
        group.permissions.set(permissions)


def remove_staff_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=list(GROUPS)).delete()
    apps.get_model("auth", "Permission").objects.filter(
        content_type__app_label="stores", codename__in=list(CUSTOM_STORE_PERMISSIONS)
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("stores", "0001_initial"),
        ("merchants", "0001_initial"),
        ("notifications", "0001_initial"),
        ("api", "0001_initial"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_staff_groups, remove_staff_groups)]
