"""The sliding-window throttle: never more than `limit` hits in any span of the window."""

import pytest
from django.core.cache import cache

from config import throttle


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
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
