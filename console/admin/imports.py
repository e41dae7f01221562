"""Staff console: import stores from a file (the same code path as
`manage.py import_stores`), for Operations.

1. Upload a CSV or JSON Lines file: every row is checked live as a dry run
   (nothing written) and the report is shown, with the file's SHA-256.
2. To apply it, choose the same file again: it is applied only if its SHA-256
   is the one that was checked. The file is never kept between the two steps
   (no session, no cache, no disk), so its secrets live only for one request.
3. Both steps are written to the admin log (counts and the file's
   fingerprint, never a value).

The report shows line, merchant, store hash, outcome, what to fix and the
token's last four characters: never a secret.

Wiring (one URL and a link): `StoreAdmin.get_urls` (`stores.py`) adds `import_urls(self)`;
the store list's template links to `admin:stores_store_import` for people
with `stores.replace_credentials` (Operations).
"""

from __future__ import annotations

import hashlib

from django import forms
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path
from django.views.decorators.debug import sensitive_variables

from console.display import OUTCOME_TONE
from stores.importing import COLUMN_LABELS, ImportFileError, ImportReport, import_stores, read_import_file
from stores.models import Store

from .audit import log_model_action

PERMISSION = "stores.replace_credentials"
MAX_BYTES = 2 * 1024 * 1024
# A bigger file takes longer than a web request should: use the command.
MAX_ROWS = 1000
TONES = {**OUTCOME_TONE, "replaced": "ok", "unchanged": "idle", "connected_elsewhere": "bad"}


class ImportForm(forms.Form):
    file = forms.FileField(
        label="File",
        help_text="CSV with a header row, or JSON Lines. Up to "
        f"{MAX_ROWS:,} rows; for more, use the command manage.py import_stores.",
    )
    keep_broken = forms.BooleanField(
        label="Also save new stores whose token works but lacks scopes (status Missing scopes)",
        required=False,
    )
    # Set by the report page: the file that was checked.
    checked_sha256 = forms.CharField(required=False, widget=forms.HiddenInput, max_length=64)

    @sensitive_variables("upload", "data")
    def clean_file(self) -> bytes:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_BYTES // 1024 // 1024} MB.")
        return upload.read(MAX_BYTES + 1)


def import_urls(model_admin) -> list:
    """The import page's URL, under the store list."""
    view = model_admin.admin_site.admin_view(_ImportView(model_admin))
    return [path("import/", view, name="stores_store_import")]


class _ImportView:
    def __init__(self, model_admin) -> None:
        self.model_admin = model_admin

    @sensitive_variables("form", "data", "rows")
    def __call__(self, request):
        if not (request.user.is_active and request.user.has_perm(PERMISSION)):
            raise PermissionDenied
        form = ImportForm(request.POST or None, request.FILES or None)
        context = {"form": form, "report": None, "error": "", "applied": False, "sha256": ""}
        status = 200
        if request.method == "POST":
            status = self._post(request, form, context)
        response = TemplateResponse(
            request, "admin/stores/import_stores.html", self._context(request, context), status=status
        )
        response["Cache-Control"] = "no-store, private"
        return response

    @sensitive_variables("form", "data", "rows")
    def _post(self, request, form: ImportForm, context: dict) -> int:
        if not form.is_valid():
            return 400
        data = form.cleaned_data["file"]
        sha256 = hashlib.sha256(data).hexdigest()
        context["sha256"] = sha256
        keep_broken = form.cleaned_data["keep_broken"]
        apply = "apply" in request.POST
        if apply and form.cleaned_data["checked_sha256"] != sha256:
            context["error"] = (
                f"This is not the file that was checked (this one's SHA-256 is {sha256[:16]}…). "
                "Check it first, then apply it."
            )
            return 409
        try:
            rows = read_import_file(data)
        except ImportFileError as error:
            context["error"] = str(error)
            return 400
        if len(rows) > MAX_ROWS:
            context["error"] = (
                f"The file has {len(rows):,} rows; the console imports up to {MAX_ROWS:,}. "
                "For larger files, use the command manage.py import_stores."
            )
            return 400
        report = import_stores(rows, dry_run=not apply, keep_broken=keep_broken, user=request.user)
        log_model_action(request, Store, "Store import", f"{report.log_summary()} File SHA-256 {sha256[:16]}.")
        context.update(report=report, applied=apply, rows=_rows(report), keep_broken=keep_broken)
        # The form to apply it: the same options, the checked fingerprint.
        context["apply_form"] = ImportForm(initial={"keep_broken": keep_broken, "checked_sha256": sha256})
        return 200

    def _context(self, request, context: dict) -> dict:
        opts = self.model_admin.model._meta
        return {
            **self.model_admin.admin_site.each_context(request),
            "opts": opts,
            "title": "Import stores",
            "columns": [
                COLUMN_LABELS[name] for name in ("merchant", "api_path", "client_id", "client_secret", "access_token")
            ],
            **context,
        }


def _rows(report: ImportReport) -> list[dict]:
    return [
        {
            "result": row,
            "tone": "ok" if row.kept else TONES.get(str(row.outcome), "idle"),
            "label": row.outcome_words,
        }
        for row in report.rows
    ]
