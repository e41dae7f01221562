"""The ASGI entry point: the `web` process (`gunicorn -c config/gunicorn.conf.py
config.asgi`, uvicorn's workers) and `make run` (uvicorn) serve the portal
through it.

Calls to the BigCommerce proxy (`/api/v1/proxy/…`, api/proxy.py) go to a lean
Django handler: the same URLs and the same async view, without the portal's
middleware (sessions, CSRF, second factor, tenancy, page headers: nothing a
bearer-authenticated machine call uses, and each sync middleware would cost a
thread hop per call) and without a thread of its own per request. Everything
else goes to Django's own ASGI handler, unchanged.
"""

import io
import logging
import os
import re

import django
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.exception import convert_exception_to_response
from django.db import connections
from django.urls import ResolverMatch, get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Under ASGI each sync view runs in a thread of its own request: a connection
# kept past the request would be left behind with its thread (Django's docs:
# no persistent connections under ASGI). The proxy's one sync thread reconnects
# at most once a second (api.proxy.tidy_connection).
os.environ.setdefault("CONN_MAX_AGE", "0")
django.setup(set_prefix=False)

from api import proxy as proxy_view  # noqa: E402 - after setup
from api.proxy_urls import PATTERN as PROXY_ROUTE  # noqa: E402
from stores.bigcommerce.passthrough import RequestBody, UpstreamError  # noqa: E402

logger = logging.getLogger("api.proxy")
PROXY_PATTERN = re.compile("/" + PROXY_ROUTE)



class ProxyHandler(ASGIHandler):
    """Django's ASGI handler for the proxy's calls.

    - No middleware: the view authenticates, refuses and logs by itself.
    - No per-request `ThreadSensitiveContext`: the view's one `sync_to_async`
      hop runs in Django's shared sync thread, whose database connection lives
      on between calls, instead of a new thread (and connection) per call.
    - The body is not read here: the request is made with an empty body
      file, and a call whose method may carry one (not GET or HEAD) gets
      `request.body_stream`, a `RequestBody` over this call's `receive`
      (stores/bigcommerce/passthrough.py): an async iterator of the body's
      chunks as they arrive, at most `PROXY_MAX_REQUEST_BYTES`. The view
      admits the call first and only then hands it to aiohttp, which streams
      it up to BigCommerce; a refused call never reads a byte of it.
    - An answer cut short (BigCommerce's body over `PROXY_MAX_RESPONSE_BYTES`,
      or BigCommerce gone mid-body) ends without its last chunk: the server
      drops the connection and the service sees a broken transfer, never a
      silently shortened body.
    """

    async def _get_response_async(self, request):
        """Django's, with the proxy's one pattern matched here instead of through
        the resolver (the same regex, api/proxy_urls.py); any other path (and a
        path the pattern refuses) goes the resolver's way, to its 404."""
        match = PROXY_PATTERN.fullmatch(request.path_info)
        if match is None:
            return await super()._get_response_async(request)
        kwargs = match.groupdict()
        request.resolver_match = ResolverMatch(proxy_view.proxy, (), kwargs, url_name="proxy", route=PROXY_ROUTE)
        return await proxy_view.proxy(request, **kwargs)

    def load_middleware(self, is_async=False):
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        self._middleware_chain = convert_exception_to_response(self._get_response_async)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"The proxy serves HTTP only, not {scope['type']}.")
        try:
            await self.handle(scope, receive, send)
        except UpstreamError as exc:
            logger.warning("proxy answer cut short", extra={"reason": exc.kind})

    async def handle(self, scope, receive, send):
        """Django's `ASGIHandler.handle` (5.2) without what costs a thread hop
        per call and serves nothing here: the request_started/request_finished
        signals (their receivers tidy the request thread's database
        connection: `api.proxy.tidy_connection` does that for the one sync
        thread the proxy uses) and the task that cancels the view when the
        client goes away (a proxied call is bounded by its own timeouts, and
        a client gone mid-body ends the upstream request: `RequestBody`).
        Nor is the body read first: the view streams it (`request.body_stream`)."""
        request, error_response = self.create_request(scope, io.BytesIO())
        if request is None:
            await self.send_response(error_response, send)
            return
        request.urlconf = "api.proxy_urls"  # its one pattern, not every URL of the portal
        if scope["method"] not in proxy_view.READ_METHODS:
            request.body_stream = RequestBody(
                receive, limit=settings.PROXY_MAX_REQUEST_BYTES, idle_timeout=settings.PROXY_BODY_IDLE_TIMEOUT_SECONDS
            )
        response = await self.run_get_response(request)
        await self.send_response(response, send)


portal = ASGIHandler()
proxy = ProxyHandler()
# Both URL configurations loaded now, not by the first live call of a new worker.
# (Reading `url_patterns` imports every view; `check()` would also run the URL checks.)
_loaded = [get_resolver(urlconf).url_patterns for urlconf in (None, "api.proxy_urls")]


async def application(scope, receive, send):
    if scope["type"] == "lifespan":
        # Nothing to set up; at shutdown the proxy's pooled connections close.
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await proxy_view.close_passthrough()
                # and the sync thread's database connection (the proxy's handler
                # sends no request_finished to close it)
                await sync_to_async(connections.close_all)()
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] == "http" and scope["path"].startswith(proxy_view.PREFIX):
        return await proxy(scope, receive, send)
    return await portal(scope, receive, send)
