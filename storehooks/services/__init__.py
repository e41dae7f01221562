"""BigCommerce's webhooks: register them, receive them, act on them, clean up.
Import these from here (`storehooks.services`).

- `registration`: `hooks_register_queue(store)` after connect/replace,
  `hooks_register(store_id)` (a Celery task's work), `hooks_removal_prepare(store)`
  while disconnecting (no network) and `hooks_removal_run(removal)` after it
  commits.
- `receiving`: `delivery_receive(...)`, the receiver's whole job (verify,
  refuse replays, record, prove the Client secret, queue the work).
- `processing`: `delivery_process(delivery_id)`, the queued work: re-read
  the profile, or ask for a check now.
- `housekeeping`: `webhooks_sweep()`: queue again deliveries whose work was
  never queued; prune.
- `keepalive`: `hooks_sweep_due()` (periodic) and `hooks_keep_alive(store_ids)`
  (now): re-activate, re-create and de-duplicate each connected store's
  hooks, which BigCommerce deactivates after 90 days without deliveries or
  48 hours of failed ones.

Secrets are read from the database, by store id; they never travel in a
task's arguments, a log line or a delivery record.
"""

from .housekeeping import SEEN_RETENTION, STUCK_AFTER, webhooks_sweep
from .keepalive import SweepResult, hooks_due, hooks_keep_alive, hooks_sweep_due
from .processing import delivery_process
from .receiving import (
    NOT_FOUND,
    REJECTION_WINDOW,
    REJECTIONS_RECORDED_PER_WINDOW,
    Receipt,
    delivery_queue_processing,
    delivery_receive,
    secret_proof_forget_stale,
)
from .registration import (
    ACCOUNT_HEADER,
    APP_UNINSTALLED,
    INFORMATION_UPDATED,
    SCOPES,
    HookRemoval,
    account_key,
    hooks_register,
    hooks_register_queue,
    hooks_removal_prepare,
    hooks_removal_run,
    receiver_url,
    webhooks_enabled,
)

__all__ = [
    "ACCOUNT_HEADER",
    "APP_UNINSTALLED",
    "INFORMATION_UPDATED",
    "NOT_FOUND",
    "REJECTIONS_RECORDED_PER_WINDOW",
    "REJECTION_WINDOW",
    "SCOPES",
    "SEEN_RETENTION",
    "STUCK_AFTER",
    "Receipt",
    "SweepResult",
    "account_key",
    "delivery_process",
    "delivery_queue_processing",
    "delivery_receive",
    "hooks_due",
    "hooks_keep_alive",
    "hooks_register",
    "hooks_register_queue",
    "HookRemoval",
    "hooks_removal_prepare",
    "hooks_removal_run",
    "hooks_sweep_due",
    "receiver_url",
    "secret_proof_forget_stale",
    "webhooks_enabled",
    "webhooks_sweep",
]
