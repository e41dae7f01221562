"""Which answers from BigCommerce to Violet's own traffic are signals.

A service calling BigCommerce (through the proxy, or directly with released
credentials) sees the store's answers long before the next scheduled check.
An answer the check rules would call definitive is a *signal*: it queues the
store's confirming full check at once (`stores.services.traffic`). It never
flips a status: the check decides (`stores.lifecycle`).

The rules are the checks' own (`stores.bigcommerce.probes`), applied to one
call of any path:

1. `invalid_token`: a 401, unless its body is BigCommerce's scope error (an
   older wording of it came on 401s: then rule 2).
2. `missing_scope`: a 403 (or 401) whose body is BigCommerce's scope error,
   on a path whose required scope the store is believed to have
   (`scopes.scope_for_call`; not in the store's `missing_scopes`). A scope
   error on a path Violet does not ask a scope for, or on a write where it
   asks only to read, tells nothing new.
3. `store_not_found`: a 404 on `GET /v2/time` (it exists on every store), or
   a 404 whose body says the store is unknown. A 404 of a route or of a
   resource is the caller's business.

Anything else is not a signal: 2xx/3xx, 400/422, a 403 that is not the scope
error (a platform limit, a wrong URL: `forbidden` in a check, but nothing a
check after one real call would learn), 404 of a resource, 429, 5xx, 503
(the store's or one service's: transient or an incident's business).

Pure and cheap (no database, no clock): the proxy calls
`answer_is_definitive` in its event loop for every answer it passes back.
`report_problem` is the reporting API's input rule.
"""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum

from .bigcommerce.client import normalise_path
from .bigcommerce.probes import BASELINE, is_scope_error, is_store_404
from .bigcommerce.scopes import scope_for_call
from .status import StoreStatus

# What a reported call may carry (the API refuses more, the proxy cuts its excerpt to this).
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"})
MAX_PATH = 2000
MAX_EXCERPT = 1000  # what a report may send
KEPT_EXCERPT = 300  # what a signal keeps
KEPT_PATH = 500


class SignalKind(StrEnum):
    INVALID_TOKEN = "invalid_token"
    MISSING_SCOPE = "missing_scope"
    STORE_NOT_FOUND = "store_not_found"


# The status a confirmed signal of each kind would lead to (the checks'
# `lifecycle.DEFINITIVE_STATUS` for the matching outcome). A store already
# there learns nothing from it.
STATUS_OF_KIND: dict[SignalKind, StoreStatus] = {
    SignalKind.INVALID_TOKEN: StoreStatus.REVOKED,
    SignalKind.MISSING_SCOPE: StoreStatus.MISSING_SCOPES,
    SignalKind.STORE_NOT_FOUND: StoreStatus.REVOKED,
}


def api_path(path: str) -> str | None:
    """`path` as the store API's normalised path (`/v3/catalog/products`), or
    None when it is not a v2/v3 path of the store API. Takes what the proxy
    and the services have: with or without the leading slash, with a query."""
    if not isinstance(path, str) or "\x00" in path or len(path) > MAX_PATH:
        return None
    try:
        return normalise_path(path)
    except ValueError:
        return None


def answer_is_definitive(
    status: int,
    path: str,
    body_excerpt: bytes | str | None,
    store_missing_scopes: Collection[str] = (),
    *,
    method: str,
) -> SignalKind | None:
    """The kind of signal this answer is, or None (see the module's rules).

    `path`: the store API path called (`v3/catalog/products?limit=1` or
    `/v3/...`). `body_excerpt`: the start of the answer's body (a few hundred
    bytes are plenty: error bodies are short; a NUL or a cut JSON is fine).
    `store_missing_scopes`: the scope parameters the store is known to lack
    (`Store.missing_scopes`). `method`: the call's, upper case or not (a
    write to a read-only scope's path is refused by design).
    """
    if status not in (401, 403, 404):  # nearly every answer: no parsing at all
        return None
    route = api_path(path)
    if route is None:
        return None
    if status == 401 and not is_scope_error(body_excerpt):
        return SignalKind.INVALID_TOKEN
    if status in (401, 403):
        if not is_scope_error(body_excerpt):
            return None
        scope = scope_for_call(str(method), route)
        if scope is None or scope in store_missing_scopes:
            return None
        return SignalKind.MISSING_SCOPE
    if status == 404:
        if route.split("?", 1)[0] == BASELINE.path or is_store_404(body_excerpt):
            return SignalKind.STORE_NOT_FOUND
    return None


def report_problem(*, status: object, method: object, path: object, excerpt: object) -> str | None:
    """What is wrong with a reported call, in words for the reporting service;
    None when it may be recorded. NUL characters are refused in the method and
    the path (no real call has them) and dropped from the excerpt by the
    recorder (bodies may hold anything)."""
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        return "status must be the HTTP status BigCommerce answered, a whole number from 100 to 599."
    if not isinstance(method, str) or method.upper() not in METHODS:
        return f"method must be one of {', '.join(sorted(METHODS))}."
    if not isinstance(path, str) or api_path(path) is None:
        return (
            "path must be the store API path called, starting with /v2/ or /v3/ "
            f"(e.g. /v3/catalog/products), at most {MAX_PATH} characters, without '..' or NUL."
        )
    if not isinstance(excerpt, str) or len(excerpt) > MAX_EXCERPT:
        return f"excerpt must be text of at most {MAX_EXCERPT} characters (the start of BigCommerce's answer)."
    return None
