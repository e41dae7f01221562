from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from merchants.demo import is_demo_device
from merchants.two_factor.codes import current_code, seconds_left


class Command(BaseCommand):
    help = (
        "Development only: print the current second-factor code of a demo login "
        "(the one seed_demo gave a known authenticator key), as its phone would show it."
    )

    def add_arguments(self, parser):
        parser.add_argument("email", help="The demo login, e.g. staff@violet.test")

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("demo_otp_code is for the development demo only: not in production.")
        from django_otp.plugins.otp_totp.models import TOTPDevice

        device = (
            TOTPDevice.objects.filter(user__email__iexact=options["email"], confirmed=True)
            .select_related("user")
            .first()
        )
        if device is None or not is_demo_device(device):
            raise CommandError(
                f"{options['email']} has no demo authenticator (seed_demo gives one to staff@violet.test); "
                "real devices' codes are only on their owners' phones."
            )
        self.stdout.write(current_code(device))
        self.stderr.write(f"valid for {seconds_left(device)} more seconds; each code works once.")
