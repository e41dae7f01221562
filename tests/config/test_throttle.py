"""The sliding-window throttle: never more than `limit` hits in any span of the window."""

import time

import pytest
from django.core.cache import cache

from config import throttle


@pytest.fixture(autouse=True, params=["memory", "redis"])
def backend(request, settings):
    """Every test on the per-process cache and on Redis (production's: the
    throttle's own one-round-trip path, config.throttle._redis_hit), when the
    run has a Redis (CELERY_BROKER_URL=redis://…, as in .ci/run's second pass)."""
    if request.param == "redis":
        if not settings.CELERY_BROKER_URL.startswith("redis://"):
            pytest.skip("needs Redis (CELERY_BROKER_URL=redis://…)")
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": settings.CELERY_BROKER_URL,
                "KEY_PREFIX": "test-throttle",
            }
        }
    cache.clear()
    yield request.param
    cache.clear()


def test_the_limit_holds_across_the_window_edge():
    window, limit = 900, 10
    # All ten hits in the last second before a fixed window's edge...
    for _ in range(limit):
        assert throttle.allow("k", limit=limit, window_seconds=window, now=899.5)
    # ...and none more just after it: a fixed window would allow ten more here.
    assert not throttle.allow("k", limit=limit, window_seconds=window, now=900.5)
    assert not throttle.allow("k", limit=limit, window_seconds=window, now=1700.0)
    # Once the burst is a whole window old, hits are allowed again.
    wait = throttle.retry_after("k", limit=limit, window_seconds=window, now=900.5)
    assert 899 <= wait <= 931  # the burst, plus at most one 30-second slot
    assert not throttle.allow("k", limit=limit, window_seconds=window, now=900.5 + wait - 2)
    assert throttle.allow("k", limit=limit, window_seconds=window, now=900.5 + wait)


def test_hits_spread_over_the_window_count_together():
    window, limit = 60, 3
    assert throttle.allow("s", limit=limit, window_seconds=window, now=1000)
    assert throttle.allow("s", limit=limit, window_seconds=window, now=1020)
    assert throttle.allow("s", limit=limit, window_seconds=window, now=1040)
    assert not throttle.allow("s", limit=limit, window_seconds=window, now=1055)
    # The first hit left the window (slots of two seconds, counted conservatively).
    assert throttle.allow("s", limit=limit, window_seconds=window, now=1063)


def test_a_refused_hit_is_not_counted():
    for _ in range(2):
        assert throttle.allow("r", limit=2, window_seconds=60, now=0)
    for _ in range(50):
        assert not throttle.allow("r", limit=2, window_seconds=60, now=30)
    assert throttle.allow("r", limit=2, window_seconds=60, now=63)


def test_keys_are_independent():
    assert throttle.allow("a", limit=1, window_seconds=60, now=0)
    assert throttle.allow("b", limit=1, window_seconds=60, now=0)
    assert not throttle.allow("a", limit=1, window_seconds=60, now=1)


def test_concurrent_hits_never_get_past_the_limit():
    """Threads hitting one key at once: the count is an atomic increment, so
    exactly `limit` are allowed, whatever the interleaving. Run with
    CACHE_URL=redis://… (a shared cache, real round trips) a read-then-write
    count fails this; in-process memory hides the race behind the GIL."""
    import threading

    for round_ in range(5):
        key, limit, threads = f"race{round_}", 3, 16
        barrier = threading.Barrier(threads)
        allowed = []

        def hit(key=key, limit=limit, barrier=barrier, allowed=allowed):
            barrier.wait()
            allowed.append(throttle.allow(key, limit=limit, window_seconds=60, now=1000))

        workers = [threading.Thread(target=hit) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert allowed.count(True) == limit, (round_, allowed)


def test_a_slot_counter_always_expires(backend):
    """The counter a hit creates carries its expiry (on Redis, created and
    incremented in one MULTI/EXEC): no key outlives its window."""
    from django.core.cache import caches

    assert throttle.allow("ttl", limit=5, window_seconds=60, now=time.time())
    current, _earlier = throttle._keys("ttl", 60, time.time())
    assert cache.get(current) == 1
    if backend == "redis":
        redis_cache = caches["default"]
        key = redis_cache.make_and_validate_key(current)
        ttl = redis_cache._cache.get_client(key).ttl(key)
        assert 60 < ttl <= 60 + 2 + 5  # the window, a slot, and the margin
