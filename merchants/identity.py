"""One spelling of an e-mail address, wherever an address is a key.

Login, the login throttle (django-axes), sign-up, invitations and password
reset all compare addresses through `canonical_email`, so `Alice@…`,
` ALICE@… ` and `ａｌｉｃｅ@…` (full-width) are one person and share one
lockout count.
"""

from __future__ import annotations

import unicodedata


def canonical_email(value: str | None) -> str:
    """NFKC-normalised, case-folded, without surrounding whitespace."""
    if not value:
        return ""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", str(value)).casefold()).strip()


def axes_username(request, credentials: dict | None) -> str:
    """AXES_USERNAME_CALLABLE: the login throttle counts per canonical address."""
    raw = (credentials or {}).get("username")
    if raw is None and request is not None:
        raw = request.POST.get("username", "")
    return canonical_email(raw)
