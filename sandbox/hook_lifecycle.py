"""BigCommerce switching hooks off by itself, and telling the store owner.

What BigCommerce documents (``bigcommerce/docs``, ``docs/integrations/webhooks/overview.mdx``):

* "A webhook subscription becomes deactivated after 90 days of inactivity."
  What counts as activity is not said; the sandbox counts a delivery sent to
  the hook, its creation, and its re-activation (``PUT is_active: true``).
* After the last retry, "cumulatively **48 hours** after the first delivery
  attempt", "the webhook will be deactivated, and an email will be sent to the
  email address registered for the subscribing app". The sandbox retries a
  delivery only a few times within seconds (``sandbox.webhooks``); a delivery
  whose attempts all failed marks its hook as failing since its first attempt,
  and the hook is deactivated once the clock is 48 hours past that, unless a
  later delivery to it succeeded first.
* To reactivate, "set ``is_active`` back to ``true``" (``PUT /v3/hooks/{id}``).

For a store-level API account the address "registered for the subscribing app"
is taken to be the store owner's (the profile's ``admin_email``); the sandbox
records the e-mail for both causes (for inactivity that is an assumption).

The clock: ``now()`` is the real time plus an offset that only moves forward
(``POST /_sandbox/clock/advance {"seconds": n}``); every advance applies the
rules above at once. Hook timestamps (``created_at``, ``updated_at``) use it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.state import SandboxState, Store

INACTIVITY_SECONDS = 90 * 24 * 3600
#: BigCommerce's retry schedule, summed: 60 + 180 + ... + 86400 seconds.
FAILING_SECONDS = 173_040


class HookLifecycle:
    """The sandbox's clock, each hook's last activity and failures, and the e-mails sent."""

    def __init__(self, state: SandboxState) -> None:
        self._state = state
        self.offset = 0.0
        self.last_activity: dict[int, float] = {}
        self.failing_since: dict[int, float] = {}
        self.emails: list[dict[str, Any]] = []

    # -- the clock -----------------------------------------------------------------
    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> list[dict[str, Any]]:
        """Move the clock forward; the e-mails of the hooks this deactivated."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self.offset += seconds
        return self.enforce()

    # -- what happens to hooks --------------------------------------------------------
    def touched(self, hook_id: int) -> None:
        """Created, re-activated, or sent a delivery: active again as of now."""
        self.last_activity[hook_id] = self.now()

    def reactivated(self, hook_id: int) -> None:
        self.touched(hook_id)
        self.failing_since.pop(hook_id, None)

    def delivery_settled(self, store_hash: str, hook_id: int, *, delivered: bool, first_attempt_at: float) -> None:
        """A delivery to the hook succeeded, or every attempt failed."""
        if delivered:
            self.failing_since.pop(hook_id, None)
        else:
            self.failing_since.setdefault(hook_id, first_attempt_at)
        self.enforce()

    def enforce(self) -> list[dict[str, Any]]:
        """Deactivate every active hook past either limit; the e-mails sent."""
        now = self.now()
        sent = []
        for store in list(self._state.stores.values()):
            for hook in list(store.hooks.values()):
                if not hook.get("is_active", True):
                    continue
                hook_id = hook["id"]
                failing = self.failing_since.get(hook_id)
                if failing is not None and now - failing >= FAILING_SECONDS:
                    sent.append(self._deactivate(store, hook, "failures", now))
                elif now - self.last_activity.get(hook_id, hook.get("created_at") or now) >= INACTIVITY_SECONDS:
                    sent.append(self._deactivate(store, hook, "inactivity", now))
        return sent

    def _deactivate(self, store: Store, hook: dict[str, Any], reason: str, now: float) -> dict[str, Any]:
        hook["is_active"] = False
        hook["updated_at"] = int(now)
        self.failing_since.pop(hook["id"], None)
        why = (
            "it received no events for 90 days"
            if reason == "inactivity"
            else "deliveries to its destination failed for 48 hours"
        )
        email = {
            "to": store.profile.get("admin_email") or "",
            "store_hash": store.hash,
            "hook_id": hook["id"],
            "client_id": hook.get("client_id"),
            "scope": hook.get("scope"),
            "destination": hook.get("destination"),
            "reason": reason,
            "subject": f"Webhook {hook.get('scope')} deactivated",
            "text": f"Your webhook for {hook.get('scope')} was deactivated because {why}.",
            "at": now,
        }
        self.emails.append(email)
        return email

    def listed_emails(self, store_hash: str | None = None) -> list[dict[str, Any]]:
        return [e for e in self.emails if store_hash is None or e["store_hash"] == store_hash]

    def clear(self) -> None:
        self.emails.clear()
