"""The staff console's own templates need nothing the Content-Security-Policy
forbids: no inline style attributes, no inline scripts or event handlers."""

import re
from pathlib import Path

from django.conf import settings

TEMPLATES = Path(settings.BASE_DIR, "templates", "admin")


def test_no_inline_styles_or_scripts_in_the_console_templates():
    files = list(TEMPLATES.rglob("*.html"))
    assert len(files) >= 10
    for path in files:
        text = path.read_text()
        assert not re.search(r"\sstyle=", text), path
        assert not re.search(r"\son[a-z]+=", text), path
        assert "<script>" not in text and "<script " not in text.replace("<script src=", ""), path
