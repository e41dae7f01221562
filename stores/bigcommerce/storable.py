"""What BigCommerce sends, made storable: PostgreSQL keeps no U+0000.

A text column refuses a NUL character and `jsonb` refuses the escape
`\\u0000`; neither can hold a lone surrogate (half of a UTF-16 pair, which
JSON's `\\ud800` escapes produce and UTF-8 cannot encode). One such character
in one store's name made the statement that records a whole batch of checks
fail, every store of the batch with it. Everything read from BigCommerce (the
store profile, error texts) passes through `storable` where it is parsed, one
value at a time: a NUL is dropped, a lone surrogate becomes U+FFFD, the rest
of the value is kept. No Django here.
"""

from __future__ import annotations

import re
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")
MAX_DEPTH = 20  # deeper than any answer the portal keeps; cut below, never recursed without end


def storable_text(text: str) -> str:
    if "\x00" in text:
        text = text.replace("\x00", "")
    if _SURROGATE.search(text):
        text = _SURROGATE.sub("\ufffd", text)
    return text


def storable(value: Any, _depth: int = 0) -> Any:
    """`value` (parsed JSON: dicts, lists, strings, numbers) with every string,
    keys included, made storable (`storable_text`); other values as they are."""
    if isinstance(value, str):
        return storable_text(value)
    if _depth >= MAX_DEPTH and isinstance(value, (dict, list, tuple)):
        return None
    if isinstance(value, dict):
        return {storable(key, _depth + 1): storable(item, _depth + 1) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [storable(item, _depth + 1) for item in value]
    return value
