"""Error reports (Django's debug page, the error e-mail) hide what
`sensitive_variables` and `sensitive_post_parameters` mark, with DEBUG on too.

Django's own filter stands down when DEBUG is true, so a development or
misconfigured server's debug page would show a decrypted Client secret held
in a local variable. This one is always on; everything else it does is
Django's (settings that look secret are hidden, request objects cleansed).
"""

from __future__ import annotations

from django.views.debug import SafeExceptionReporterFilter


class AlwaysSafeExceptionReporterFilter(SafeExceptionReporterFilter):
    def is_active(self, request) -> bool:
        return True
