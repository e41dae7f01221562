"""Bulk import of existing Store-level API accounts: a CSV or JSON Lines file
in, stores validated live and saved encrypted, a report out.

The command (`manage.py import_stores`) and the staff console's import page
are thin: both call `read_import_file` then `import_stores`, which

1. checks each row's merchant (an unknown one is created, with its owner
   invited by email, when the file gives its name and owner's email) and runs
   the wizard's doctor on its values: refused rows make no request at all;
2. settles without a request the rows whose answer the database already
   knows: a store connected under another merchant (`connected_elsewhere`;
   a disconnected one is free and moves to the row's merchant), the same
   credentials already stored (`unchanged`), a store twice in the file;
3. runs the wizard's live check (`validate`, baseline included) on the rest,
   at most `concurrency` stores at a time, over the fleet's aiohttp client, in
   a thread of its own, while
4. this thread saves each usable store, as soon as its answer arrives,
   through the wizard's services (`store_connect`, or
   `store_replace_credentials` for a store this merchant already has; with
   `keep_broken`, `store_keep_missing_scopes`), one transaction per row.

A dry run does 1-3 and writes nothing. No secret ever reaches the report, a
log line or an exception: rows carry `Credentials` (whose repr shows the last
four characters) and results carry fingerprints at most.
"""

from .files import COLUMN_LABELS, ImportFileError, ImportRow, column_field, read_import_file
from .report import OK_OUTCOMES, ImportOutcome, ImportReport, RowResult
from .run import DEFAULT_CONCURRENCY, MAX_CONCURRENCY, import_stores

__all__ = [
    "COLUMN_LABELS",
    "DEFAULT_CONCURRENCY",
    "MAX_CONCURRENCY",
    "OK_OUTCOMES",
    "ImportFileError",
    "ImportOutcome",
    "ImportReport",
    "ImportRow",
    "RowResult",
    "column_field",
    "import_stores",
    "read_import_file",
]
