"""Sliding-window rate limits in the shared cache (Redis in production).

A window of `window_seconds` is cut into `SLOTS` slots, each an atomic
counter. A hit is counted first (`incr`), then the counters of the slots that
overlap the last `window_seconds` are added up — including the whole of the
oldest, partly expired slot, so the count never under-estimates: at most
`limit` hits are allowed in *any* span of `window_seconds`, across a slot or
window edge too (a fixed window allows twice the limit across its edge). A
refused hit is taken back, so waiting `retry_after` seconds really is enough.

Concurrent callers each see the others' increments, so two of them can both
be refused near the limit, never both allowed past it.

On Redis (production's cache) a hit is one round trip: the slot's creation,
its increment and the reading of the earlier slots go as one MULTI/EXEC
(`_redis_hit`); through Django's cache API they were four (`add`; `incr`,
which is EXISTS then INCRBY; `get_many`). The counters are the same keys and
values either way (Django's Redis serializer stores an int as itself).
"""

from __future__ import annotations

import math
import time

from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache

SLOTS = 30


def _slot_seconds(window_seconds: int) -> float:
    return max(window_seconds / SLOTS, 1.0)


def _keys(key: str, window_seconds: int, now: float) -> tuple[str, list[str]]:
    width = _slot_seconds(window_seconds)
    current = int(now // width)
    span = math.ceil(window_seconds / width)
    # The current slot and every earlier one that overlaps (now - window, now].
    return (
        f"throttle:{key}:{window_seconds}:{current}",
        [f"throttle:{key}:{window_seconds}:{slot}" for slot in range(current - span, current)],
    )


def allow(key: str, *, limit: int, window_seconds: int, now: float | None = None) -> bool:
    """Count one hit; False (and the hit not counted) once `limit` hits fall in the last window."""
    now = time.time() if now is None else now
    current, earlier = _keys(key, window_seconds, now)
    timeout = window_seconds + int(_slot_seconds(window_seconds)) + 5
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        total = _redis_hit(backend, current, earlier, timeout)
    else:
        cache.add(current, 0, timeout=timeout)
        try:
            count = cache.incr(current)
        except ValueError:  # evicted between add and incr
            cache.set(current, 1, timeout=timeout)
            count = 1
        total = count + sum(cache.get_many(earlier).values())
    if total <= limit:
        return True
    try:
        cache.decr(current)
    except ValueError:
        pass
    return False


def _redis_hit(backend: RedisCache, current: str, earlier: list[str], timeout: int) -> int:
    """Create the current slot if need be, count the hit in it and add up the
    earlier slots, in one MULTI/EXEC (atomic: no eviction between the creation
    and the increment can leave a counter without its expiry)."""
    current_key = backend.make_and_validate_key(current)
    client = backend._cache.get_client(current_key, write=True)  # Django's pool for this cache
    pipe = client.pipeline(transaction=True)
    pipe.set(current_key, 0, nx=True, ex=timeout)
    pipe.incr(current_key)
    if earlier:
        pipe.mget([backend.make_and_validate_key(k) for k in earlier])
    _created, count, *rest = pipe.execute()
    return int(count) + sum(int(value) for value in (rest[0] if rest else []) if value is not None)


def retry_after(key: str, *, limit: int, window_seconds: int, now: float | None = None) -> int:
    """Seconds until one more hit would be allowed (0 if it would be now)."""
    now = time.time() if now is None else now
    width = _slot_seconds(window_seconds)
    current, earlier = _keys(key, window_seconds, now)
    counts = cache.get_many([*earlier, current])
    slots = [counts.get(k, 0) for k in [*earlier, current]]
    total = sum(slots)
    if total < limit:
        return 0
    first_slot = int(now // width) - len(earlier)
    for index, hits in enumerate(slots):
        total -= hits
        if total < limit:
            # That slot stops counting once the window no longer overlaps it.
            ends = (first_slot + index + 1) * width + window_seconds
            return max(1, math.ceil(ends - now))
    return window_seconds
