import os

from django.core.management.base import BaseCommand, CommandError

from stores.rotation import rotate_credentials


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted value (credentials, kept wizard secrets, webhook signing secrets) "
        "under the first key in FERNET_KEYS. Safe to interrupt and run again. Exits non-zero while a row "
        "holds a value no key decrypts (named by table and id; every other row is still rotated)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument(
            "--processes",
            type=int,
            default=os.cpu_count() or 1,
            help="rotate with this many processes, one per core by default (PostgreSQL; elsewhere one)",
        )

    def handle(self, *args, batch_size: int, processes: int, **options):
        if processes < 1:
            raise CommandError("--processes must be at least 1.")
        result = rotate_credentials(batch_size=batch_size, processes=processes)
        self.stdout.write(
            f"Re-encrypted {result.moved} rows under the first key; "
            f"{result.already_current} were already current"
            + (
                f"; {result.changed_meanwhile} changed meanwhile and were left alone"
                if result.changed_meanwhile
                else ""
            )
            + "."
        )
        if result.undecryptable:
            rows = ", ".join(f"{table} id {row_id}" for table, row_id in result.undecryptable)
            raise CommandError(
                f"{len(result.undecryptable)} rows hold a value no key in FERNET_KEYS decrypts and were left as "
                f"they are: {rows}. Fix them (e.g. replace the store's credentials) or delete them, then run again."
            )
