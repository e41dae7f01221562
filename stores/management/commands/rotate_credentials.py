from django.core.management.base import BaseCommand

from stores.rotation import rotate_credentials


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted value (credentials, kept wizard secrets, webhook signing secrets) "
        "under the first key in FERNET_KEYS. Safe to interrupt and run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size: int, **options):
        result = rotate_credentials(batch_size=batch_size)
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
