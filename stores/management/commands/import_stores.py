"""Import existing BigCommerce stores from a CSV or JSON Lines file.

    python manage.py import_stores stores.csv --dry-run
    python manage.py import_stores stores.csv
    cat stores.jsonl | python manage.py import_stores - --json

One store per row: merchant (slug), optional merchant_name and owner_email
(to create a merchant that does not exist yet, and invite its owner), API
path, Client ID, Client secret, Access token. Each row is checked as the
wizard checks it, live, and saved encrypted. The report never shows a secret.
Exit status: 0 every row connected, replaced or unchanged (or kept with
--keep-broken), 1 some row refused, 2 the file itself is unusable.
"""

import json
import sys

from django.core.management.base import BaseCommand, CommandError
from django.views.decorators.debug import sensitive_variables

from stores.importing import (
    DEFAULT_CONCURRENCY,
    MAX_CONCURRENCY,
    ImportFileError,
    import_stores,
    read_import_file,
)

MAX_FILE_BYTES = 50 * 1024 * 1024


class UsageError(CommandError):
    def __init__(self, message):
        super().__init__(message, returncode=2)


def _concurrency(value: str) -> int:
    number = int(value)
    if not 1 <= number <= MAX_CONCURRENCY:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = __doc__.strip().splitlines()[0]

    def add_arguments(self, parser):
        parser.add_argument("file", metavar="FILE", help="CSV (with a header row) or JSON Lines; - for stdin.")
        parser.add_argument("--dry-run", action="store_true", help="Check every row live; write nothing.")
        parser.add_argument("--json", action="store_true", help="Print the report as one JSON object.")
        parser.add_argument(
            "--concurrency",
            type=_concurrency,
            default=DEFAULT_CONCURRENCY,
            metavar="N",
            help=f"Stores checked at once (1-{MAX_CONCURRENCY}, default {DEFAULT_CONCURRENCY}).",
        )
        parser.add_argument(
            "--keep-broken",
            action="store_true",
            help="Also save new stores whose token works but lacks scopes (status missing_scopes).",
        )

    @sensitive_variables("data", "rows")
    def handle(self, *args, file: str, **options):
        data = self._read(file)
        try:
            rows = read_import_file(data)
        except ImportFileError as error:
            raise UsageError(f"{file}: {error}") from None
        del data
        with self._progress(len(rows), enabled=not options["json"]) as advance:
            report = import_stores(
                rows,
                dry_run=options["dry_run"],
                keep_broken=options["keep_broken"],
                concurrency=options["concurrency"],
                on_progress=advance,
            )
        if options["json"]:
            self.stdout.write(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
        else:
            self._print(report)
        if not report.ok:
            sys.exit(1)

    def _read(self, path: str) -> bytes:
        try:
            if path == "-":
                data = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
            else:
                with open(path, "rb") as handle:
                    data = handle.read(MAX_FILE_BYTES + 1)
        except OSError as error:
            raise UsageError(f"Cannot read {path}: {error.strerror}.") from None
        if len(data) > MAX_FILE_BYTES:
            raise UsageError(f"{path} is larger than {MAX_FILE_BYTES // 1024 // 1024} MB; split it.")
        return data

    def _progress(self, total: int, *, enabled: bool):
        """A progress bar (rich) on a terminal; nothing when piped or with --json."""
        stream = getattr(self.stdout, "_out", self.stdout)
        if not enabled or not getattr(stream, "isatty", lambda: False)():
            return _NoProgress()
        return _RichProgress(total, stream)

    def _print(self, report) -> None:
        write = self.stdout.write
        header = ("line", "merchant", "store hash", "outcome", "what")
        rows = [
            (str(row.row), row.merchant or "?", row.store_hash or "?", _outcome(row), _what(row)) for row in report.rows
        ]
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
        for cells in [header, *rows]:
            write("  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=False)) + "  " + cells[4])
        details = [row for row in report.rows if not row.ok and row.problems]
        if details:
            write("\nWhat to fix:")
            for row in details:
                for problem in row.problems:
                    where = f" [{problem.field}]" if problem.field else ""
                    write(f"  line {row.row}{where}: {problem.message}")
        write("")
        write(("DRY RUN, nothing was written. " if report.dry_run else "") + report.log_summary())


def _outcome(row) -> str:
    return f"{row.outcome} (kept)" if row.kept else str(row.outcome)


def _what(row) -> str:
    if row.missing_scopes:
        return "missing: " + ", ".join(row.missing_scopes)
    parts = []
    if row.merchant_created:
        parts.append("new merchant, owner invited")
    parts += [f"{p.field}: {p.code}" if p.field else p.code for p in row.problems if p.code != row.outcome]
    return "; ".join(parts)


class _NoProgress:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


class _RichProgress:
    def __init__(self, total: int, stream) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("Checking stores"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=Console(file=stream, stderr=False),
            transient=True,
        )
        self._task = self._progress.add_task("import", total=total)

    def __enter__(self):
        self._progress.start()
        return lambda count: self._progress.advance(self._task, count)

    def __exit__(self, *exc):
        self._progress.stop()
        return False
