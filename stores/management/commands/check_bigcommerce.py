"""Run the credential doctor and the live check from the command line.

    python manage.py check_bigcommerce --credentials Violet.txt
    cat creds.json | python manage.py check_bigcommerce --credentials - --json

FILE is the .txt BigCommerce downloads, or a JSON object with `api_path` or
`store_hash`, `client_id`, `client_secret`, `access_token`. Secrets are never
taken as command-line arguments (they would sit in shell history and `ps`).
Exit status: 0 usable, 1 not usable, 2 bad usage.
"""

import json
import sys

from django.core.management.base import BaseCommand, CommandError
from django.views.decorators.debug import sensitive_variables

from stores.bigcommerce.doctor import diagnose, diagnose_text
from stores.bigcommerce.report import malformed_report
from stores.bigcommerce.scopes import REQUIRED_SCOPES
from stores.verification import verify_credentials

JSON_FIELDS = ("api_path", "store_hash", "client_id", "client_secret", "access_token")


class UsageError(CommandError):
    def __init__(self, message):
        super().__init__(message, returncode=2)


class Command(BaseCommand):
    help = __doc__.strip().splitlines()[0]

    def add_arguments(self, parser):
        parser.add_argument(
            "--credentials", required=True, metavar="FILE", help="The .txt or a JSON file; - for stdin."
        )
        parser.add_argument("--json", action="store_true", help="Print the report as one JSON object.")

    @sensitive_variables("raw", "data", "diagnosis")
    def handle(self, *args, credentials: str, **options):
        raw = self._read(credentials)
        diagnosis = self._diagnose(raw)
        if not diagnosis.ok:
            report = malformed_report(diagnosis.values.get("store_hash", ""), diagnosis.problems)
        else:
            report, _ = verify_credentials(diagnosis.credentials)
        if options["json"]:
            self.stdout.write(json.dumps(report.to_dict(), indent=2))
        else:
            self._print(report)
        if not report.ok:
            sys.exit(1)

    def _read(self, path: str) -> bytes:
        try:
            if path == "-":
                return sys.stdin.buffer.read(256 * 1024)
            with open(path, "rb") as handle:
                return handle.read(256 * 1024)
        except OSError as error:
            raise UsageError(f"Cannot read {path}: {error.strerror}.") from None

    @sensitive_variables("raw", "data")
    def _diagnose(self, raw: bytes):
        stripped = raw.lstrip(b"\xef\xbb\xbf \t\r\n")
        if stripped.startswith((b"{", b"[")):
            try:
                data = json.loads(stripped.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
                raise UsageError("The file starts like JSON but is not valid JSON.") from None
            if not isinstance(data, dict):
                raise UsageError("The JSON must be an object.")
            unknown = set(data) - set(JSON_FIELDS)
            if unknown:
                raise UsageError(f"Unknown keys: {', '.join(sorted(unknown))}. Use {', '.join(JSON_FIELDS)}.")
            values = {key: str(data.get(key) or "") for key in JSON_FIELDS}
            return diagnose(**values, require_client_fields=False)
        return diagnose_text(raw, require_client_fields=False)

    def _print(self, report):
        write = self.stdout.write
        write(f"Store {report.store_hash or '?'}: {report.outcome}")
        if report.store:
            profile = report.store
            write(f"  {profile.get('name', '')} ({profile.get('domain', '')}), plan {profile.get('plan_name', '?')}")
        for scope in REQUIRED_SCOPES:
            write(f"  {report.scopes.get(scope.param, 'unknown'):<8} {scope.label}")
        for problem in report.problems:
            where = f"[{problem.field}] " if problem.field else ""
            write(f"  ! {where}{problem.message}")
