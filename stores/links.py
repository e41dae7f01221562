"""Links that come from outside (a store's profile from BigCommerce, which
anyone who controls the store can set): only web addresses become links.

`safe_web_url` accepts `https://host/…`, and `http://` only when DEBUG is on
(development, the sandbox on loopback); anything else — `javascript:`,
`data:`, a scheme-relative `//host`, user:password@host, control characters —
becomes "". It is applied where the profile is stored (`apply_profile`) and
again where a link is drawn (`Store.storefront_link`, `…control_panel_link`)
and served (the JSON API), so a row written before this rule is safe too.
"""

from __future__ import annotations

import unicodedata
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

MAX_LENGTH = 2048


def safe_web_url(value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_LENGTH:
        return ""
    if any(unicodedata.category(ch)[0] in "CZ" for ch in value):  # controls, spaces, separators
        return ""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 — raises ValueError on a malformed port
    except ValueError:
        return ""
    allowed = {"https", "http"} if settings.DEBUG else {"https"}
    if parts.scheme.lower() not in allowed or not parts.hostname:
        return ""
    if parts.username is not None or parts.password is not None or "\\" in value:
        return ""
    return value


def safe_profile_urls(profile: dict[str, Any]) -> dict[str, Any]:
    """The profile with every `…url` field that is not a safe web address emptied."""
    return {
        key: (safe_web_url(value) if key.lower().endswith("url") and value not in (None, "") else value)
        for key, value in profile.items()
    }
