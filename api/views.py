"""The JSON API for Violet's services, on django-ninja: stores' health, "check
now", and (with their own scope) a store's credentials.

Every endpoint names the scope it needs (`api.auth.BearerAuth`). The bodies are
`api/schemas.py`; the OpenAPI 3.1 document generated from them is served at
`/api/v1/openapi.json` (no interactive docs page: it would load scripts from a
CDN our CSP refuses, and the document is what a service needs).
"""


from urllib.parse import urlencode

import orjson
from django.conf import settings
from django.contrib.admin.models import CHANGE, LogEntry
from django.http import HttpRequest, HttpResponseNotModified, JsonResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from ninja import NinjaAPI, Status
from ninja.decorators import decorate_view
from ninja.errors import AuthenticationError

from config import throttle
from stores import events as store_events
from stores import selectors
from stores.models import PROFILE_COLUMNS, Check, Store, TrafficSignal
from stores.services import CheckRequest, store_check_request
from stores.services.traffic import SignalCheck, traffic_signal_record
from stores.status import StoreStatus
from stores.traffic_rule import report_problem

from . import schemas
from .auth import BearerAuth, Forbidden, Unauthorized
from .proxy import openapi_paths as proxy_openapi_paths
from .releases import Outcome, credentials_release
from .scopes import CHECKS_WRITE, CREDENTIALS_READ, EVENTS_READ, STORES_READ

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_PAGE = 1_000_000  # beyond any fleet; keeps OFFSET within a 64-bit integer
# The profile's columns (never `profile`, the raw JSON).
PROFILE_FIELDS = tuple(PROFILE_COLUMNS.values())
# Store columns the API reads: never `profile` (raw JSON) nor the claim.
STORE_FIELDS = (
    "id",
    "store_hash",
    "status",
    "status_changed_at",
    "connected_at",
    "created_at",
    "last_checked_at",
    "next_check_at",
    "problem",
    "missing_scopes",
    "profile_updated_at",
    *PROFILE_FIELDS,
    "merchant__id",
    "merchant__name",
    "merchant__slug",
)
# The answers every endpoint may give besides its own.
AUTH_ERRORS = {401: schemas.Error, 403: schemas.Error}

class VioletAPI(NinjaAPI):
    def get_openapi_schema(self, **kwargs):
        """ninja's document, plus the BigCommerce proxy (a plain async view: api/proxy.py)."""
        schema = super().get_openapi_schema(**kwargs)
        schema["paths"].update(proxy_openapi_paths("#/components/schemas/Error"))
        return schema


api = VioletAPI(
    title="Violet Connect API",
    version="1",
    description="Stores' health and credentials for Violet's services. "
    "Send `Authorization: Bearer <secret>` (a service client's secret, or a staff API token).",
    urls_namespace="api",
    openapi_url="/openapi.json",
    docs_url=None,
)


def error(status: int, code: str, message: str, **headers) -> JsonResponse:
    response = JsonResponse({"error": {"code": code, "message": message}}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


@api.exception_handler(Unauthorized)
@api.exception_handler(AuthenticationError)
def _unauthorized(request: HttpRequest, exc: Exception) -> JsonResponse:
    return error(
        401,
        "unauthorized",
        "Send an active API token or service client secret as “Authorization: Bearer <secret>”. "
        "Staff create them in the admin.",
        WWW_Authenticate='Bearer realm="violet-connect"',
    )


@api.exception_handler(Forbidden)
def _forbidden(request: HttpRequest, exc: Forbidden) -> JsonResponse:
    return error(403, "forbidden", str(exc))


def _iso(value):
    return value.isoformat() if value else None


def check_json(check: Check | None) -> dict | None:
    if check is None:
        return None
    return {
        "started_at": _iso(check.started_at),
        "trigger": check.trigger,
        "outcome": check.outcome,
        "duration_ms": check.duration_ms,
        "scopes": dict(check.scopes),
        "problems": [
            {
                "field": p.get("field", ""),
                "code": p.get("code", ""),
                "message": p.get("message", ""),
            }
            for p in check.problems
        ],
    }


def store_json(request: HttpRequest, store: Store, check: Check | None) -> dict:
    profile = {name: getattr(store, name) for name in PROFILE_FIELDS}
    profile["secure_url"], profile["control_panel_url"] = store.storefront_link, store.control_panel_link
    profile["updated_at"] = _iso(store.profile_updated_at)
    return {
        "store_hash": store.store_hash,
        "url": request.build_absolute_uri(reverse("api:store_detail", args=[store.store_hash])),
        "name": store.name,
        "domain": store.domain,
        "merchant": {"slug": store.merchant.slug, "name": store.merchant.name},
        "status": store.status,
        "status_label": StoreStatus(store.status).label,
        "status_changed_at": _iso(store.status_changed_at),
        "problem": store.problem,
        "missing_scopes": list(store.missing_scopes),
        "connected_at": _iso(store.connected_at),
        "created_at": _iso(store.created_at),
        "last_checked_at": _iso(store.last_checked_at),
        "next_check_at": _iso(store.next_check_at),
        "profile": profile,
        "latest_check": check_json(check),
    }


def _stores():
    return Store.objects.select_related("merchant").only(*STORE_FIELDS)


def _positive_int(raw: str | None, default: int) -> int | None:
    if raw is None or raw == "":
        return default
    # ASCII digits only: int() also reads "١٢", " 12 " and "1_2".
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:
        return None
    value = int(raw)
    return value if value >= 1 else None


def _page_url(request: HttpRequest, page: int) -> str:
    params = request.GET.copy()
    params["page"] = str(page)
    return request.build_absolute_uri(f"{request.path}?{urlencode(sorted(params.items()))}")


# The query parameters are taken as text and read here, so a bad one gets this
# API's own 400 and code (not a generic validation error).
@api.get(
    "/stores/",
    url_name="store_list",
    auth=BearerAuth(STORES_READ),
    response={200: schemas.StorePage, 400: schemas.Error, **AUTH_ERRORS},
    summary="List stores and their health",
)
@decorate_view(never_cache)
def store_list(
    request: HttpRequest,
    status: str | None = None,
    merchant: str | None = None,
    page: str | None = None,
    page_size: str | None = None,
):
    """`status` takes one status or several, comma-separated, or `broken`;
    `merchant` a merchant's slug. Ordered by creation (id), so pages are stable.
    `page` from 1; `page_size` from 1 to 200 (default 50)."""
    queryset = _stores()
    status = (status or "").strip()
    if status:
        wanted = set()
        for value in (s.strip() for s in status.split(",") if s.strip()):
            if value == "broken":
                wanted.update(selectors.broken_values())
            elif value in StoreStatus.values:
                wanted.add(value)
            else:
                return error(
                    400,
                    "bad_status",
                    f"Unknown status “{value}”. Use one of: {', '.join(StoreStatus.values)}, or broken.",
                )
        queryset = queryset.filter(status__in=sorted(wanted))
    merchant = (merchant or "").strip()
    if merchant:
        queryset = queryset.filter(merchant__slug=merchant)
    page_number = _positive_int(page, 1)
    size = _positive_int(page_size, DEFAULT_PAGE_SIZE)
    if page_number is None or page_number > MAX_PAGE:
        return error(400, "bad_page", f"page must be a whole number from 1 to {MAX_PAGE}.")
    if size is None or size > MAX_PAGE_SIZE:
        return error(400, "bad_page_size", f"page_size must be a whole number from 1 to {MAX_PAGE_SIZE}.")
    count = queryset.count()
    offset = (page_number - 1) * size
    stores = list(queryset.order_by("id")[offset : offset + size])
    latest = selectors.latest_checks_by_store([store.pk for store in stores])
    return {
        "count": count,
        "page": page_number,
        "page_size": size,
        "next": _page_url(request, page_number + 1) if offset + size < count else None,
        "previous": _page_url(request, page_number - 1) if page_number > 1 else None,
        "results": [store_json(request, store, latest.get(store.pk)) for store in stores],
    }


def _store_or_none(store_hash: str) -> Store | None:
    return _stores().filter(store_hash=store_hash).first()


def not_found(store_hash: str) -> JsonResponse:
    return error(404, "not_found", f"No store with hash “{store_hash}”.")


@api.get(
    "/stores/{store_hash}/",
    url_name="store_detail",
    auth=BearerAuth(STORES_READ),
    response={200: schemas.StoreDetailOut, 404: schemas.Error, **AUTH_ERRORS},
    summary="One store's health and its recent status changes",
)
@decorate_view(never_cache)
def store_detail(request: HttpRequest, store_hash: str):
    store = _store_or_none(store_hash)
    if store is None:
        return not_found(store_hash)
    body = store_json(request, store, selectors.latest_check(store))
    body["status_changes"] = [
        {
            "at": _iso(change.created_at),
            "old_status": change.old_status,
            "new_status": change.new_status,
            "reason": change.reason,
        }
        for change in selectors.recent_status_changes(store)
    ]
    return body


@api.post(
    "/stores/{store_hash}/check/",
    url_name="store_check",
    auth=BearerAuth(CHECKS_WRITE),
    response={202: schemas.CheckQueued, 404: schemas.Error, 409: schemas.Error, **AUTH_ERRORS},
    summary="Queue a fresh check of a store",
)
@decorate_view(never_cache)
def store_check(request: HttpRequest, store_hash: str):
    """202 once queued. 409 when the store is paused or disconnected (never
    checked), or when a check of it is already in flight (its result is coming
    anyway). No CSRF token: the caller proves itself with its bearer secret,
    never a cookie."""
    store = _store_or_none(store_hash)
    if store is None:
        return not_found(store_hash)
    result = store_check_request(store=store, trigger=Check.Trigger.API)
    if result.answer == CheckRequest.Answer.NOT_CHECKED:
        return error(
            409,
            "not_checked",
            f"The store is {result.reason.label.lower()}: Violet does not check it.",
        )
    if result.answer == CheckRequest.Answer.IN_FLIGHT:
        return error(
            409,
            "check_in_flight",
            "A check of this store is already in flight; its result is coming.",
        )
    caller = request.auth
    if caller.token is not None and caller.token.created_by_id is not None:
        LogEntry.objects.log_actions(
            user_id=caller.token.created_by_id,
            queryset=[store],
            action_flag=CHANGE,
            change_message=f"Queued a check through the JSON API ({caller.label}).",
            single_object=True,
        )
    return Status(
        202,
        {
            "queued": True,
            "store_hash": store.store_hash,
            "url": request.build_absolute_uri(reverse("api:store_detail", args=[store.store_hash])),
        },
    )


SIGNAL_MESSAGES = {
    SignalCheck.QUEUED: "Recorded; the store's check is queued. The check decides its status.",
    SignalCheck.ALREADY_QUEUED: "Recorded; a check of the store was already queued by a recent signal.",
    SignalCheck.ALREADY_KNOWN: "Recorded; the store's status already says so: no check queued.",
    SignalCheck.NOT_CHECKED: "Recorded; the store is paused or disconnected: Violet does not check it.",
    SignalCheck.NOT_A_SIGNAL: "Not a signal (not a 401, a scope error on a scope the store should have, "
    "or an unknown store): nothing recorded.",
}


@api.post(
    "/stores/{store_hash}/signals/",
    url_name="store_signals",
    auth=BearerAuth(CHECKS_WRITE),
    response={202: schemas.SignalOut, 400: schemas.Error, 404: schemas.Error, 429: schemas.Error, **AUTH_ERRORS},
    summary="Report an answer BigCommerce gave your direct call (a traffic signal)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schemas.SignalIn.model_json_schema()}},
        },
        "responses": {
            429: {"headers": {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}}},
        },
    },
)
@decorate_view(never_cache)
def store_signals(request: HttpRequest, store_hash: str):
    """For services that call BigCommerce directly with released credentials:
    report an answer that may mean the credentials stopped working (a 401, a
    403 scope error, an unknown store). Send what BigCommerce answered — the
    status, your method and store API path, the start of its body — never the
    token. A definitive answer is recorded and queues the store's full check
    at once (at most once a minute per store); anything else is answered
    `recorded: false` and kept nowhere. Nothing flips a status but the check
    (docs/traffic-signals.md). 400 names what is wrong with the body."""
    caller = request.auth
    try:
        body = orjson.loads(request.body or b"null")
    except orjson.JSONDecodeError:
        return error(400, "bad_body", "Send a JSON object: {status, method, path, excerpt}.")
    if not isinstance(body, dict):
        return error(400, "bad_body", "Send a JSON object: {status, method, path, excerpt}.")
    fields = {name: body.get(name) for name in ("status", "method", "path")}
    fields["excerpt"] = body.get("excerpt", "")
    problem = report_problem(**fields)
    if problem is not None:
        return error(400, "bad_signal", problem)
    store = Store.objects.only("id", "store_hash", "status", "missing_scopes").filter(store_hash=store_hash).first()
    if store is None:
        return not_found(store_hash)
    key = f"signals:{caller.client.pk if caller.client else 'token-' + str(caller.token.pk)}"
    limit, window = settings.TRAFFIC_SIGNAL_RATE_LIMIT, settings.TRAFFIC_SIGNAL_RATE_WINDOW_SECONDS
    if not throttle.allow(key, limit=limit, window_seconds=window):
        retry = max(1, throttle.retry_after(key, limit=limit, window_seconds=window))
        return error(429, "rate_limited", f"Too many signals; try again in {retry} s.", Retry_After=str(retry))
    outcome = traffic_signal_record(
        store,
        status=fields["status"],
        method=fields["method"],
        path=fields["path"],
        excerpt=fields["excerpt"],
        source_client=caller.client,
        via=TrafficSignal.Via.REPORT,
    )
    return Status(
        202,
        {
            "store_hash": store.store_hash,
            "recorded": outcome.recorded,
            "kind": str(outcome.kind) if outcome.kind else None,
            "check": str(outcome.check),
            "check_queued_at": _iso(outcome.check_queued_at),
            "message": SIGNAL_MESSAGES[outcome.check],
        },
    )


@api.get(
    "/stores/{store_hash}/credentials/",
    url_name="store_credentials",
    auth=BearerAuth(CREDENTIALS_READ),
    response={
        200: schemas.CredentialsOut,
        304: None,
        404: schemas.Error,
        409: schemas.NotUsable,
        429: schemas.Error,
        **AUTH_ERRORS,
    },
    summary="A store's credentials, for one of Violet's services (recorded)",
    openapi_extra={
        # Merged into ninja's own (integer-keyed) responses.
        "responses": {
            200: {"headers": {"ETag": {"description": "The version, quoted.", "schema": {"type": "string"}}}},
            304: {"headers": {"ETag": {"description": "The unchanged version, quoted.", "schema": {"type": "string"}}}},
            429: {"headers": {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}}},
        },
        "parameters": [
            {
                "in": "header",
                "name": "If-None-Match",
                "required": False,
                "description": "The version you hold, quoted: 304 while it is still current.",
                "schema": {"type": "string"},
            }
        ],
    },
)
@decorate_view(never_cache)
@sensitive_variables("answer", "released", "body", "response")
def store_credentials(request: HttpRequest, store_hash: str):
    """The store's Client ID and Access token, with their `version` (also the
    `ETag`). Send `If-None-Match: "<version>"` to poll: 304, no body, while they
    have not changed. 409 (with the store's status, no secret) when the store
    cannot be used: revoked, refused, disconnected or pending. 429 with
    `Retry-After` over the client's rate limit. Every 200 is recorded (client,
    store, version, address, time) and shown to staff and to the merchant."""
    caller = request.auth
    if caller.client is None:  # staff tokens never hold credentials:read; belt and braces
        raise Forbidden("Only service clients receive credentials.")
    answer = credentials_release(
        client=caller.client,
        store_hash=store_hash,
        address=caller.address,
        if_none_match=request.headers.get("If-None-Match", ""),
    )
    if answer.outcome == Outcome.NOT_FOUND:
        return not_found(store_hash)
    if answer.outcome == Outcome.NOT_USABLE:
        return JsonResponse(
            {
                "error": {
                    "code": "store_not_usable",
                    "message": f"The store is {StoreStatus(answer.status).label.lower()}: its credentials "
                    "are not released.",
                    "status": answer.status,
                }
            },
            status=409,
        )
    if answer.outcome == Outcome.THROTTLED:
        return error(
            429,
            "rate_limited",
            f"Too many credential releases; try again in {answer.retry_after} s (use If-None-Match to poll).",
            Retry_After=str(answer.retry_after),
        )
    if answer.outcome == Outcome.NOT_MODIFIED:
        not_modified = HttpResponseNotModified()
        not_modified["ETag"] = f'"{answer.version}"'
        return not_modified
    released = answer.credentials
    body = {
        "store_hash": released.store_hash,
        "api_url": released.api_url,
        "client_id": released.client_id,
        "access_token": released.access_token,
        "granted_scopes": released.granted_scopes,
        "scopes_verified_at": _iso(released.scopes_verified_at),
        "status": released.status,
        "version": released.version,
        "last_verified_at": _iso(released.last_verified_at),
    }
    # Answered here, not through ninja's serializer: no frame above this one
    # (unmarked by sensitive_variables) ever holds the token, and no pydantic
    # pass on the hot path. tests/openapi_contract.py holds it to CredentialsOut.
    response = JsonResponse(body)
    response["ETag"] = f'"{released.version}"'
    return response


@api.get(
    "/events/",
    url_name="events",
    auth=BearerAuth(EVENTS_READ),
    response={200: schemas.EventPage, 400: schemas.Error, 410: schemas.Error, **AUTH_ERRORS},
    summary="Follow the store event feed",
)
@decorate_view(never_cache)
def events(request: HttpRequest, after: str | None = None, limit: str | None = None):
    """The store events after the cursor `after` (from the oldest kept, without
    one), oldest first, at most `limit` (1 to 1,000; default 100): connected,
    credentials replaced (with the new version), status changed, scopes
    changed, disconnected, moved. A reader that keeps passing `next_cursor`
    misses none, even when changes commit out of order (docs/events.md). A
    cursor from before the retention (`STORE_EVENT_RETENTION_DAYS`) answers
    410: start again without one."""
    size = _positive_int(limit, store_events.DEFAULT_LIMIT)
    if size is None:
        return error(400, "bad_limit", f"limit must be a whole number from 1 to {store_events.MAX_LIMIT}.")
    try:
        page = store_events.events_page(after=after or None, limit=size)
    except store_events.InvalidFeedQuery as invalid:
        return error(400, "bad_query", str(invalid))
    except store_events.CursorGone:
        return error(
            410,
            "cursor_gone",
            "Events after this cursor were pruned (older than the retention): start again without `after`.",
        )
    return store_events.page_json(page)
