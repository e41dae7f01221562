"""Who is calling the JSON API, and may they do this?

Every endpoint names the one scope it needs (`BearerAuth("stores:read")`).
`Authorization: Bearer <secret>` carries either a staff API token (`vc_…`,
api/tokens.py: a person's key, which holds `STAFF_TOKEN_SCOPES`) or a service
client's secret (`vcs_…`, api/service_clients.py: a machine's key, which holds
the scopes staff gave it).

- no secret, an unknown, revoked or expired one → 401 (`Unauthorized`);
- a good secret without the scope, or from outside the client's networks →
  403 (`Forbidden`): the caller is known, asking again will not help.

`authenticate_request` is the rule, usable by any view (plain Django or
ninja); `aauthenticate_request` the same from an async view; `BearerAuth` is
its ninja wrapper.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from asgiref.sync import sync_to_async
from django.http import HttpRequest
from django.views.decorators.debug import sensitive_variables
from ninja.security import HttpBearer

from config.client_address import client_ip

from . import service_clients
from .models import ApiToken, ServiceClient
from .scopes import STAFF_TOKEN_SCOPES
from .tokens import TOKEN_PREFIX, api_token_authenticate


class Unauthorized(Exception):
    """No caller: the API answers 401."""


class Forbidden(Exception):
    """A known caller that may not do this: the API answers 403 with this message."""


@dataclass(frozen=True)
class Caller:
    """A staff token or a service client, as the views see it."""

    name: str
    scopes: frozenset[str]
    token: ApiToken | None = None
    client: ServiceClient | None = None
    address: str = field(default="")

    @property
    def label(self) -> str:
        if self.client is not None:
            return f"service client “{self.client.name}”"
        return f"token “{self.token.name}”, {self.token.display_prefix}"


def bearer_secret(request: HttpRequest) -> str:
    # META, not `request.headers`: the same value, without building every header's mapping.
    scheme, _, raw = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return raw.strip() if scheme.lower() == "bearer" else ""


@sensitive_variables("raw")
def authenticate(raw: str, *, address: str, scope: str) -> Caller:
    """The caller holding `raw`, if it may use `scope` from `address`; raises
    `Unauthorized` or `Forbidden` otherwise."""
    raw = raw.strip()
    if raw.startswith(service_clients.SECRET_PREFIX):
        client = service_clients.service_client_authenticate(raw)
        if client is None:
            raise Unauthorized
        caller = Caller(name=client.name, scopes=frozenset(client.scopes), client=client, address=address)
        if not service_clients.address_allowed(client, address):
            raise Forbidden(f"Service client “{client.name}” may not call from {address or 'this address'}.")
    elif raw.startswith(TOKEN_PREFIX):
        token = api_token_authenticate(raw)
        if token is None:
            raise Unauthorized
        caller = Caller(name=token.name, scopes=STAFF_TOKEN_SCOPES, token=token, address=address)
    else:
        raise Unauthorized
    if scope not in caller.scopes:
        raise Forbidden(f"This needs the scope “{scope}”, which {caller.label} does not have.")
    return caller


def authenticate_request(request: HttpRequest, scope: str) -> Caller:
    return authenticate(bearer_secret(request), address=client_ip(request), scope=scope)


async def aauthenticate_request(request: HttpRequest, scope: str) -> Caller:
    """The same rule from an async view (the proxy): its one or two queries run
    in Django's sync thread. ninja's async operations call `BearerAuth` this way
    by themselves."""
    return await sync_to_async(authenticate_request)(request, scope)


class BearerAuth(HttpBearer):
    """ninja's bearer scheme (so the OpenAPI document says how to call), one scope per endpoint."""

    def __init__(self, scope: str):
        super().__init__()
        self.scope = scope

    @sensitive_variables("token")
    def authenticate(self, request: HttpRequest, token: str) -> Caller:
        return authenticate(token, address=client_ip(request), scope=self.scope)
