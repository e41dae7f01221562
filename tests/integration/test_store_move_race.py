"""Two merchants connect one disconnected store at the same moment, on
PostgreSQL (threads with their own connections, released by a barrier, many
rounds): exactly one ends as its owner, the other is refused.

Mutation tried: `Store.objects.get_or_create(...)` without `.select_for_update()`
in `stores.services.onboarding.store_connect`: both read the row as
disconnected under its old merchant, both take it, both are told "connected",
and the row ends with whichever wrote last.
"""

from __future__ import annotations

import pytest
from django.db import connection

from merchants.models import Merchant
from stores import services
from stores.models import Credential, StatusChange, Store
from stores.status import StoreStatus
from tests.integration.test_races import ROUNDS, race
from tests.reports import credentials, report


@pytest.fixture
def postgres(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("races need PostgreSQL (DATABASE_URL), as in .ci/run's second pass")


def test_two_merchants_connecting_one_disconnected_store_end_with_one_owner(postgres, acme, globex):
    seller = Merchant.objects.create(name="Initech", slug="initech")
    tokens = {acme.pk: "acmet0k3nabcdefghijklmnopqrstuv", globex.pk: "g10b3xt0k3nabcdefghijklmnopqrst"}
    for round_ in range(ROUNDS):
        store_hash = f"sold{round_}"
        Store.objects.create(merchant=seller, store_hash=store_hash, status=StoreStatus.DISCONNECTED)

        def connecting(merchant, store_hash=store_hash):
            def party():
                try:
                    services.store_connect(
                        merchant=merchant,
                        credentials=credentials(store_hash, token=tokens[merchant.pk]),
                        report=report(store_hash=store_hash),
                    )
                except services.StoreOwnedElsewhere:
                    return None
                return merchant.pk

            return party

        results = race(connecting(acme), connecting(globex))
        winners = [pk for pk in results if pk is not None]
        assert len(winners) == 1, f"round {round_}: {len(winners)} merchants were told they connected it"
        store = Store.objects.get(store_hash=store_hash)
        assert store.merchant_id == winners[0] and store.status == StoreStatus.CONNECTED
        assert Credential.objects.get(store=store).access_token == tokens[winners[0]]
        assert StatusChange.objects.filter(store=store, new_status=StoreStatus.CONNECTED).count() == 1
