"""The JSON API's bodies, as the OpenAPI document describes them.

Times are ISO 8601 strings with their offset (as `datetime.isoformat()` writes
them), documented as `date-time`.
"""

from __future__ import annotations

from typing import Annotated

from ninja import Schema
from pydantic import Field

Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
Url = Annotated[str, Field(json_schema_extra={"format": "uri"})]


class ErrorDetail(Schema):
    code: str
    message: str


class Error(Schema):
    error: ErrorDetail


class Problem(Schema):
    field: str
    code: str
    message: str


class CheckOut(Schema):
    started_at: Timestamp | None
    trigger: str
    outcome: str
    duration_ms: int | None
    scopes: dict[str, str] = Field(description="BigCommerce scope → granted, missing or unknown.")
    problems: list[Problem]


class MerchantOut(Schema):
    slug: str
    name: str


class ProfileOut(Schema):
    name: str
    domain: str
    secure_url: str
    control_panel_url: str
    plan_name: str
    plan_level: str
    plan_is_trial: bool | None
    currency: str
    weight_units: str
    dimension_units: str
    country_code: str
    updated_at: Timestamp | None


class StoreOut(Schema):
    store_hash: str
    url: Url
    name: str
    domain: str
    merchant: MerchantOut
    status: str
    status_label: str
    status_changed_at: Timestamp | None
    problem: str
    missing_scopes: list[str]
    connected_at: Timestamp | None
    created_at: Timestamp | None
    last_checked_at: Timestamp | None
    next_check_at: Timestamp | None
    profile: ProfileOut
    latest_check: CheckOut | None


class StatusChangeOut(Schema):
    at: Timestamp | None
    old_status: str
    new_status: str
    reason: str


class StoreDetailOut(StoreOut):
    status_changes: list[StatusChangeOut]


class StorePage(Schema):
    count: int
    page: int
    page_size: int
    next: Url | None
    previous: Url | None
    results: list[StoreOut]


class CheckQueued(Schema):
    queued: bool
    store_hash: str
    url: Url


class CredentialsOut(Schema):
    store_hash: str
    api_url: Url = Field(description="BIGCOMMERCE_API_URL/stores/<store_hash>/: prefix v2/… or v3/… paths with it.")
    client_id: str
    access_token: str = Field(description="Send as X-Auth-Token. Never log it.")
    granted_scopes: list[str] = Field(
        description="The scopes Violet needs that the last full check found granted (BigCommerce's names)."
    )
    scopes_verified_at: Timestamp | None
    status: str
    version: str = Field(description="Changes whenever the credentials change; also the ETag.")
    last_verified_at: Timestamp | None = Field(description="The store's last check (its status says what it found).")


class NotUsableDetail(ErrorDetail):
    status: str


class NotUsable(Schema):
    error: NotUsableDetail


class StoreEventOut(Schema):
    id: str = Field(description="Stable: a receiver deduplicates on it (the webhook's `webhook-id` too).")
    cursor: str = Field(description="Pass as `after` to read the events after this one.")
    type: str = Field(
        description="connected, credentials_replaced, status_changed, scopes_changed, disconnected or moved."
    )
    created_at: Timestamp
    store_hash: str
    merchant_id: int = Field(description="The merchant when it happened (a moved store's older events keep it).")
    data: dict = Field(description="What changed (docs/events.md); never a secret.")


class EventPage(Schema):
    events: list[StoreEventOut]
    next_cursor: str | None = Field(description="What to pass as `after` next time.")
    has_more: bool = Field(description="More events are ready: ask again at once.")


class SignalIn(Schema):
    status: int = Field(ge=100, le=599, description="The HTTP status BigCommerce answered.")
    method: str = Field(description="GET, HEAD, POST, PUT, PATCH or DELETE.")
    path: str = Field(
        max_length=2000, description="The store API path called, from /v2/ or /v3/ (e.g. /v3/catalog/products)."
    )
    excerpt: str = Field(
        default="", max_length=1000, description="The start of BigCommerce's answer (its error body); no secret."
    )


class SignalOut(Schema):
    store_hash: str
    recorded: bool = Field(description="Whether the answer was a signal, and recorded.")
    kind: str | None = Field(description="invalid_token, missing_scope or store_not_found; null: not a signal.")
    check: str = Field(
        description="queued (this report queued the store's check), already_queued (one was queued within "
        "the minute), already_known (the store's status already says so), not_checked (paused or "
        "disconnected), not_a_signal."
    )
    check_queued_at: Timestamp | None = Field(description="When a signal last queued this store's check.")
    message: str
