"""Handing a store's credentials to one of Violet's services: the one place
that gives a decrypted access token out of the portal. The credential release
(api/) and the BigCommerce proxy call it. It knows nothing of who asks (that is
api's business, with its audit trail); it knows which stores may be used and
what the credentials' version is.

Which statuses release (and why; docs/service-clients.md):
- connected, missing_scopes (the token works; the calls needing the missing
  scope fail, the rest are the service's business), unreachable and
  store_unavailable (the token was fine at the last answer and the cause is
  BigCommerce's side or the network's; the service must be ready when it
  recovers), paused (staff paused Violet's *checks*, not the store: the token is
  as good as at the last check, and `last_verified_at` says how old that is);
- not revoked, refused, disconnected, pending: the token does not work, is
  refused, was given back by the merchant, or never passed a check.

One way in, one hand-out: `store_release_read` (one query: the store, its
version and its values still encrypted, read in one snapshot so they agree),
then `store_credentials_release` (no query: it decrypts what was read). The
credential release answers its 304s and 409s from that one read without
decrypting anything (docs/service-clients.md, "What a release costs"); the
proxy comes here only when a version is new to its process.

The version is the store's `credentials_version`: one more each time
credentials are stored (connect, replace, reconnect), never back, the same
number the event feed's `connected` and `credentials_replaced` events carry
(docs/events.md). Re-encryption under a new key (`rotate_credentials`) changes
no value and no version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from django.conf import settings
from django.db import connection
from django.views.decorators.debug import sensitive_variables

from config.statements import column, converted, table

from .bigcommerce.scopes import REQUIRED_SCOPES
from .models import Credential, Store
from .status import StoreStatus

RELEASABLE = frozenset(
    {
        StoreStatus.CONNECTED,
        StoreStatus.MISSING_SCOPES,
        StoreStatus.UNREACHABLE,
        StoreStatus.STORE_UNAVAILABLE,
        StoreStatus.PAUSED,
    }
)
STORE_FIELDS = ("id", "store_hash", "status", "missing_scopes", "last_checked_at", "scopes_verified_at")
# What the read loads, in the model's own order (Model.from_db takes them so).
_READ_FIELDS = tuple(
    f.attname for f in Store._meta.concrete_fields if f.attname in {*STORE_FIELDS, "credentials_version"}
)


@dataclass(frozen=True)
class Sealed:
    """A store's Client ID and Access token as stored (Fernet ciphertext): only
    `store_credentials_release` opens them, through the fields that decrypt."""

    client_id: bytes = field(repr=False)
    access_token: bytes = field(repr=False)


@dataclass(frozen=True)
class Releasable:
    """What may be said about a store's credentials without decrypting them."""

    store: Store
    usable: bool
    version: str  # "" when the store has no credentials
    # The values at `version`, still encrypted, read with it; None without credentials.
    sealed: Sealed | None = field(default=None, repr=False)


@dataclass(frozen=True)
class ReleasedCredentials:
    store_hash: str
    api_url: str
    client_id: str = field(repr=False)
    access_token: str = field(repr=False)
    granted_scopes: list[str]
    status: str
    version: str
    last_verified_at: datetime | None
    scopes_verified_at: datetime | None


def api_url(store_hash: str) -> str:
    return f"{settings.BIGCOMMERCE_API_URL}/stores/{store_hash}/"


def _version(store: Store, has_credentials: bool) -> str:
    return str(store.credentials_version) if has_credentials and store.credentials_version else ""


@cache
def _read_statement() -> str:
    """The store, its credentials' version and their values as stored, by hash
    (config.statements: the ORM's compilation cost more than the query)."""
    columns = ", ".join(f"s.{column(Store, name)}" for name in _READ_FIELDS)
    sealed = ", ".join(f"k.{column(Credential, name)}" for name in ("client_id", "access_token"))
    return (
        f"SELECT {columns}, {sealed} FROM {table(Store)} s "  # noqa: S608 - names from the models, values as parameters
        f"LEFT JOIN {table(Credential)} k ON k.{column(Credential, 'store')} = s.{column(Store, 'id')} "
        f"WHERE s.{column(Store, 'store_hash')} = %s"
    )


def store_release_read(store_hash: str) -> Releasable | None:
    """The store, whether its credentials may be released, their version and
    the values still encrypted, in one query (one snapshot, so the values are
    the version's). None for an unknown hash. Nothing is decrypted:
    `store_credentials_release` does that, without a query."""
    with connection.cursor() as cursor:
        cursor.execute(_read_statement(), [store_hash])
        row = cursor.fetchone()  # store_hash is unique
    if row is None:
        return None
    *values, sealed_client_id, sealed_access_token = row
    # As the ORM's `.only(...)` builds it: the other fields deferred.
    store = Store.from_db(
        connection.alias,
        _READ_FIELDS,
        [converted(Store, name, value) for name, value in zip(_READ_FIELDS, values, strict=True)],
    )
    # access_token is NOT NULL: NULL means no credential row joined.
    has_credentials = sealed_access_token is not None
    version = _version(store, has_credentials)
    sealed = Sealed(bytes(sealed_client_id or b""), bytes(sealed_access_token)) if version else None
    return Releasable(store=store, usable=store.status in RELEASABLE and bool(version), version=version, sealed=sealed)


@sensitive_variables("client_id", "access_token")
def _opened(sealed: Sealed) -> tuple[str, str]:
    """The values decrypted by their own fields (config.crypto: a value no key
    opens raises UndecryptableCredential)."""
    field = Credential._meta.get_field
    client_id = field("client_id").from_db_value(sealed.client_id, None, connection) if sealed.client_id else ""
    access_token = field("access_token").from_db_value(sealed.access_token, None, connection)
    return client_id, access_token


@sensitive_variables("client_id", "access_token")
def store_credentials_release(releasable: Releasable) -> ReleasedCredentials:
    """The decrypted Client ID and Access token of a releasable store, from
    `store_release_read`'s values, without a query (the fields' decryption,
    config.crypto)."""
    if not releasable.usable:
        raise ValueError("the store's credentials may not be released")
    store = releasable.store
    client_id, access_token = _opened(releasable.sealed)
    return ReleasedCredentials(
        store_hash=store.store_hash,
        api_url=api_url(store.store_hash),
        client_id=client_id,
        access_token=access_token,
        granted_scopes=[scope.param for scope in REQUIRED_SCOPES if scope.param not in store.missing_scopes],
        status=store.status,
        version=releasable.version,
        last_verified_at=store.last_checked_at,
        scopes_verified_at=store.scopes_verified_at,
    )

