"""Service clients: create, rotate, revoke, authenticate. The only writer of
`ServiceClient`; the console and `manage.py service_clients` call these.

A secret is `vcs_` and 43 random URL-safe characters, shown once; the
database keeps its SHA-256 digest (random, so a plain digest is as good as a
slow hash) and its first characters, so people can tell secrets apart.
Every create, rotate and revoke is logged (a log line, and the admin's
LogEntry when a person did it).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import cache, partial

from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from config.statements import column, converted, table

from .models import ServiceClient
from .scopes import UnknownScope, parse_scopes
from .tokens import last_used_touch, owner_has_rights

log = logging.getLogger("violet.service_clients")

SECRET_PREFIX = "vcs_"
# "vcs_" and three random characters: tells secrets apart, shorter than any
# 8-character slice the no-secret tests look for.
DISPLAY_CHARS = 7
DEFAULT_GRACE = timedelta(hours=24)
MAX_GRACE = timedelta(days=30)
# Who may issue secrets; a client whose secret was issued by someone who has
# since lost this is flagged for rotation (and keeps working).
ISSUE_PERMISSION = "api.add_serviceclient"
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")


class ServiceClientError(ValueError):
    """Bad input: the message says what, nothing was changed."""


@dataclass(frozen=True)
class Issued:
    client: ServiceClient
    secret: str  # shown once, never stored


@sensitive_variables("raw")
def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@sensitive_variables("raw")
def secret_digest(raw: str) -> str:
    """The digest a client's secret is stored as; "" for anything that cannot be one."""
    return digest(raw) if raw and raw.startswith(SECRET_PREFIX) and len(raw) <= 200 else ""


def parse_name(value: str) -> str:
    name = (value or "").strip()
    if not NAME.fullmatch(name):
        raise ServiceClientError(
            f"“{name[:100]}” is not a service client name: lower-case letters, digits, '.', '_' and '-', "
            "starting with a letter or digit, at most 100 characters."
        )
    return name


def parse_networks(values) -> list[str]:
    """CIDRs, normalised ("10.0.0.0/8", "2001:db8::/32"); an address alone is its own /32 or /128."""
    networks = []
    for value in values:
        value = (value or "").strip()
        if not value:
            continue
        try:
            network = ipaddress.ip_network(value, strict=True)
        except ValueError:
            raise ServiceClientError(
                f"“{value[:60]}” is not a network: give a CIDR such as 10.20.0.0/16 (no host bits set) "
                "or one address."
            ) from None
        if str(network) not in networks:
            networks.append(str(network))
    return networks


def parse_scope_list(values) -> list[str]:
    try:
        return parse_scopes(values)
    except UnknownScope as exc:
        raise ServiceClientError(str(exc)) from None


GRACE = re.compile(r"^([0-9]{1,6})([smhd])$")  # ASCII digits: \d also matches "٢"
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_grace(value: str) -> timedelta:
    """"0", "90s", "30m", "24h", "7d": at most MAX_GRACE."""
    value = (value or "").strip()
    if value == "0":
        return timedelta(0)
    match = GRACE.match(value)
    if not match:
        raise ServiceClientError(f"“{value[:20]}” is not a grace period: give e.g. 0, 30m, 24h or 7d.")
    grace = timedelta(**{UNITS[match.group(2)]: int(match.group(1))})
    if grace > MAX_GRACE:
        raise ServiceClientError(f"A grace period of at most {MAX_GRACE.days} days.")
    return grace


@sensitive_variables("raw")
def _new_secret() -> tuple[str, str, str]:
    raw = SECRET_PREFIX + secrets.token_urlsafe(32)
    return raw, raw[:DISPLAY_CHARS], digest(raw)


def _audit(client: ServiceClient, by, flag: int, message: str) -> None:
    log.info("service client %s (%s): %s", client.name, client.pk, message)
    if by is not None and by.pk is not None:
        LogEntry.objects.log_actions(
            user_id=by.pk, queryset=[client], action_flag=flag, change_message=message, single_object=True
        )


@sensitive_variables("raw")
def service_client_create(
    *, name: str, scopes, networks=(), by=None, client: ServiceClient | None = None
) -> Issued:
    """A new client and its secret (to show once). `ServiceClientError` on a
    bad name, scope or network, or a name already taken: nothing saved."""
    name = parse_name(name)
    scopes = parse_scope_list(scopes)
    networks = parse_networks(networks)
    raw, prefix, hashed = _new_secret()
    client = client or ServiceClient()
    client.name, client.scopes, client.networks = name, scopes, networks
    client.secret_prefix, client.secret_hash = prefix, hashed
    client.secret_issued_at = client.created_at = timezone.now()
    client.secret_issued_by = client.created_by = by
    client.secret_issued_by_person = by is not None
    try:
        with transaction.atomic():
            client.save()
            _audit(
                client,
                by,
                ADDITION,
                f"Created the service client with scopes {', '.join(scopes)}"
                + (f", from {', '.join(networks)}" if networks else ", from any network")
                + f" (secret {client.display_prefix}).",
            )
    except IntegrityError:
        client.pk = None
        raise ServiceClientError(f"A service client named “{name}” already exists.") from None
    return Issued(client=client, secret=raw)


@sensitive_variables("raw")
def service_client_rotate(*, client: ServiceClient, by=None, grace: timedelta = DEFAULT_GRACE) -> Issued:
    """A new secret; the current one keeps working for `grace` (the one before
    it stops now). A revoked client cannot be rotated."""
    if grace < timedelta(0) or grace > MAX_GRACE:
        raise ServiceClientError(f"A grace period from 0 to {MAX_GRACE.days} days.")
    raw, prefix, hashed = _new_secret()
    now = timezone.now()
    with transaction.atomic():
        locked = ServiceClient.objects.select_for_update().filter(pk=client.pk, revoked_at__isnull=True).first()
        if locked is None:
            raise ServiceClientError(f"The service client “{client.name}” is revoked: create a new one.")
        old_prefix = locked.display_prefix
        locked.previous_secret_hash = locked.secret_hash if grace else None
        locked.previous_secret_expires_at = now + grace if grace else None
        locked.secret_prefix, locked.secret_hash = prefix, hashed
        locked.secret_issued_at = locked.rotated_at = now
        locked.secret_issued_by = locked.rotated_by = by
        locked.secret_issued_by_person = by is not None
        locked.save()
        _audit(
            locked,
            by,
            CHANGE,
            f"Rotated the secret: {old_prefix} works until {locked.previous_secret_expires_at:%Y-%m-%d %H:%M} UTC, "
            f"then only {locked.display_prefix}."
            if grace
            else f"Rotated the secret: {old_prefix} stopped working at once; now {locked.display_prefix}.",
        )
    return Issued(client=locked, secret=raw)


def service_client_revoke(*, client: ServiceClient, by=None) -> bool:
    """Revoke at once (both secrets); False if it already was."""
    now = timezone.now()
    revoked = ServiceClient.objects.filter(pk=client.pk, revoked_at__isnull=True).update(
        revoked_at=now, revoked_by=by, previous_secret_hash=None, previous_secret_expires_at=None
    )
    if revoked:
        client.revoked_at, client.revoked_by = now, by
        client.previous_secret_hash = client.previous_secret_expires_at = None
        _audit(client, by, CHANGE, "Revoked the service client: its secrets now get 401.")
    return bool(revoked)


@cache
def _authenticate_statement() -> tuple[tuple[str, ...], str]:
    """The active client holding a digest, current or previous within its
    grace (config.statements: compiling the ORM's query cost more than
    running it, on every call of every service)."""
    names = tuple(f.attname for f in ServiceClient._meta.concrete_fields)
    col = partial(column, ServiceClient)
    return names, (
        f"SELECT {', '.join(col(name) for name in names)} FROM {table(ServiceClient)} "  # noqa: S608 - names from the model
        f"WHERE {col('revoked_at')} IS NULL AND ({col('secret_hash')} = %s "
        f"OR ({col('previous_secret_hash')} = %s AND {col('previous_secret_expires_at')} > %s))"
    )


@sensitive_variables("raw", "wanted")
def service_client_authenticate(raw: str, *, now=None) -> ServiceClient | None:
    """The active client whose current secret, or previous secret within its
    grace period, is `raw`; None otherwise. One indexed query (two unique
    indexes: at most one client), and an update of `last_used_at` at most once
    a minute."""
    wanted = secret_digest(raw)
    if not wanted:
        return None
    now = now or timezone.now()
    names, statement = _authenticate_statement()
    with connection.cursor() as cursor:
        cursor.execute(statement, [wanted, wanted, connection.ops.adapt_datetimefield_value(now)])
        row = cursor.fetchone()
    if row is None:
        return None
    client = ServiceClient.from_db(
        connection.alias, names, [converted(ServiceClient, name, value) for name, value in zip(names, row, strict=True)]
    )
    current = hmac.compare_digest(client.secret_hash, wanted)
    previous = client.previous_secret_hash is not None and hmac.compare_digest(client.previous_secret_hash, wanted)
    if not (current or previous):
        return None
    last_used_touch(client, now=now)
    return client


def _address(value: str):
    try:
        address = ipaddress.ip_address((value or "").strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def address_allowed(client: ServiceClient, address: str) -> bool:
    """Whether `address` (config.client_address's answer) is in one of the
    client's networks; any address when it has none."""
    if not client.networks:
        return True
    parsed = _address(address)
    if parsed is None:
        return False
    return any(parsed in ipaddress.ip_network(network) for network in client.networks)


def secret_issuer_has_rights(client: ServiceClient) -> bool:
    """False when the person who issued the current secret has since lost the
    right to (left Operations, no longer staff, deactivated, deleted): the
    console flags the client for rotation. It keeps working meanwhile — no
    service breaks at night because someone changed teams. A secret issued
    from the command line (no person) is not flagged."""
    if client.secret_issued_by_id is None:
        return not client.secret_issued_by_person  # a person, since deleted
    return owner_has_rights(client.secret_issued_by, ISSUE_PERMISSION)
