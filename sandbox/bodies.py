"""JSON shapes the sandbox answers with: error bodies and store objects.

Error bodies follow BigCommerce's two families (docs/bigcommerce/FACTS.md): v3
``{"status","title","type","instance","errors"}`` and v2 ``[{"status","message"}]``.
Bodies that never change are encoded once, here. BigCommerce's answers (the
scope error, 401, 403, 404, 503, 429, 500 bodies) are read from
``docs/bigcommerce/answers.json``, the file the portal's interpretation is tested
against, so the sandbox cannot drift from what was observed or documented.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

STATUS_DOC = "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes"
ANSWERS_FILE = Path(__file__).resolve().parents[1] / "docs" / "bigcommerce" / "answers.json"
_ANSWERS = {entry["name"]: entry for entry in json.loads(ANSWERS_FILE.read_text("utf-8"))["answers"]}


def answer(name: str) -> Any:
    """The body of the answer called ``name`` in ``docs/bigcommerce/answers.json``."""
    return _ANSWERS[name]["response"]["body"]


def _encoded(name: str) -> bytes:
    body = answer(name)
    return body.encode() if isinstance(body, str) else json.dumps(body).encode()


#: The exact body of a missing-scope 403, as observed on real stores.
SCOPE_403 = answer("scope_error")
SCOPE_403_BODY = _encoded("scope_error")
#: A 403 that is not about scopes (documented: "Operation cannot be performed ...").
FORBIDDEN_403_BODY = _encoded("forbidden_documented")


def dumps(obj: Any) -> bytes:
    """Compact JSON bytes."""
    return json.dumps(obj, separators=(",", ":")).encode()


def v3_error(status: int, title: str, errors: dict[str, str] | None = None,
             instance: str | None = None) -> dict[str, Any]:
    """A v3 error object."""
    body: dict[str, Any] = {"status": status, "title": title, "type": STATUS_DOC,
                            "errors": errors or {}}
    if instance:
        body["instance"] = instance
    return body


def v2_error(status: int, message: str, details: dict[str, Any] | None = None
             ) -> list[dict[str, Any]]:
    """A v2 error list."""
    entry: dict[str, Any] = {"status": status, "message": message}
    if details:
        entry["details"] = details
    return [entry]


def error(version: str, status: int, title: str, errors: dict[str, str] | None = None
          ) -> list[dict[str, Any]] | dict[str, Any]:
    """An error shaped for the API version of the request (``"v2"`` or ``"v3"``)."""
    if version == "v2":
        return v2_error(status, title, {"invalid_reason": errors} if errors else None)
    return v3_error(status, title, errors)


#: Pre-encoded bodies that do not depend on the request.
NOT_FOUND_BODY = {
    "v2": _encoded("not_found_v2_documented"),
    "v3": _encoded("not_found_v3_documented"),
}
UNAUTHORIZED_BODY = _encoded("unauthorized_json")
UNAUTHORIZED_TEXT = _encoded("unauthorized_text")
MAINTENANCE_BODY = {
    "v2": _encoded("maintenance_v2"),
    "v3": _encoded("unavailable_documented"),
}
RATE_LIMITED_BODY = _encoded("rate_limited")
#: Observed: a 429 with an empty body (bigcommerce-api-python issue 116).
RATE_LIMITED_EMPTY_BODY = b""
#: A 507 (a limit of the store's plan) and an unknown store's 404 that names the store.
PLAN_LIMIT_BODY = _encoded("plan_limit_documented")
STORE_NOT_FOUND_BODY = _encoded("store_not_found_assumed")


def degraded(retry_after_seconds: int) -> bytes:
    """One service's 503 ``SERVICE_DEGRADED`` (price lists), retry delay included."""
    return json.dumps({**answer("service_degraded_price_lists"),
                       "retry_after_seconds": retry_after_seconds}).encode()
SLASH_403_BODY = _encoded("slash_403")
SERVER_ERROR_BODY = _encoded("server_error")
GATEWAY_HTML = {
    502: b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1>"
         b"</body></html>",
    503: b"<html><head><title>503 Service Unavailable</title></head><body>"
         b"<h1>503 Service Unavailable</h1></body></html>",
    504: b"<html><head><title>504 Gateway Time-out</title></head><body>"
         b"<h1>504 Gateway Time-out</h1></body></html>",
}


def iso_now() -> str:
    """Now as ISO 8601 with a ``Z`` (v3 dates)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc2822_now() -> str:
    """Now as RFC 2822 (v2 dates, e.g. ``Tue, 05 Mar 2019 21:39:07 +0000``)."""
    return datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")


def pagination(total: int, count: int, per_page: int, page: int) -> dict[str, Any]:
    """v3 ``meta.pagination``."""
    pages = max(1, -(-total // per_page)) if per_page else 1
    links = {"current": f"?page={page}&limit={per_page}"}
    if page < pages:
        links["next"] = f"?page={page + 1}&limit={per_page}"
    if page > 1:
        links["previous"] = f"?page={page - 1}&limit={per_page}"
    return {"pagination": {"total": total, "count": count, "per_page": per_page,
                           "current_page": page, "total_pages": pages, "links": links}}


# -- store objects -----------------------------------------------------------------


def product(data: dict[str, Any]) -> dict[str, Any]:
    """A catalog product (``GET /v3/catalog/products``)."""
    return {
        "id": data["id"],
        "name": data.get("name", f"Product {data['id']}"),
        "type": data.get("type", "physical"),
        "sku": data.get("sku", f"SKU-{data['id']}"),
        "description": data.get("description", ""),
        "weight": data.get("weight", 1.0),
        "width": 0, "depth": 0, "height": 0,
        "price": data.get("price", 10.0),
        "cost_price": 0, "retail_price": 0, "sale_price": 0, "map_price": 0,
        "tax_class_id": 0,
        "categories": data.get("categories", [23]),
        "brand_id": 0,
        "inventory_level": data.get("inventory_level", 0),
        "inventory_tracking": "none",
        "is_visible": data.get("is_visible", True),
        "availability": "available",
        "date_created": data.get("date_created", "2024-01-15T10:00:00+00:00"),
        "date_modified": data.get("date_modified", "2024-01-15T10:00:00+00:00"),
    }


def currency(store_profile: dict[str, Any], data: dict[str, Any] | None = None,
             number: int = 1) -> dict[str, Any]:
    """A currency (``GET /v2/currencies``); the store's default unless ``data`` says otherwise."""
    data = data or {}
    code = data.get("currency_code", store_profile.get("currency", "USD"))
    return {
        "id": data.get("id", number),
        "is_default": data.get("is_default", code == store_profile.get("currency")),
        "last_updated": data.get("last_updated", "2024-01-15T10:00:00Z"),
        "country_iso2": data.get("country_iso2", store_profile.get("country_code", "US")),
        "default_for_country_codes": data.get("default_for_country_codes", []),
        "currency_code": code,
        "currency_exchange_rate": str(data.get("currency_exchange_rate", "1.0000000000")),
        "name": data.get("name", code),
        "token": data.get("token", store_profile.get("currency_symbol", "$")),
        "auto_update": data.get("auto_update", False),
        "token_location": data.get("token_location",
                                   store_profile.get("currency_symbol_location", "left")),
        "decimal_token": data.get("decimal_token", store_profile.get("decimal_separator", ".")),
        "thousands_token": data.get("thousands_token",
                                    store_profile.get("thousands_separator", ",")),
        "decimal_places": data.get("decimal_places", store_profile.get("decimal_places", 2)),
        "enabled": data.get("enabled", True),
        "is_transactional": data.get("is_transactional", True),
        "use_default_name": data.get("use_default_name", False),
    }


def new_customer(customer_id: int, post: dict[str, Any]) -> dict[str, Any]:
    """A customer created from one ``POST /v3/customers`` item."""
    now = iso_now()
    return {
        "id": customer_id,
        "email": post["email"],
        "first_name": post["first_name"],
        "last_name": post["last_name"],
        "company": post.get("company", ""),
        "phone": post.get("phone", ""),
        "notes": post.get("notes", ""),
        "tax_exempt_category": post.get("tax_exempt_category", ""),
        "customer_group_id": post.get("customer_group_id", 0),
        "registration_ip_address": "",
        "date_created": now,
        "date_modified": now,
        "address_count": 0,
        "attribute_count": 0,
        "authentication": {"force_password_reset": False},
        "accepts_product_review_abandoned_cart_emails":
            post.get("accepts_product_review_abandoned_cart_emails", False),
        "store_credit_amounts": [{"amount": 0}],
        "origin_channel_id": post.get("origin_channel_id", 1),
        "channel_ids": post.get("channel_ids"),
    }


def customer(data: dict[str, Any]) -> dict[str, Any]:
    """A stored customer as ``GET /v3/customers`` lists it."""
    out = {k: v for k, v in data.items() if v is not None}
    out.setdefault("registration_ip_address", "")
    return out


def new_order(order_id: int, post: dict[str, Any], currency_code: str) -> dict[str, Any]:
    """An order created from a ``POST /v2/orders`` body (never from a probe)."""
    products = post.get("products") or []
    items = sum(int(p.get("quantity", 1) or 1) for p in products if isinstance(p, dict))
    billing = post.get("billing_address") or {}
    return order({
        "id": order_id,
        "customer_id": post.get("customer_id", 0),
        "status_id": post.get("status_id", 1),
        "items_total": items,
        "billing_address": billing,
        "currency_code": currency_code,
        "external_source": post.get("external_source", ""),
    })


def order(data: dict[str, Any]) -> dict[str, Any]:
    """A v2 order as ``GET /v2/orders`` lists it (fills what the stored data lacks)."""
    billing = data.get("billing_address") or {}
    currency_code = data.get("currency_code", "USD")
    created = data.get("date_created") or rfc2822_now()
    total = str(data.get("total_inc_tax", "0.0000"))
    return {
        "id": data["id"],
        "customer_id": data.get("customer_id", 0),
        "date_created": created,
        "date_modified": data.get("date_modified", created),
        "date_shipped": "",
        "status_id": data.get("status_id", 1),
        "status": data.get("status", "Pending"),
        "subtotal_ex_tax": total,
        "subtotal_inc_tax": total,
        "subtotal_tax": "0.0000",
        "base_shipping_cost": "0.0000",
        "shipping_cost_ex_tax": "0.0000",
        "shipping_cost_inc_tax": "0.0000",
        "total_ex_tax": total,
        "total_inc_tax": total,
        "total_tax": "0.0000",
        "items_total": data.get("items_total", 1),
        "items_shipped": 0,
        "payment_method": data.get("payment_method", "Manual"),
        "payment_status": data.get("payment_status", ""),
        "refunded_amount": "0.0000",
        "order_is_digital": False,
        "ip_address": "",
        "currency_id": 1,
        "currency_code": currency_code,
        "currency_exchange_rate": "1.0000000000",
        "default_currency_id": 1,
        "default_currency_code": currency_code,
        "store_default_currency_code": currency_code,
        "staff_notes": "",
        "customer_message": "",
        "discount_amount": "0.0000",
        "coupon_discount": "0.0000",
        "is_deleted": False,
        "external_source": data.get("external_source", ""),
        "channel_id": data.get("channel_id", 1),
        "billing_address": {
            "first_name": billing.get("first_name", "Jane"),
            "last_name": billing.get("last_name", "Doe"),
            "company": billing.get("company", ""),
            "street_1": billing.get("street_1", "123 Main Street"),
            "street_2": billing.get("street_2", ""),
            "city": billing.get("city", "Austin"),
            "state": billing.get("state", "Texas"),
            "zip": billing.get("zip", "78751"),
            "country": billing.get("country", "United States"),
            "country_iso2": billing.get("country_iso2", "US"),
            "phone": billing.get("phone", ""),
            "email": billing.get("email", "janedoe@example.com"),
        },
    }


def new_cart(post: dict[str, Any], currency_code: str) -> dict[str, Any]:
    """A cart created from a ``POST /v3/carts`` body."""
    cart_id = str(uuid.uuid4())
    now = iso_now()
    physical = []
    total = 0.0
    for index, item in enumerate(post.get("line_items") or []):
        quantity = item.get("quantity", 1)
        price = float(item.get("list_price", 10.0))
        total += price * quantity
        physical.append({
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{cart_id}/{index}")),
            "variant_id": item.get("variant_id", item.get("product_id", 0)),
            "product_id": item.get("product_id", 0),
            "sku": f"SKU-{item.get('product_id', 0)}",
            "name": item.get("name", f"Product {item.get('product_id', 0)}"),
            "quantity": quantity,
            "taxable": True,
            "discounts": [],
            "coupons": [],
            "discount_amount": 0,
            "coupon_amount": 0,
            "original_price": price,
            "list_price": price,
            "sale_price": price,
            "extended_list_price": price * quantity,
            "extended_sale_price": price * quantity,
            "is_require_shipping": True,
            "is_mutable": True,
        })
    return {
        "id": cart_id,
        "customer_id": post.get("customer_id", 0),
        "channel_id": post.get("channel_id", 1),
        "email": "",
        "currency": {"code": (post.get("currency") or {}).get("code", currency_code)},
        "tax_included": False,
        "base_amount": total,
        "discount_amount": 0,
        "manual_discount_amount": 0,
        "cart_amount": total,
        "coupons": [],
        "discounts": [],
        "line_items": {"physical_items": physical, "digital_items": [],
                       "gift_certificates": [], "custom_items": []},
        "created_time": now,
        "updated_time": now,
        "locale": post.get("locale", "en"),
    }


def cart(data: dict[str, Any]) -> dict[str, Any]:
    """The stored cart without sandbox-private keys."""
    return {k: v for k, v in data.items() if not k.startswith("_")}


def checkout(data: dict[str, Any]) -> dict[str, Any]:
    """The checkout of a cart (BigCommerce's checkout id is the cart id)."""
    cart_view = {k: v for k, v in cart(data).items() if k != "locale"}
    cart_view["line_items"] = {
        "physical_items": [{k: v for k, v in item.items() if v is not None}
                           for item in data["line_items"]["physical_items"]],
        "digital_items": [],
        "gift_certificates": [],
        "custom_items": [],
    }
    amount = data.get("cart_amount", 0)
    body: dict[str, Any] = {
        "id": data["id"],
        "cart": cart_view,
        "consignments": [],
        "taxes": [],
        "coupons": [],
        "fees": [],
        "shipping_cost_total_inc_tax": 0,
        "shipping_cost_total_ex_tax": 0,
        "handling_cost_total_inc_tax": 0,
        "handling_cost_total_ex_tax": 0,
        "tax_total": 0,
        "subtotal_inc_tax": amount,
        "subtotal_ex_tax": amount,
        "grand_total": amount,
        "created_time": data["created_time"],
        "updated_time": data["updated_time"],
        "customer_message": "",
        "version": data.get("_version", 1),
    }
    billing = data.get("_billing_address")
    if billing is not None:
        body["billing_address"] = billing
    return body


def checkout_not_found(checkout_id: str) -> dict[str, Any]:
    """404 for an unknown checkout: v3 fields plus the ``errors`` list the spec declares."""
    detail = f"Checkout {checkout_id} was not found."
    return {
        "status": 404,
        "title": "Not Found",
        "type": STATUS_DOC,
        "detail": detail,
        "errors": [{"status": 404, "title": "Not Found", "type": STATUS_DOC, "detail": detail}],
    }


def hook(data: dict[str, Any]) -> dict[str, Any]:
    """A webhook as the hooks API shows it."""
    return dict(data)
