"""A BigCommerce you can run: a loopback HTTP server that answers the REST calls
Violet Connect makes, the way BigCommerce answers them.

Modules:

* :mod:`sandbox.scopes`      -- OAuth scope names and what satisfies what.
* :mod:`sandbox.state`       -- stores, API accounts and the in-memory data.
* :mod:`sandbox.faults`      -- injected faults and the per-store rate-limit window.
* :mod:`sandbox.request_schemas` -- request-body validation against schemas vendored
  from BigCommerce's OpenAPI reference (:mod:`sandbox.schema_extract` rebuilds them).
* :mod:`sandbox.bodies`      -- JSON bodies the sandbox answers: store objects and errors.
* :mod:`sandbox.routing`     -- routes, the call an endpoint gets, its reply, and helpers.
* :mod:`sandbox.routes_v2`   -- the ``/stores/{hash}/v2/...`` endpoints.
* :mod:`sandbox.routes_v3`   -- the ``/stores/{hash}/v3/...`` endpoints except webhooks.
* :mod:`sandbox.routes_webhooks` -- the ``/stores/{hash}/v3/hooks`` endpoints.
* :mod:`sandbox.pipeline`    -- every API request: BigCommerce's checks in order, then
  the endpoint.
* :mod:`sandbox.webhooks`    -- signed webhook deliveries to registered hooks.
* :mod:`sandbox.control_api` -- the ``/_sandbox/...`` control interface (server side).
* :mod:`sandbox.app`         -- assembles the aiohttp application.
* :mod:`sandbox.control`     -- a synchronous client for the control interface.
* :mod:`sandbox.testing`     -- ``running_sandbox()`` for tests and benchmarks.

The package never imports Django.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DEMO_FIXTURE = PACKAGE_DIR / "fixtures" / "demo.json"

__all__ = ["DEMO_FIXTURE", "PACKAGE_DIR"]
