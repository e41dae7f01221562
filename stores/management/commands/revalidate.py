from django.core.management.base import BaseCommand, CommandError

from stores.claims import make_all_due
from stores.models import Check, Store
from stores.services import CheckRequest, checks_dispatch_due, store_check_request


class Command(BaseCommand):
    help = "Queue checks now, for one store or for every checked store."

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--all", action="store_true", help="Every store that is not paused or disconnected.")
        target.add_argument("--store", metavar="HASH", help="One store, by store hash.")

    def handle(self, *args, **options):
        if options["all"]:
            made_due = make_all_due()
            queued = checks_dispatch_due()
            self.stdout.write(f"Queued {queued} check(s) ({made_due} store(s) made due now).")
            return
        store = Store.objects.filter(store_hash=options["store"].strip().lower()).first()
        if store is None:
            raise CommandError(f"No store with hash {options['store']!r}.")
        result = store_check_request(store=store, trigger=Check.Trigger.STAFF)
        if result.answer == CheckRequest.Answer.NOT_CHECKED:
            raise CommandError(f"Store {store.store_hash} is {result.reason}: it is not checked.")
        if result.queued:
            self.stdout.write(f"Queued a check of {store.store_hash}.")
        else:
            self.stdout.write(f"A check of {store.store_hash} is already in flight.")
