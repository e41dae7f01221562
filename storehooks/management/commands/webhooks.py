from django.core.management.base import BaseCommand, CommandError

from storehooks.services import SweepResult, hooks_keep_alive, webhooks_enabled
from stores.models import Store
from stores.status import StoreStatus


def describe(result: SweepResult) -> str:
    if result.skipped:
        return f"{result.store_hash}: skipped ({result.skipped})"
    if result.error:
        return f"{result.store_hash}: FAILED: {result.error}"
    found = ", ".join(f"{scope} {state}" for scope, state in sorted(result.found.items()))
    if not result.changes:
        return f"{result.store_hash}: nothing to change ({found})"
    changes = []
    for scope in result.changes.get("reactivated", []):
        changes.append(f"re-activated {scope}")
    for scope in result.changes.get("recreated", []):
        changes.append(f"re-created {scope}")
    if result.changes.get("duplicates_removed"):
        changes.append(f"removed {result.changes['duplicates_removed']} duplicate(s)")
    if result.changes.get("updated"):
        changes.append(f"updated {result.changes['updated']} hook(s) (destination or headers)")
    if result.changes.get("removed_unwanted"):
        changes.append(f"removed {result.changes['removed_unwanted']} hook(s) for scopes no longer used")
    return f"{result.store_hash}: " + "; ".join(changes)


class Command(BaseCommand):
    help = (
        "BigCommerce webhooks. --ensure: sweep now (list each connected store's hooks through its "
        "own API account, re-activate inactive ones, re-create missing ones, remove duplicates) and "
        "print what changed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--ensure", action="store_true", required=True, help="Sweep now.")
        parser.add_argument("--store", metavar="HASH", help="Only this store (by store hash).")

    def handle(self, *args, **options):
        if not webhooks_enabled():
            raise CommandError("Webhooks are off (BIGCOMMERCE_WEBHOOKS_ENABLED): nothing to ensure.")
        stores = Store.objects.filter(status=StoreStatus.CONNECTED)
        if options["store"]:
            store_hash = options["store"].strip().lower()
            store = Store.objects.filter(store_hash=store_hash).first()
            if store is None:
                raise CommandError(f"No store with hash {options['store']!r}.")
            if store.status != StoreStatus.CONNECTED:
                raise CommandError(f"Store {store.store_hash} is {store.status}: only connected stores are swept.")
            stores = stores.filter(pk=store.pk)
        ids = list(stores.order_by("id").values_list("id", flat=True))
        changed = failed = 0
        for start in range(0, len(ids), 100):
            for result in hooks_keep_alive(store_ids=ids[start : start + 100]):
                self.stdout.write(describe(result))
                changed += bool(result.changes)
                failed += bool(result.error)
        self.stdout.write(f"Swept {len(ids)} store(s): {changed} changed, {failed} failed.")
        if failed:
            raise CommandError(f"{failed} store(s) could not be swept.")
