"""Run the sandbox: ``python -m sandbox --port 8100 --write-credentials var/sandbox-credentials/``.

Point the portal at it with ``BIGCOMMERCE_API_URL=http://127.0.0.1:8100``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path

from sandbox import DEMO_FIXTURE
from sandbox.app import make_state, serve, write_credentials
from sandbox.faults import Fault
from sandbox.state import DEFAULT_LOG_SIZE, UNKNOWN_STORE_MODES, V2_TIME_MODES


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox",
        description="A BigCommerce REST API you can run on loopback (Violet Connect sandbox).")
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8100, help="port (0 = any free port)")
    parser.add_argument("--fixture", type=Path, default=DEMO_FIXTURE,
                        help="stores and API accounts to load (default: the demo fixture)")
    parser.add_argument("--no-fixture", action="store_true", help="start with no stores")
    parser.add_argument("--write-credentials", type=Path, metavar="DIR",
                        help="write each API account as BigCommerce's .txt download into DIR")
    parser.add_argument("--latency-ms", type=int, default=0, help="global latency per request")
    parser.add_argument("--enforce-quota", action="store_true",
                        help="answer 429 once a store's rate-limit window is used up")
    parser.add_argument("--bulk", type=int, default=0, metavar="N",
                        help="also create N benchmark stores with one token each")
    parser.add_argument("--bulk-prefix", default="bench", help="hash prefix of --bulk stores")
    parser.add_argument("--log-size", type=int, default=DEFAULT_LOG_SIZE,
                        help="entries kept in the request log")
    parser.add_argument("--allow-http-webhooks", action="store_true",
                        help="accept http:// webhook destinations (BigCommerce wants https)")
    parser.add_argument("--v2-time", choices=V2_TIME_MODES, default="observed",
                        help="GET /v2/time needs no scope (observed) or Information & settings "
                             "(docs)")
    parser.add_argument("--unknown-store", choices=UNKNOWN_STORE_MODES, default="404",
                        help="how an unknown store hash is answered (403: not the scope error; "
                             "403_scope: the scope error)")
    parser.add_argument("--fault", action="append", default=[], metavar="JSON", type=_fault,
                        help="arm a fault on every store, e.g. '{\"kind\": \"degraded\", "
                             "\"path\": \"v3/catalog/products\"}', '{\"kind\": \"rate_limit\", "
                             "\"reset_ms\": 60000}', '{\"kind\": \"plan_limit\", \"path\": "
                             "\"v3/customers\"}' (sandbox/faults.py); repeatable")
    parser.add_argument("--ready-file", type=Path,
                        help="write the base URL into this file once listening")
    parser.add_argument("--quiet", action="store_true", help="print nothing")
    return parser.parse_args(argv)


def _fault(text: str) -> Fault:
    try:
        return Fault.from_dict(json.loads(text))
    except (ValueError, TypeError, AttributeError) as error:
        raise argparse.ArgumentTypeError(f"not a fault: {error}") from None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    state = make_state(None if args.no_fixture else args.fixture, latency_ms=args.latency_ms,
                       enforce_quota=args.enforce_quota, log_size=args.log_size)
    state.settings.allow_http_webhooks = args.allow_http_webhooks
    state.settings.v2_time = args.v2_time
    state.settings.unknown_store = args.unknown_store
    for fault in args.fault:
        state.global_faults.add(fault)
    if args.bulk:
        state.bulk_create(args.bulk, args.bulk_prefix)
    written = write_credentials(state, args.write_credentials) if args.write_credentials else []

    def ready(url: str) -> None:
        if args.ready_file:
            tmp = args.ready_file.with_suffix(".tmp")
            tmp.write_text(url + "\n", encoding="utf-8")
            tmp.replace(args.ready_file)
        if not args.quiet:
            print(f"BigCommerce sandbox listening on {url}", flush=True)
            print(f"  BIGCOMMERCE_API_URL={url}", flush=True)
            print(f"  {len(state.stores)} stores, {len(state.accounts)} API accounts; "
                  f"control API: {url}/_sandbox/health", flush=True)
            if len(state.accounts) <= 20:
                for account in state.accounts.values():
                    store = state.stores[account.store_hash]
                    note = " [maintenance]" if store.maintenance else ""
                    print(f"  {account.store_hash}{note}: {account.client_name!r} "
                          f"scopes={','.join(sorted(account.scopes)) or '-'}", flush=True)
            for path in written:
                print(f"  credentials: {path}", flush=True)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except NotImplementedError:  # pragma: no cover - Windows
                pass
        await serve(state, args.host, args.port, on_ready=ready, stop=stop)

    try:
        asyncio.run(run())
    except KeyboardInterrupt:  # pragma: no cover
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
