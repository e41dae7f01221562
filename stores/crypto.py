"""Moved to `config.crypto` (the layer every app may import, so second-factor
seeds in `merchants` use the same field and keys). Kept as a re-export: the
existing migrations name `stores.crypto.EncryptedTextField`, and migrations are
not edited. Nothing else imports this module (tests/test_architecture.py)."""

from config.crypto import (  # noqa: F401
    EncryptedTextField,
    Fernet,
    UndecryptableCredential,
    decrypt_decoy,
    fernet_keys,
    forget_cached_keys,
    rotated,
)
