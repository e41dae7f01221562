"""The only writes to stores: connect, replace credentials, record a check,
ask for a check, pause, resume, disconnect. Views, admin actions, commands
and tasks call these; import them from here (`stores.services`).

- `onboarding`: connect a store, replace its credentials, keep one that
  lacks scopes (the bulk import's `--keep-broken`).
- `checks`: record checks (and prune old ones); ask for a check now, or
  dispatch every due one.
- `controls`: pause, resume, disconnect; staff move a store to another merchant.
- `profile`: the store profile from BigCommerce's `GET /v2/store`.
- `incidents`: fleet-wide incidents (count, open, close, catch up; the rule
  is `stores.incident_rule`); reference stores.

Every single status flip goes through `controls.flip_status`, which writes
the StatusChange row in the same transaction as the new status, guarded by
the old status so two writers can never announce the same change twice
(`store_record_checks` writes a batch's flips the same way, in bulk).
"""

from .checks import (
    CheckRequest,
    CheckResult,
    check_policy,
    checks_dispatch_due,
    checks_prune,
    store_check_request,
    store_record_check,
    store_record_checks,
    store_record_results,
    stores_release_claims,
)
from .controls import PauseRefused, StoreMoveRefused, store_disconnect, store_move, store_pause, store_resume
from .incidents import incident_close, incidents_review, store_set_reference, tallies_prune
from .onboarding import (
    CredentialsNotUsable,
    StoreOwnedElsewhere,
    credentials_unchanged,
    store_connect,
    store_keep_missing_scopes,
    store_replace_credentials,
)
from .profile import ProfileChange, store_refresh_profile

__all__ = [
    "CheckRequest",
    "CheckResult",
    "CredentialsNotUsable",
    "PauseRefused",
    "ProfileChange",
    "StoreMoveRefused",
    "StoreOwnedElsewhere",
    "check_policy",
    "credentials_unchanged",
    "incident_close",
    "incidents_review",
    "store_set_reference",
    "tallies_prune",
    "checks_dispatch_due",
    "checks_prune",
    "store_check_request",
    "store_connect",
    "store_disconnect",
    "store_keep_missing_scopes",
    "store_move",
    "store_pause",
    "store_record_check",
    "store_record_checks",
    "store_record_results",
    "store_refresh_profile",
    "store_replace_credentials",
    "store_resume",
    "stores_release_claims",
]
