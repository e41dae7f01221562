"""Recovery codes are stored as keyed digests, never in clear (issue 28, item 14):
each existing code (10 characters) is replaced by its digest (16), as
`merchants.two_factor.services.recovery_code_digest` computes it, so the codes
people already noted keep working.

Not reversible in substance: a digest cannot be turned back into its code. The
reverse step changes nothing; code from before this migration would then find
no recovery code (the authenticator app still works, and "new recovery codes"
makes ten more)."""

from django.db import migrations
from django.utils.crypto import salted_hmac

SALT = "merchants.two_factor.recovery-code"  # = services.RECOVERY_DIGEST_SALT
DIGEST_LENGTH = 16

def to_digests(apps, schema_editor):
    StaticToken = apps.get_model("otp_static", "StaticToken")
    for token in StaticToken.objects.all().iterator():
        if len(token.token) == DIGEST_LENGTH:
            continue  # already a digest
        token.token = salted_hmac(SALT, token.token, algorithm="sha256").hexdigest()[:DIGEST_LENGTH]
        token.save(update_fields=["token"])

class Migration(migrations.Migration):
    dependencies = [
        ("merchants", "0006_second_factor_enrolment_link"),
        ("otp_static", "0003_add_timestamps"),
    ]

    operations = [migrations.RunPython(to_digests, migrations.RunPython.noop)]
