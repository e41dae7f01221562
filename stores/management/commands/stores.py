import json

from django.core.management.base import BaseCommand

from stores.models import Store
from stores.status import StoreStatus


class Command(BaseCommand):
    help = "List stores with their status, last and next check."

    def add_arguments(self, parser):
        parser.add_argument("--status", choices=StoreStatus.values, help="Only stores with this status.")
        parser.add_argument("--json", action="store_true", help="Print a JSON array.")

    def handle(self, *args, status=None, **options):
        stores = Store.objects.select_related("merchant").order_by("store_hash")
        if status:
            stores = stores.filter(status=status)
        rows = [
            {
                "store_hash": s.store_hash,
                "name": s.name,
                "merchant": s.merchant.name,
                "status": s.status,
                "last_checked_at": s.last_checked_at.isoformat() if s.last_checked_at else None,
                "next_check_at": s.next_check_at.isoformat() if s.next_check_at else None,
            }
            for s in stores.iterator(chunk_size=2000)
        ]
        if options["json"]:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        self.stdout.write(f"{'STORE HASH':<12} {'STATUS':<18} {'LAST CHECK':<26} {'NEXT CHECK':<26} NAME")
        for row in rows:
            self.stdout.write(
                f"{row['store_hash']:<12} {row['status']:<18} {row['last_checked_at'] or '-':<26} "
                f"{row['next_check_at'] or '-':<26} {row['name']} ({row['merchant']})"
            )
        self.stdout.write(f"{len(rows)} store(s)")
