from django.db import migrations, models
from django.db.models.functions import Now


def existing_people_are_verified(apps, schema_editor):
    # They signed up or were invited before addresses were verified; staff
    # vouched for them by letting them in. New sign-ups verify by e-mail.
    apps.get_model("merchants", "User").objects.filter(email_verified_at=None).update(email_verified_at=Now())


class Migration(migrations.Migration):
    dependencies = [("merchants", "0002_second_factor")]

    operations = [
        migrations.AddField(
            model_name="user",
            name="email_verified_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(existing_people_are_verified, migrations.RunPython.noop),
    ]
