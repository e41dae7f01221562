"""Filling the benchmark database quickly: the ORM for rows that need
encryption, one INSERT ... SELECT generate_series for the million."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection, models, transaction
from django.utils import timezone

from merchants.models import Merchant, User
from stores.models import Check, Credential, StatusChange, Store

SECRET = "ab" * 32
STATUS_MIX = (
    ["connected"] * 85
    + ["missing_scopes"] * 4
    + ["revoked"] * 4
    + ["store_unavailable"] * 2
    + ["unreachable"] * 2
    + ["paused"] * 1
    + ["disconnected"] * 2
)


def wipe() -> None:
    with connection.cursor() as cursor:
        for model in (StatusChange, Check, Credential, Store):
            cursor.execute(f"TRUNCATE {connection.ops.quote_name(model._meta.db_table)} CASCADE")


def merchants(count: int = 50) -> list[Merchant]:
    existing = list(Merchant.objects.filter(slug__startswith="bench-").order_by("pk"))
    for i in range(len(existing), count):
        existing.append(Merchant.objects.create(name=f"Bench Merchant {i:03d}", slug=f"bench-{i:03d}"))
    return existing


def staff_user() -> User:
    user = User.objects.filter(email="bench-staff@violet.test").first()
    if user is None:
        user = User.objects.create_superuser(email="bench-staff@violet.test", password="bench-staff")
    return user


def staff_client():
    """A test client signed in as the bench's staff user, second factor
    verified as a correct code would (the console refuses anything less)."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from merchants.two_factor.services import device_create

    user = staff_user()
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or device_create(
        user, name="Bench authenticator", confirmed=True
    )
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def connected_stores(rows: list[list[str]], *, due: bool = True) -> list[int]:
    """Stores with real credentials: rows of [store_hash, access_token, client_id]."""
    owners = merchants()
    now = timezone.now()
    stores = [
        Store(
            merchant=owners[i % len(owners)],
            store_hash=store_hash,
            name=f"Bench store {store_hash}",
            status="connected",
            connected_at=now,
            credentials_version=1,  # as connecting sets it: the credentials may be released
            next_check_at=now - timedelta(seconds=1) if due else now + timedelta(hours=6),
        )
        for i, (store_hash, _, _) in enumerate(rows)
    ]
    with transaction.atomic():
        Store.objects.bulk_create(stores, batch_size=2000)
        credentials = []
        for store, (_, token, client_id) in zip(stores, rows, strict=True):
            credential = Credential(store=store)
            credential.set_values(client_id=client_id, client_secret=SECRET, access_token=token)
            credentials.append(credential)
        Credential.objects.bulk_create(credentials, batch_size=2000)
    analyze(Store, Credential)  # as autovacuum would soon after a bulk load
    return [store.pk for store in stores]


def credentials_for_every_store(*, chunk: int = 5000) -> int:
    """Each store without credentials gets its own (encrypted under the first
    of FERNET_KEYS, as the portal stores them); how many."""
    created = 0
    last = 0
    while True:
        rows = list(
            Store.objects.filter(pk__gt=last, credential__isnull=True)
            .order_by("pk")
            .values_list("pk", "store_hash")[:chunk]
        )
        if not rows:
            return created
        credentials = []
        for pk, store_hash in rows:
            credential = Credential(store_id=pk)
            credential.set_values(
                client_id=f"c{store_hash:0>30}"[-31:], client_secret=SECRET, access_token=f"t{store_hash:0>30}"[-31:]
            )
            credentials.append(credential)
        Credential.objects.bulk_create(credentials)
        created += len(credentials)
        last = rows[-1][0]


def analyze(*models_: type[models.Model]) -> None:
    """Give the planner statistics for freshly loaded tables, as PostgreSQL's
    autovacuum does on its own shortly after; without them it guesses, and
    the dispatcher's and the benchmark's queries scan every store."""
    _each_table("ANALYZE", models_)


def vacuum(*models_: type[models.Model]) -> None:
    """Clear the dead row versions earlier passes left, as autovacuum does in
    production. This machine's PostgreSQL runs with `autovacuum = off`: without
    this, every pass of a benchmark rewrote each store row twice (the claim,
    the result) on top of all the passes before it, and the later passes paid
    for the bloat: the fleet's light pass measured ~10 % slower after five
    passes than on a vacuumed table (interleaved A/B, 3 runs each)."""
    _each_table("VACUUM (ANALYZE)", models_)


def _each_table(command: str, models_: tuple[type[models.Model], ...]) -> None:
    """Run a PostgreSQL maintenance command on each model's table (nothing elsewhere)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in models_:
            cursor.execute(f"{command} {connection.ops.quote_name(model._meta.db_table)}")


def _sql_default(field: models.Field) -> str:
    if isinstance(field, models.JSONField):
        return "'[]'::jsonb" if field.default is list else "'{}'::jsonb"
    if isinstance(field, models.DateTimeField):
        return "now()"
    if isinstance(field, models.IntegerField | models.PositiveIntegerField):
        return "0"
    if isinstance(field, models.BooleanField):
        return "true" if field.default is True else "false"
    return "''"


def many_stores(count: int, *, prefix: str = "m", due_fraction: float = 0.01, domains: bool = False) -> None:
    """`count` stores in one statement (PostgreSQL). A `due_fraction` of them are
    due now; the rest spread over the next six hours, as in production. With
    `domains`, each has BigCommerce's default domain (store-<hash>.mybigcommerce.com)
    for the console's search to look through; without, the domain is empty."""
    owners = merchants()
    table = connection.ops.quote_name(Store._meta.db_table)
    columns, values = [], []
    for field in Store._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(connection.ops.quote_name(field.column))
        if field.name == "merchant":
            values.append(f"{owners[0].pk} + (g %% {len(owners)})")
        elif field.name == "store_hash":
            values.append(f"'{prefix}' || g")
        elif field.name == "domain" and domains:
            values.append(f"'store-{prefix}' || g || '.mybigcommerce.com'")
        elif field.name == "name":
            values.append("'Store ' || g")
        elif field.name == "plan_name":
            values.append("(ARRAY['Standard','Plus','Pro','Enterprise'])[1 + g %% 4]")
        elif field.name == "status":
            mix = ",".join(f"'{s}'" for s in STATUS_MIX)
            values.append(f"(ARRAY[{mix}])[1 + g %% {len(STATUS_MIX)}]")
        elif field.name == "next_check_at":
            values.append(
                f"CASE WHEN g %% {max(1, round(1 / due_fraction))} = 0 THEN now() - interval '1 minute' "
                "ELSE now() + (g %% 21600) * interval '1 second' END"
            )
        elif field.name == "last_checked_at":
            values.append("now() - (g %% 21600) * interval '1 second'")
        elif field.null:
            values.append("NULL")
        else:
            values.append(_sql_default(field))
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608 - built from model metadata
        f"SELECT {', '.join(values)} FROM generate_series(1, %s) AS g"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [count])
        cursor.execute(f"ANALYZE {table}")
