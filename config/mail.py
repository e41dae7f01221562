"""E-mail header values built from outside data (a store's or a merchant's
name) go through `header_text`: a newline or other control character there
would make Django refuse the whole message (`BadHeaderError`), and the
notification it carries would be lost to the data it names."""

from __future__ import annotations

import unicodedata

# Line and paragraph separators, controls, format characters (e.g. U+202E).
_UNSAFE_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"}


def header_text(value: object, *, max_length: int = 120) -> str:
    """One line of plain text, safe in a header: unsafe characters become
    spaces, runs of whitespace one space, and long values end in "…"."""
    text = "".join(" " if unicodedata.category(ch) in _UNSAFE_CATEGORIES else ch for ch in str(value or ""))
    text = " ".join(text.split())
    if len(text) > max_length:
        text = text[: max_length - 1].rstrip() + "…"
    return text
