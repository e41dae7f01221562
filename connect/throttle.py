"""Fixed-window counters in the cache, so the credentials form cannot be used
to test stolen tokens: live checks are limited per merchant and per address."""

from __future__ import annotations

import time

from django.core.cache import cache


def allow(key: str, *, limit: int, window_seconds: int) -> bool:
    """Count one hit; False once `limit` hits were counted in this window."""
    bucket = int(time.time() // window_seconds)
    cache_key = f"throttle:{key}:{bucket}"
    cache.add(cache_key, 0, timeout=window_seconds + 5)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # evicted between add and incr
        cache.set(cache_key, 1, timeout=window_seconds + 5)
        count = 1
    return count <= limit


def retry_after(window_seconds: int) -> int:
    return window_seconds - int(time.time() % window_seconds)
