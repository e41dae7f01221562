"""The one definition of a leak: a secret, or any 8-character slice of one."""

from __future__ import annotations

from collections.abc import Iterable

from tests.conftest import ACME_CLIENT_ID, ACME_SECRET, ACME_TOKEN

ACME_SECRETS = (ACME_TOKEN, ACME_SECRET, ACME_CLIENT_ID)


def slices(secret: str, width: int = 8) -> set[str]:
    return {secret[i : i + width] for i in range(len(secret) - width + 1)}


def leaks(text: str | bytes, secrets: Iterable[str]) -> list[str]:
    """Every slice of a secret found in `text` (bytes are searched as UTF-8 and Latin-1)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace") + text.decode("latin-1")
    return sorted({piece for secret in secrets for piece in slices(secret) if piece in text})


def assert_no_secret(text: str | bytes, secrets: Iterable[str] = ACME_SECRETS, where: str = "") -> None:
    found = leaks(text, secrets)
    assert not found, f"a slice of a secret leaked{' in ' + where if where else ''}: {found[:3]}"
