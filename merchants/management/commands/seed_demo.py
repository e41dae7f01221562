import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from merchants.demo import seed_demo


class Command(BaseCommand):
    help = "Create the demo merchants (Acme, Globex) and people, and print their logins."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the logins as JSON.")

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("seed_demo creates accounts with public passwords: not in production.")
        people = seed_demo()
        logins = [
            {"email": p.email, "password": p.password, "merchant": p.merchant, "role": p.role}
            for p in people
        ]
        if options["json"]:
            self.stdout.write(json.dumps({"logins": logins}, indent=2))
            return
        self.stdout.write("Demo logins:")
        for login in logins:
            where = f"{login['merchant']} {login['role']}" if login["merchant"] else "Violet staff (admin)"
            self.stdout.write(f"  {login['email']:<22} {login['password']:<22} {where}")
