"""Is a delivery really from BigCommerce? Its Standard Webhooks signature says.

BigCommerce signs each delivery with the Client secret of the API account
that registered the hook: headers `webhook-id`, `webhook-timestamp` (Unix
seconds) and `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`,
the key being the secret's raw bytes. The `standardwebhooks` package checks
the signature; this module first sorts out what the package would only call
"invalid", so each rejection says why (unsigned, malformed, stale, wrong key).

Pure functions: no Django, no database. Nothing here logs.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

TOLERANCE_SECONDS = 5 * 60
MAX_ID_LENGTH = 100

UNSIGNED = "unsigned"
MALFORMED = "malformed"
STALE = "stale"
BAD_SIGNATURE = "bad_signature"
NO_SECRET = "no_secret"


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str = ""  # one of the constants above when not ok
    webhook_id: str = ""  # clipped to MAX_ID_LENGTH, for the record

    def __bool__(self) -> bool:
        return self.ok


def _well_formed(signature_header: str) -> bool:
    """Space-separated `version,signature` pairs, at least one `v1` with valid base64."""
    found_v1 = False
    for part in signature_header.split(" "):
        version, comma, signature = part.partition(",")
        if not comma or "," in signature:
            return False
        if version == "v1":
            try:
                base64.b64decode(signature, validate=True)
            except (binascii.Error, ValueError):
                return False
            found_v1 = True
    return found_v1


def verify(secret: str, body: bytes, headers: Mapping[str, str], *, now: float | None = None) -> Verdict:
    """Check one delivery against a store's Client secret."""
    lowered = {name.lower(): value for name, value in headers.items()}
    msg_id = (lowered.get("webhook-id") or "").strip()
    timestamp = (lowered.get("webhook-timestamp") or "").strip()
    signature = (lowered.get("webhook-signature") or "").strip()
    clipped = msg_id[:MAX_ID_LENGTH]
    if not (msg_id and timestamp and signature):
        return Verdict(False, UNSIGNED, clipped)
    if len(msg_id) > MAX_ID_LENGTH or not timestamp.isdigit() or not _well_formed(signature):
        return Verdict(False, MALFORMED, clipped)
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > TOLERANCE_SECONDS:
        return Verdict(False, STALE, clipped)
    if not secret:
        return Verdict(False, NO_SECRET, clipped)
    # A str secret would be base64-decoded by the package: the key is the secret's raw bytes.
    checker = Webhook(secret.encode())
    try:
        checker.verify(
            body,
            {"webhook-id": msg_id, "webhook-timestamp": timestamp, "webhook-signature": signature},
            json_parse=False,
        )
    except WebhookVerificationError:
        return Verdict(False, BAD_SIGNATURE, clipped)
    except ValueError:  # e.g. a body that is not UTF-8
        return Verdict(False, MALFORMED, clipped)
    return Verdict(True, "", clipped)


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers BigCommerce would send with `body` (for tests and demos)."""
    signature = Webhook(secret.encode()).sign(msg_id, datetime.fromtimestamp(timestamp, tz=UTC), body.decode())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }
