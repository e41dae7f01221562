"""Reports as the BigCommerce client would produce them, for service tests."""

from stores.bigcommerce.report import Credentials, Outcome, Problem, Report, ScopeState
from stores.bigcommerce.scopes import REQUIRED_SCOPES

PROFILE = {
    "id": "acme123",
    "name": "Acme Outfitters",
    "domain": "acme.example",
    "secure_url": "https://acme.example",
    "control_panel_base_url": "https://store-acme123.mybigcommerce.com",
    "plan_name": "Plus",
    "plan_level": "Plus",
    "plan_is_trial": False,
    "currency": "USD",
    "weight_units": "LB",
    "dimension_units": "Inches",
    "country_code": "US",
}


def credentials(store_hash: str = "acme123", token: str = "n3wt0k3nabcdefghijklmnopqrstuvw") -> Credentials:
    return Credentials(
        store_hash=store_hash,
        access_token=token,
        client_id="n3wc1i3ntabcdefghijklmnopqrstu",
        client_secret="ab" * 32,
    )


def report(outcome: Outcome = Outcome.CONNECTED, *, store_hash: str = "acme123", missing=(), profile=None) -> Report:
    if outcome == Outcome.CONNECTED:
        scopes = {s.param: ScopeState.GRANTED for s in REQUIRED_SCOPES}
    elif outcome == Outcome.MISSING_SCOPES:
        scopes = {s.param: ScopeState.MISSING if s.param in missing else ScopeState.GRANTED for s in REQUIRED_SCOPES}
    else:
        scopes = {s.param: ScopeState.UNKNOWN for s in REQUIRED_SCOPES}
    problems = [] if outcome == Outcome.CONNECTED else [Problem("", str(outcome), f"Problem: {outcome}.")]
    return Report(
        ok=outcome == Outcome.CONNECTED,
        store_hash=store_hash,
        outcome=outcome,
        scopes=scopes,
        store=(profile or dict(PROFILE, id=store_hash)) if outcome == Outcome.CONNECTED else None,
        problems=problems,
    )


def revoke_by_two_checks(store) -> None:
    """A connected store's token refused twice by scheduled checks (the second
    confirms): the store is revoked and its status change waits to be told."""
    from django.utils import timezone

    from stores import services

    for _ in range(2):
        services.store_record_check(
            store_id=store.pk,
            report=report(Outcome.INVALID_TOKEN),
            trigger="schedule",
            started_at=timezone.now(),
            duration_ms=1,
        )
