"""`seed_demo`: the demo merchants and people, and (with the sandbox) their stores.

It lives in `stores` because it seeds both: `merchants` (below `stores`) knows
nothing of stores.
"""

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from merchants.demo import seed_demo
from stores.demo import connect_demo_stores

STAFF_CODE_COMMAND = ".venv/bin/python manage.py demo_otp_code staff@violet.test"


class Command(BaseCommand):
    help = "Create the demo merchants (Acme, Globex) and people, and print their logins."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the logins as JSON.")
        parser.add_argument(
            "--sandbox-credentials",
            metavar="DIR",
            help="Also connect the demo stores whose .txt files the sandbox wrote there.",
        )

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("seed_demo creates accounts with public passwords: not in production.")
        people = seed_demo()
        if options["sandbox_credentials"]:
            for line in connect_demo_stores(Path(options["sandbox_credentials"])):
                self.stderr.write(line)
        logins = [{"email": p.email, "password": p.password, "merchant": p.merchant, "role": p.role} for p in people]
        if options["json"]:
            self.stdout.write(json.dumps({"logins": logins, "staff_code_command": STAFF_CODE_COMMAND}, indent=2))
            return
        self.stdout.write("Demo logins:")
        for login in logins:
            where = f"{login['merchant']} {login['role']}" if login["merchant"] else "Violet staff (admin)"
            self.stdout.write(f"  {login['email']:<22} {login['password']:<22} {where}")
        self.stdout.write(
            "Staff sign in with a second factor: after the password, type the code that\n"
            f"  {STAFF_CODE_COMMAND}\nprints (a new one every 30 seconds; development only)."
        )
