"""The read-only JSON API: stores' health, and one write, "check now".

Plain Django views. Every request needs `Authorization: Bearer <token>` with
an active API token created by staff in the admin. Nothing here ever reads a
credential: stores come with their latest check, never with their keys.
"""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from django.contrib.admin.models import CHANGE, LogEntry
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from stores import selectors
from stores.models import PROFILE_COLUMNS, Check, Store
from stores.services import CheckRequest, store_check_request
from stores.status import StoreStatus

from .tokens import api_token_authenticate

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


def error(status: int, code: str, message: str, **headers) -> JsonResponse:
    response = JsonResponse({"error": {"code": code, "message": message}}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def token_required(view):
    """401 without `Authorization: Bearer <token>`, or with a bad or revoked token."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
        token = api_token_authenticate(raw.strip()) if scheme.lower() == "bearer" else None
        if token is None:
            return error(
                401,
                "unauthorized",
                "Send an active API token as “Authorization: Bearer <token>”. Staff create tokens in the admin.",
                WWW_Authenticate='Bearer realm="violet-connect"',
            )
        request.api_token = token
        return view(request, *args, **kwargs)

    return wrapper


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


def _positive_int(request: HttpRequest, name: str, default: int) -> int | None:
    raw = request.GET.get(name, "")
    if raw == "":
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


@never_cache
@require_GET
@token_required
def store_list(request: HttpRequest) -> JsonResponse:
    """GET /api/v1/stores/?status=&merchant=&page=&page_size=

    `status` takes one status or several, comma-separated, or `broken`;
    `merchant` a merchant's slug. Ordered by creation (id), so pages are stable.
    """
    queryset = _stores()
    status = request.GET.get("status", "").strip()
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
    merchant = request.GET.get("merchant", "").strip()
    if merchant:
        queryset = queryset.filter(merchant__slug=merchant)
    page = _positive_int(request, "page", 1)
    page_size = _positive_int(request, "page_size", DEFAULT_PAGE_SIZE)
    if page is None or page > MAX_PAGE:
        return error(400, "bad_page", f"page must be a whole number from 1 to {MAX_PAGE}.")
    if page_size is None or page_size > MAX_PAGE_SIZE:
        return error(400, "bad_page_size", f"page_size must be a whole number from 1 to {MAX_PAGE_SIZE}.")
    count = queryset.count()
    offset = (page - 1) * page_size
    stores = list(queryset.order_by("id")[offset : offset + page_size])
    latest = selectors.latest_checks_by_store([store.pk for store in stores])
    return JsonResponse(
        {
            "count": count,
            "page": page,
            "page_size": page_size,
            "next": _page_url(request, page + 1) if offset + page_size < count else None,
            "previous": _page_url(request, page - 1) if page > 1 else None,
            "results": [store_json(request, store, latest.get(store.pk)) for store in stores],
        }
    )


def _store_or_404(store_hash: str) -> Store | None:
    return _stores().filter(store_hash=store_hash).first()


def _not_found(store_hash: str) -> JsonResponse:
    return error(404, "not_found", f"No store with hash “{store_hash}”.")


@never_cache
@require_GET
@token_required
def store_detail(request: HttpRequest, store_hash: str) -> JsonResponse:
    """GET /api/v1/stores/<store_hash>/: one store's health and its recent status changes."""
    store = _store_or_404(store_hash)
    if store is None:
        return _not_found(store_hash)
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
    return JsonResponse(body)


@csrf_exempt  # token-authenticated, no cookies involved
@never_cache
@require_POST
@token_required
def store_check(request: HttpRequest, store_hash: str) -> JsonResponse:
    """POST /api/v1/stores/<store_hash>/check/: queue a fresh check (202).

    409 when the store is paused or disconnected (never checked), or when a
    check of it is already in flight (its result is coming anyway).
    """
    store = _store_or_404(store_hash)
    if store is None:
        return _not_found(store_hash)
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
    token = request.api_token
    if token.created_by_id is not None:
        LogEntry.objects.log_actions(
            user_id=token.created_by_id,
            queryset=[store],
            action_flag=CHANGE,
            change_message=(f"Queued a check through the JSON API (token “{token.name}”, {token.display_prefix})."),
            single_object=True,
        )
    return JsonResponse(
        {
            "queued": True,
            "store_hash": store.store_hash,
            "url": request.build_absolute_uri(reverse("api:store_detail", args=[store.store_hash])),
        },
        status=202,
    )
