"""Encryption at rest (store credentials, kept wizard secrets, webhook signing
secrets, second-factor seeds): the one place that decrypts. In `config`, the
layer every app may import; `stores.crypto` re-exports it for the existing
migrations only (tests/test_architecture.py keeps other imports here).

Fernet keys come from `settings.FERNET_KEYS`, newest first: the first key
encrypts, every key decrypts. `rotated` re-encrypts under the first
key. A value that no key decrypts raises `UndecryptableCredential` — it never
comes back as ciphertext or as an empty string.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from fernet_fields import EncryptedTextField as _EncryptedTextField
from fernet_fields import hkdf

_ENCRYPTED_FIELDS: list[EncryptedTextField] = []


class UndecryptableCredential(Exception):
    """A stored credential that none of FERNET_KEYS can decrypt."""


def fernet_keys() -> list[bytes]:
    return [hkdf.derive_fernet_key(key) for key in settings.FERNET_KEYS]


# Deriving a key (HKDF) and building its Fernet cost as much as decrypting a
# value: done once per FERNET_KEYS, not once per value (rotation reads 300,000
# values at 100,000 stores). Dropped by `forget_cached_keys`.
_FERNETS: dict[tuple[str, ...], list[Fernet]] = {}


def _fernets() -> list[Fernet]:
    configured = tuple(settings.FERNET_KEYS)
    fernets = _FERNETS.get(configured)
    if fernets is None:
        fernets = _FERNETS[configured] = [Fernet(key) for key in fernet_keys()]
    return fernets


class EncryptedTextField(_EncryptedTextField):
    """django-fernet-fields-v2's field, failing loudly and following key changes."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _ENCRYPTED_FIELDS.append(self)

    def from_db_value(self, value, expression, connection, *args):
        try:
            return super().from_db_value(value, expression, connection, *args)
        except InvalidToken:
            raise UndecryptableCredential(
                f"{self.model.__name__}.{self.name} cannot be decrypted with any key in "
                "FERNET_KEYS. Was a key removed before `manage.py rotate_credentials` ran?"
            ) from None

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        return name, "config.crypto.EncryptedTextField", args, kwargs


_DECOYS: dict[int, bytes] = {}


def decrypt_decoy(field: EncryptedTextField) -> None:
    """Decrypt a throwaway value under `field`'s keys: the same work as reading
    one of its secrets, for a path that must not be faster when there is no
    secret to read (e.g. a webhook for an unknown store)."""
    token = _DECOYS.get(id(field))
    if token is None:
        token = _DECOYS[id(field)] = field.fernet.encrypt(b"0" * 64)
    field.fernet.decrypt(token)


def forget_cached_keys() -> None:
    """The base field caches its keys; drop them when FERNET_KEYS changes."""
    _DECOYS.clear()
    _FERNETS.clear()
    for field in _ENCRYPTED_FIELDS:
        for attribute in ("keys", "fernet_keys", "fernet"):
            field.__dict__.pop(attribute, None)


@receiver(setting_changed)
def _on_setting_changed(*, setting: str, **kwargs) -> None:
    if setting in {"FERNET_KEYS", "SECRET_KEY"}:
        forget_cached_keys()


def rotated(ciphertext: bytes) -> bytes | None:
    """The value re-encrypted under the first key, or None if it already is
    (each key tried once; the first key first, as most values are current)."""
    first, *older = _fernets()
    try:
        first.decrypt(ciphertext)
    except InvalidToken:
        pass
    else:
        return None
    for fernet in older:
        try:
            plaintext = fernet.decrypt(ciphertext)
        except InvalidToken:
            continue
        return first.encrypt(plaintext)
    raise UndecryptableCredential("A credential cannot be decrypted with any key in FERNET_KEYS.")
