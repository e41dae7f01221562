"""Demo stores for `make run`: Acme gets the sandbox's healthy demo store,
connected through the same live check and service as the wizard."""

from __future__ import annotations

from pathlib import Path

from merchants.models import Merchant
from stores.bigcommerce.doctor import diagnose_text
from stores.models import Store
from stores.services import StoreOwnedElsewhere, store_connect
from stores.verification import verify_credentials

DEMO_CONNECTIONS = (("acme", "vcdemo01--violet-connect.txt"),)


def connect_demo_stores(credentials_dir: Path) -> list[str]:
    """Connect the demo stores not yet connected; what was connected (or why not)."""
    said = []
    for merchant_slug, filename in DEMO_CONNECTIONS:
        merchant = Merchant.objects.filter(slug=merchant_slug).first()
        path = credentials_dir / filename
        if merchant is None or not path.exists():
            continue
        diagnosis = diagnose_text(path.read_bytes())
        if not diagnosis.ok:
            said.append(f"{filename}: {diagnosis.problems[0].message}")
            continue
        if Store.objects.filter(store_hash=diagnosis.credentials.store_hash, status="connected").exists():
            continue
        report, duration_ms = verify_credentials(diagnosis.credentials)
        if not report.ok:
            said.append(f"{filename}: {report.outcome}")
            continue
        try:
            store = store_connect(
                merchant=merchant, credentials=diagnosis.credentials, report=report, duration_ms=duration_ms
            )
        except StoreOwnedElsewhere:
            continue
        said.append(f"Connected {store.display_name} ({store.store_hash}) to {merchant.name}")
    return said
