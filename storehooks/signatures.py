"""Is a delivery really from BigCommerce? Its Standard Webhooks signature says.

BigCommerce signs each delivery with the Client secret of the API account
that registered the hook: headers `webhook-id`, `webhook-timestamp` (Unix
seconds) and `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`,
the key being the secret's raw bytes. The `standardwebhooks` package checks
the signature; this module first sorts out what the package would only call
"invalid", so each rejection says why (unsigned, malformed, stale, wrong key).

Timestamps, retries and replays (the decision)
----------------------------------------------
What BigCommerce documents (`bigcommerce/docs`,
`docs/integrations/webhooks/overview.mdx` and `https-webhook-overview.mdx`):

- a delivery not answered with a 2xx is retried after 60, 180, 300, 600, 900,
  1800, 3600, 7200, 21600, 50400 and 86400 seconds ("cumulatively 48 hours
  after the first delivery attempt", 173,040 s); then the hook is
  deactivated and an e-mail goes to the subscribing app's address;
- "A timestamp is used to protect against replay attacks" and "We recommend
  validating the signature and timestamp before processing any webhook
  event"; the Standard Webhooks libraries they point to allow 5 minutes;
- duplicates happen ("Message Retries", "Network Glitches"); they
  recommend idempotent handling.

What is NOT documented: whether a retry carries a new `webhook-timestamp`
(re-signed when re-sent) or the first attempt's, and whether it keeps the
`webhook-id`. So we assume the worse case for each: a retry may carry a
timestamp up to ~48 h old, and a replayed capture may carry the same id.

Decision: a timestamp may be up to `MAX_AGE` old (the retry window plus a
day of margin for blocklisting pauses and queueing) and at most
`FUTURE_TOLERANCE` ahead (clock skew); older or further ahead is "stale".
Replay protection is by `webhook-id`: the receiver remembers every verified
id (`SeenWebhook`) for `SEEN_RETENTION` >= `MAX_AGE` + `FUTURE_TOLERANCE`,
so any delivery whose timestamp still passes here and whose id was seen is
caught as a replay; once an id is forgotten its timestamp can no longer
pass. A retry of a delivery first sent two days ago is therefore accepted
once (a fresh id, or the same id never verified before) and never twice.

Pure functions: no Django, no database. Nothing here logs.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from standardwebhooks.webhooks import Webhook

from stores.bigcommerce.storable import storable_text

#: BigCommerce's documented retry schedule (seconds after the previous attempt).
RETRY_INTERVALS = (60, 180, 300, 600, 900, 1800, 3600, 7200, 21600, 50400, 86400)
RETRY_WINDOW = timedelta(seconds=sum(RETRY_INTERVALS))  # 48 h 4 min
#: How old a signed timestamp may be: the retry window and a day of margin.
MAX_AGE = RETRY_WINDOW + timedelta(days=1)
#: How far ahead of our clock a timestamp may be (the Standard Webhooks tolerance).
FUTURE_TOLERANCE = timedelta(minutes=5)
#: How long a verified `webhook-id` must be remembered (see the module's docstring).
SEEN_RETENTION = MAX_AGE + FUTURE_TOLERANCE + timedelta(hours=1)
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


def ascii_int(value: str) -> int | None:
    """`value` as a whole number when it is only ASCII digits (at most 20 of
    them), else None. `str.isdigit()` is true for "²" and "٣", which `int()`
    refuses or reads as another number: header values are parsed here."""
    if value and len(value) <= 20 and value.isascii() and value.isdigit():
        return int(value)
    return None


def verify(secret: str, body: bytes, headers: Mapping[str, str], *, now: float | None = None) -> Verdict:
    """Check one delivery against a store's Client secret."""
    lowered = {name.lower(): value for name, value in headers.items()}
    msg_id = (lowered.get("webhook-id") or "").strip()
    timestamp = (lowered.get("webhook-timestamp") or "").strip()
    signature = (lowered.get("webhook-signature") or "").strip()
    clipped = storable_text(msg_id[:MAX_ID_LENGTH])  # for the record: no NUL, no lone surrogate
    if not (msg_id and timestamp and signature):
        return Verdict(False, UNSIGNED, clipped)
    seconds = ascii_int(timestamp)
    if len(msg_id) > MAX_ID_LENGTH or seconds is None or not _well_formed(signature):
        return Verdict(False, MALFORMED, clipped)
    current = time.time() if now is None else now
    age = current - seconds
    if age > MAX_AGE.total_seconds() or -age > FUTURE_TOLERANCE.total_seconds():
        return Verdict(False, STALE, clipped)
    if not secret:
        return Verdict(False, NO_SECRET, clipped)
    # The package's `verify` would also refuse anything older than 5 minutes
    # (see above), so only its HMAC is used. A str secret would be
    # base64-decoded by the package: the key is the secret's raw bytes.
    try:
        expected = Webhook(secret.encode()).sign(
            msg_id, datetime.fromtimestamp(seconds, tz=UTC), body.decode()
        )
    except (ValueError, OverflowError, OSError):  # e.g. a body that is not UTF-8, an absurd timestamp
        return Verdict(False, MALFORMED, clipped)
    wanted = base64.b64decode(expected.partition(",")[2])
    for part in signature.split(" "):
        version, _, given = part.partition(",")
        if version == "v1" and hmac.compare_digest(wanted, base64.b64decode(given)):
            return Verdict(True, "", clipped)
    return Verdict(False, BAD_SIGNATURE, clipped)


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers BigCommerce would send with `body` (for tests and demos)."""
    signature = Webhook(secret.encode()).sign(msg_id, datetime.fromtimestamp(timestamp, tz=UTC), body.decode())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }
