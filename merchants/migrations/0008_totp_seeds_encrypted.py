"""TOTP seeds are encrypted under FERNET_KEYS (issue 28, item 14, its second
half): each device's seed moves from django-otp's clear `key` column into
SecondFactorKey (encrypted), and the clear column gets a placeholder that is
not hex (so nothing can verify against it), so the apps people already set up
keep working.

Reversible: the reverse copies each seed back into the clear column (then the
table goes)."""

import django.db.models.deletion
from django.db import migrations, models

import config.crypto

PLACEHOLDER = "encrypted: merchants.SecondFactorKey"  # = merchants.models.SEED_PLACEHOLDER


def encrypt_seeds(apps, schema_editor):
    TOTPDevice = apps.get_model("otp_totp", "TOTPDevice")
    SecondFactorKey = apps.get_model("merchants", "SecondFactorKey")
    for device in TOTPDevice.objects.exclude(key=PLACEHOLDER).only("pk", "key").iterator():
        SecondFactorKey.objects.update_or_create(device_id=device.pk, defaults={"seed": device.key})
        TOTPDevice.objects.filter(pk=device.pk).update(key=PLACEHOLDER)


def decrypt_seeds(apps, schema_editor):
    TOTPDevice = apps.get_model("otp_totp", "TOTPDevice")
    SecondFactorKey = apps.get_model("merchants", "SecondFactorKey")
    for row in SecondFactorKey.objects.all().iterator():
        TOTPDevice.objects.filter(pk=row.device_id).update(key=row.seed)
    SecondFactorKey.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("merchants", "0007_recovery_codes_to_digests"),
        ("otp_totp", "0003_add_timestamps"),
    ]

    operations = [
        migrations.CreateModel(
            name="SecondFactorKey",
            fields=[
                (
                    "device",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="second_factor_key",
                        serialize=False,
                        to="otp_totp.totpdevice",
                    ),
                ),
                ("seed", config.crypto.EncryptedTextField(help_text="hex, as django-otp's key column held it")),
            ],
            options={"verbose_name": "second-factor key"},
        ),
        migrations.RunPython(encrypt_seeds, decrypt_seeds),
    ]
