"""passthrough.RequestBody: a request body passed on as the ASGI server
delivers it, never held whole, and never finished when it should not be
(tests/api/test_proxy.py runs it between real servers)."""

from __future__ import annotations

import asyncio

import pytest

from stores.bigcommerce.passthrough import BodyAborted, RequestBody


def receiving(*messages):
    """An ASGI `receive` that hands out `messages`, then counts what was asked."""
    queue = list(messages)
    asked = []

    async def receive():
        asked.append(1)
        return queue.pop(0)

    receive.asked = asked
    return receive


def chunk(body: bytes, more: bool = True) -> dict:
    return {"type": "http.request", "body": body, "more_body": more}


def drain(body: RequestBody) -> list[bytes]:
    async def run():
        return [piece async for piece in body]

    return asyncio.run(run())


def test_nothing_is_read_until_it_is_iterated():
    receive = receiving(chunk(b"x", more=False))
    RequestBody(receive, limit=10)
    assert receive.asked == []


def test_the_chunks_pass_as_they_come_empty_ones_skipped():
    body = RequestBody(receiving(chunk(b"ab"), chunk(b""), chunk(b"cd", more=False)), limit=10)
    body.length = 4
    assert drain(body) == [b"ab", b"cd"] and body.failure is None and body.received == 4


def test_chunked_passes_up_to_the_limit_and_is_abandoned_past_it():
    body = RequestBody(receiving(chunk(b"x" * 10, more=False)), limit=10)
    assert drain(body) == [b"x" * 10]
    past = RequestBody(receiving(chunk(b"x" * 6), chunk(b"x" * 5), chunk(b"", more=False)), limit=10)
    seen = []

    async def run():
        async for piece in past:
            seen.append(piece)

    with pytest.raises(BodyAborted):
        asyncio.run(run())
    assert past.failure == "too_large" and seen == [b"x" * 6]  # the chunk that crossed never passed


@pytest.mark.parametrize(
    ("messages", "failure"),
    [
        ((chunk(b"abc"), chunk(b"de", more=False)), "length_mismatch"),  # more than declared
        ((chunk(b"ab"), chunk(b"", more=False)), "length_mismatch"),  # less, yet "finished"
        ((chunk(b"ab"), {"type": "http.disconnect"}), "client_gone"),
    ],
)
def test_a_body_that_is_not_its_declared_length_never_finishes(messages, failure):
    body = RequestBody(receiving(*messages), limit=100)
    body.length = 4
    with pytest.raises(BodyAborted):
        drain(body)
    assert body.failure == failure


def test_it_is_read_once_never_replayed():
    body = RequestBody(receiving(chunk(b"ab", more=False)), limit=100)
    drain(body)
    with pytest.raises(BodyAborted):
        drain(body)


def test_a_body_that_stalls_is_abandoned_after_its_idle_timeout():
    """A client that sends a piece and then nothing: without the timeout the
    upstream connection would wait on it for ever."""
    stalled = asyncio.Event()

    async def receive():
        if not stalled.is_set():
            stalled.set()
            return chunk(b"ab")
        await asyncio.sleep(3600)

    body = RequestBody(receive, limit=100, idle_timeout=0.05)
    body.length = 4

    async def run():
        return await asyncio.wait_for(drain_async(body), timeout=5)

    with pytest.raises(BodyAborted):
        asyncio.run(run())
    assert body.failure == "client_idle" and body.received == 2


def test_a_slow_body_within_its_idle_timeout_passes():
    pieces = [chunk(b"ab"), chunk(b"cd", more=False)]

    async def receive():
        await asyncio.sleep(0.02)
        return pieces.pop(0)

    body = RequestBody(receive, limit=100, idle_timeout=0.5)
    body.length = 4
    assert drain(body) == [b"ab", b"cd"] and body.failure is None


async def drain_async(body: RequestBody) -> list[bytes]:
    return [piece async for piece in body]


@pytest.mark.parametrize(
    "after",
    [{"type": "http.disconnect"}, chunk(b"x", more=False), "stall"],
    ids=["client-gone", "surplus", "stall"],
)
def test_the_chunk_that_completes_a_declared_length_waits_for_the_body_s_end(after):
    """An ASGI server may hand over the last declared bytes with `more_body`
    still true and only then say the body ended (hypercorn does: its empty
    closing message). Passed on at once, that chunk would complete the request
    upstream — BigCommerce acting on it — however the body then fails; so it
    passes only once the body is known to have ended."""
    messages = [chunk(b"ab"), chunk(b"cd")]

    async def receive():
        if messages:
            return messages.pop(0)
        if after == "stall":
            await asyncio.sleep(3600)
        return after

    body = RequestBody(receive, limit=100, idle_timeout=0.05)
    body.length = 4
    seen = []

    async def run():
        async for piece in body:
            seen.append(piece)

    with pytest.raises(BodyAborted):
        asyncio.run(run())
    assert seen == [b"ab"] and body.received >= 4  # the completing chunk never passed

    ended = RequestBody(receiving(chunk(b"ab"), chunk(b"cd"), chunk(b""), chunk(b"", more=False)), limit=100)
    ended.length = 4
    assert drain(ended) == [b"ab", b"cd"] and ended.failure is None
