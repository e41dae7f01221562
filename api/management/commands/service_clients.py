"""Service clients from the command line (Operations' other door; the console is the first).

    python manage.py service_clients create NAME --scopes S1,S2 [--networks CIDR,...] [--json]
    python manage.py service_clients list [--json]
    python manage.py service_clients rotate NAME [--grace 24h] [--json]
    python manage.py service_clients revoke NAME

`create` and `rotate` print the new secret once (with --json:
{"id": …, "name": …, "secret": …}); Violet keeps only its digest. After
`rotate` the previous secret keeps working for --grace (default 24h; 0 stops
it at once; at most 30d). `revoke` is immediate. Bad input (an unknown scope,
a bad network, a name taken or unknown) is said on stderr, exits 1 and
changes nothing.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError
from django.views.decorators.debug import sensitive_variables

from api.models import ServiceClient
from api.scopes import SCOPES
from api.service_clients import (
    ServiceClientError,
    parse_grace,
    secret_issuer_has_rights,
    service_client_create,
    service_client_revoke,
    service_client_rotate,
)


def _split(value: str) -> list[str]:
    return [part for part in (value or "").split(",")]


class Command(BaseCommand):
    help = "Create, list, rotate and revoke service clients (machine identities for the JSON API)."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="Create a client and print its secret once.")
        create.add_argument("name")
        create.add_argument("--scopes", required=True, help=f"Comma-separated: {','.join(SCOPES)}.")
        create.add_argument("--networks", default="", help="Comma-separated CIDRs it may call from (default: any).")
        create.add_argument("--json", action="store_true", dest="as_json")
        listing = actions.add_parser("list", help="List clients (never a secret).")
        listing.add_argument("--json", action="store_true", dest="as_json")
        rotate = actions.add_parser("rotate", help="Issue a new secret; the old one works for --grace.")
        rotate.add_argument("name")
        rotate.add_argument("--grace", default="24h", help="How long the old secret keeps working: 0, 30m, 24h, 7d.")
        rotate.add_argument("--json", action="store_true", dest="as_json")
        revoke = actions.add_parser("revoke", help="Revoke at once: every secret of it gets 401.")
        revoke.add_argument("name")

    def handle(self, *args, action, **options):
        try:
            getattr(self, f"_{action}")(**options)
        except ServiceClientError as exc:
            raise CommandError(str(exc)) from None

    def _client(self, name: str) -> ServiceClient:
        client = ServiceClient.objects.filter(name=name.strip()).first()
        if client is None:
            raise ServiceClientError(f"No service client named “{name[:100]}”.")
        return client

    @sensitive_variables("issued")
    def _print_secret(self, issued, as_json: bool, what: str) -> None:
        if as_json:
            self.stdout.write(json.dumps({"id": issued.client.pk, "name": issued.client.name, "secret": issued.secret}))
            return
        self.stdout.write(f"{what} “{issued.client.name}” (id {issued.client.pk}). Its secret, shown once:")
        self.stdout.write(issued.secret)
        self.stdout.write("Send it as “Authorization: Bearer <secret>”. Violet keeps only a digest.")

    @sensitive_variables("issued")
    def _create(self, *, name, scopes, networks, as_json: bool, **_):
        issued = service_client_create(name=name, scopes=_split(scopes), networks=_split(networks))
        self._print_secret(issued, as_json, "Created")

    @sensitive_variables("issued")
    def _rotate(self, *, name, grace, as_json: bool, **_):
        grace = parse_grace(grace)
        issued = service_client_rotate(client=self._client(name), grace=grace)
        self._print_secret(issued, as_json, "Rotated")
        if not as_json:
            until = issued.client.previous_secret_expires_at
            ends = f"works until {until:%Y-%m-%d %H:%M} UTC" if until else "stopped working"
            self.stdout.write(f"The previous secret {ends}.")

    def _revoke(self, *, name, **_):
        client = self._client(name)
        if service_client_revoke(client=client):
            self.stdout.write(f"Revoked “{client.name}”: its secrets now get 401.")
        else:
            self.stdout.write(f"“{client.name}” was already revoked.")

    def _list(self, *, as_json: bool, **_):
        rows = []
        for client in ServiceClient.objects.select_related("secret_issued_by"):
            rows.append(
                {
                    "id": client.pk,
                    "name": client.name,
                    "scopes": client.scopes,
                    "networks": client.networks,
                    "secret": client.display_prefix,
                    "state": "revoked" if client.revoked_at else "active",
                    "rotate": not secret_issuer_has_rights(client),
                    "last_used_at": client.last_used_at.isoformat() if client.last_used_at else None,
                }
            )
        if as_json:
            self.stdout.write(json.dumps(rows))
            return
        for row in rows:
            flags = " ROTATE (its issuer lost Operations)" if row["rotate"] and row["state"] == "active" else ""
            self.stdout.write(
                f"{row['id']:>4}  {row['name']:<30} {row['state']:<8} {row['secret']:<10} "
                f"{','.join(row['scopes'])}  {','.join(row['networks']) or 'any network'}  "
                f"last used {row['last_used_at'] or 'never'}{flags}"
            )
