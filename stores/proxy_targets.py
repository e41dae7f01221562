"""What the BigCommerce proxy needs to know about a store, per call: may its
credentials be used, what is the token, and is its BigCommerce quota spent.

- **The token** comes from `stores.release` (the one place a decrypted token
  leaves the portal) and is kept in this process's memory for at most
  `PROXY_TOKEN_CACHE_SECONDS`, keyed by the credentials' version: every call
  reads the store's status and version (api/proxy_admission.py, nothing
  decrypted), so new credentials, a disconnect or a revoked store take effect
  on the next call, and a changed version drops the kept token at once.
- **The quota** is shared by every service calling through any proxy process:
  when BigCommerce says a store's quota is spent (a 429 announcing its wait, or
  `X-Rate-Limit-Requests-Left: 0`), the time it comes back is written to the
  cache (`CACHE_URL`: Redis shares it between processes and machines; the
  default local memory within one process), and until then the proxy answers
  429 itself, without calling BigCommerce. Each process keeps its own view
  (`QUOTAS`) and looks at the cache again at most every 0.25 s per store.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.views.decorators.debug import sensitive_variables

from .release import store_credentials_release, store_release_read

QUOTA_KEY = "proxy:quota-spent:{store_hash}"


@dataclass
class _Kept:
    version: str
    token: str = field(repr=False)
    until: float


class TokenCache:
    """Decrypted tokens by store, for a short while, at most `size` of them."""

    def __init__(self, size: int = 10_000):
        self.size = size
        self._kept: OrderedDict[str, _Kept] = OrderedDict()
        self._lock = threading.Lock()

    @sensitive_variables("token")
    def get(self, store_hash: str, version: str) -> str | None:
        with self._lock:
            kept = self._kept.get(store_hash)
            if kept is None:
                return None
            if kept.version != version or kept.until < time.monotonic():
                del self._kept[store_hash]  # new credentials, or kept long enough
                return None
            self._kept.move_to_end(store_hash)
            return kept.token

    @sensitive_variables("token")
    def put(self, store_hash: str, version: str, token: str, seconds: float) -> None:
        with self._lock:
            self._kept[store_hash] = _Kept(version=version, token=token, until=time.monotonic() + seconds)
            self._kept.move_to_end(store_hash)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()


TOKENS = TokenCache()


@sensitive_variables("token", "releasable")
def proxy_token(store_hash: str, version: str) -> str | None:
    """The store's Access token of `version`: kept, or read, decrypted and
    kept (stores.release, the one way out); None if the credentials changed or
    stopped being usable since `version` was read (the caller asks again)."""
    token = TOKENS.get(store_hash, version)
    if token is None:
        releasable = store_release_read(store_hash)
        if releasable is None or not releasable.usable or releasable.version != version:
            return None
        token = store_credentials_release(releasable).access_token
        TOKENS.put(store_hash, version, token, settings.PROXY_TOKEN_CACHE_SECONDS)
    return token


class QuotaView:
    """This process's view of the stores' spent quotas: what it learnt from
    BigCommerce itself, and what it read from the shared cache, looked up
    again at most every `look_every` seconds per store (so a quota spent
    through another process is seen within that, and a proxied call costs no
    cache round trip)."""

    def __init__(self, look_every: float = 0.25, size: int = 100_000):
        self.look_every, self.size = look_every, size
        self._seen: dict[str, tuple[float, float]] = {}  # store -> (until, looked at), monotonic

    def known_wait(self, store_hash: str) -> int | None:
        """Whole seconds the quota stays spent (0: not spent); None if it is time to look again."""
        seen = self._seen.get(store_hash)
        now = time.monotonic()
        if seen is None:
            return None
        until, looked_at = seen
        if until > now:
            return math.ceil(until - now)
        return 0 if now - looked_at < self.look_every else None

    def learn(self, store_hash: str, wait: float) -> int:
        if len(self._seen) >= self.size:
            self._seen.clear()
        now = time.monotonic()
        self._seen[store_hash] = (now + max(wait, 0.0), now)
        return math.ceil(wait) if wait > 0 else 0

    def clear(self) -> None:
        self._seen.clear()


QUOTAS = QuotaView()


def quota_wait_left(store_hash: str) -> int:
    """Whole seconds until the store's spent quota comes back; 0 if it is not spent."""
    until = cache.get(QUOTA_KEY.format(store_hash=store_hash))
    if not until:
        return 0
    left = until - time.time()
    return math.ceil(left) if left > 0 else 0


def quota_spent(store_hash: str, seconds: float) -> None:
    """BigCommerce said the store's quota is spent for `seconds` (capped by
    `PROXY_QUOTA_MAX_WAIT_SECONDS`: a number from outside never blocks a store for long)."""
    seconds = min(max(seconds, 0.0), settings.PROXY_QUOTA_MAX_WAIT_SECONDS)
    if seconds <= 0:
        return
    cache.set(QUOTA_KEY.format(store_hash=store_hash), time.time() + seconds, timeout=math.ceil(seconds) + 1)
