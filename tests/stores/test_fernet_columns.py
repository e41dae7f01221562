"""The encrypted columns are plain Fernet tokens under FERNET_KEYS, readable
and writable without django-fernet-fields-v2 (its last release was in 2023).

If it ever stops installing, any maintained field that stores Fernet tokens
with keys derived the same way (HKDF-SHA256, the salt and info below) takes
its place with no data migration: these tests decrypt and write the columns
with `cryptography` alone, the key derivation written out here, not imported.
"""

import base64

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import connection

from stores.models import Credential
from tests.conftest import ACME_CLIENT_ID, ACME_SECRET, ACME_TOKEN

COLUMNS = {"access_token": ACME_TOKEN, "client_secret": ACME_SECRET, "client_id": ACME_CLIENT_ID}


def fernet_for(configured_key: str) -> Fernet:
    """A FERNET_KEYS entry -> its Fernet key: HKDF-SHA256, 32 bytes, fixed salt and info."""
    derived = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"django-fernet-fields-hkdf-salt",
        info=b"django-fernet-fields",
    ).derive(configured_key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def raw(store_id: int, column: str) -> bytes:
    table = Credential._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE store_id = %s", [store_id])  # noqa: S608 - our names
        return bytes(cursor.fetchone()[0])


def test_each_column_is_a_fernet_token_under_the_newest_key(acme_store):
    newest = fernet_for(settings.FERNET_KEYS[0])
    for column, plaintext in COLUMNS.items():
        token = raw(acme_store.id, column)
        assert token.startswith(b"gAAAAA")  # Fernet's version byte, base64url
        assert newest.decrypt(token).decode() == plaintext


def test_a_fernet_token_written_without_the_library_reads_back_through_the_model(acme_store, settings):
    settings.FERNET_KEYS = ["the-newest-key", *settings.FERNET_KEYS]  # an older key wrote it
    from config.crypto import forget_cached_keys

    forget_cached_keys()
    older = fernet_for(settings.FERNET_KEYS[1])
    table = Credential._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET access_token = %s WHERE store_id = %s",  # noqa: S608 - our names
            [older.encrypt(b"written-by-plain-fernet"), acme_store.id],
        )
    assert Credential.objects.get(store=acme_store).access_token == "written-by-plain-fernet"
