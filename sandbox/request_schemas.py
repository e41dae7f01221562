"""Request-body validation against BigCommerce's published request schemas.

The schemas live in ``sandbox/schemas/requests.json``: the ``requestBody`` schemas
of the write operations the sandbox serves, taken from BigCommerce's OpenAPI
reference with ``$ref`` resolved and annotations dropped
(:mod:`sandbox.schema_extract` rebuilds the file; a test checks it still matches
the specs and that this validator agrees with openapi-core on the probe bodies).

The validator implements the subset of OpenAPI 3.0 schema keywords those schemas
use -- ``type``, ``nullable``, ``enum``, ``properties``, ``required``,
``additionalProperties``, ``items``, ``minItems``/``maxItems``, ``uniqueItems``,
``minLength``/``maxLength``, ``pattern``, ``minimum``/``maximum``, ``allOf``,
``anyOf``, ``oneOf``, ``not`` and ``readOnly`` (a read-only property must not be
sent) -- so the sandbox needs no third-party validator at run time. ``format`` is
not checked.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from sandbox import PACKAGE_DIR

SCHEMA_FILE = PACKAGE_DIR / "schemas" / "requests.json"

#: Operation ids (as in BigCommerce's specs) of the bodies the sandbox validates.
CREATE_CUSTOMERS = "createCustomers"
CREATE_ORDER = "createOrder"
CREATE_CART = "createCart"
ADD_CHECKOUT_BILLING_ADDRESS = "addCheckoutBillingAddress"
CREATE_WEBHOOK = "createWebhooks"
UPDATE_WEBHOOK = "updateWebhook"

_TYPES: dict[str, Any] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool))
    or (isinstance(v, float) and v.is_integer()),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
}


@cache
def load_schemas() -> dict[str, Any]:
    """The vendored request schemas, keyed by operation id."""
    with SCHEMA_FILE.open(encoding="utf-8") as fh:
        return json.load(fh)["schemas"]


def request_schema(operation_id: str) -> dict[str, Any]:
    """The request-body schema of one operation."""
    return load_schemas()[operation_id]


def validate_body(operation_id: str, body: Any) -> list[str]:
    """Errors of ``body`` against the operation's request schema (empty when valid)."""
    return errors(request_schema(operation_id), body)


def errors(schema: dict[str, Any], value: Any, path: str = "$") -> list[str]:
    """All validation errors of ``value`` against ``schema``; ``[]`` means valid."""
    found: list[str] = []
    _check(schema, value, path, found)
    return list(dict.fromkeys(found))  # allOf branches can repeat a message


def _check(schema: dict[str, Any], value: Any, path: str, out: list[str]) -> None:
    if value is None:
        if schema.get("nullable"):
            return
        if "type" in schema:
            out.append(f"{path}: null is not allowed")
            return
    expected = schema.get("type")
    if expected is not None and not _TYPES[expected](value):
        out.append(f"{path}: expected {expected}, got {_type_name(value)}")
        return
    if "enum" in schema and value not in schema["enum"]:
        out.append(f"{path}: {value!r} is not one of {schema['enum']}")
    if isinstance(value, str):
        _check_string(schema, value, path, out)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        _check_number(schema, value, path, out)
    elif isinstance(value, list):
        _check_array(schema, value, path, out)
    elif isinstance(value, dict):
        _check_object(schema, value, path, out)
    _check_combinators(schema, value, path, out)


def _check_string(schema: dict[str, Any], value: str, path: str, out: list[str]) -> None:
    if "minLength" in schema and len(value) < schema["minLength"]:
        out.append(f"{path}: shorter than {schema['minLength']} characters")
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        out.append(f"{path}: longer than {schema['maxLength']} characters")
    if "pattern" in schema and not re.search(schema["pattern"], value):
        out.append(f"{path}: does not match {schema['pattern']!r}")


def _check_number(schema: dict[str, Any], value: float, path: str, out: list[str]) -> None:
    if "minimum" in schema:
        low = schema["minimum"]
        if value < low or (schema.get("exclusiveMinimum") is True and value == low):
            out.append(f"{path}: less than the minimum {low}")
    if "maximum" in schema:
        high = schema["maximum"]
        if value > high or (schema.get("exclusiveMaximum") is True and value == high):
            out.append(f"{path}: greater than the maximum {high}")


def _check_array(schema: dict[str, Any], value: list[Any], path: str, out: list[str]) -> None:
    if "minItems" in schema and len(value) < schema["minItems"]:
        out.append(f"{path}: fewer than {schema['minItems']} items")
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        out.append(f"{path}: more than {schema['maxItems']} items")
    if schema.get("uniqueItems"):
        seen = [json.dumps(v, sort_keys=True) for v in value]
        if len(set(seen)) != len(seen):
            out.append(f"{path}: items are not unique")
    items = schema.get("items")
    if isinstance(items, dict):
        for index, item in enumerate(value):
            _check(items, item, f"{path}[{index}]", out)


def _check_object(schema: dict[str, Any], value: dict[str, Any], path: str, out: list[str]) -> None:
    properties: dict[str, Any] = schema.get("properties", {})
    for name in schema.get("required", ()):
        if name not in value:
            out.append(f"{path}.{name}: required")
    for name, item in value.items():
        sub = properties.get(name)
        if sub is not None:
            if sub.get("readOnly"):
                out.append(f"{path}.{name}: read-only, must not be sent")
            else:
                _check(sub, item, f"{path}.{name}", out)
            continue
        extra = schema.get("additionalProperties", True)
        if extra is False:
            out.append(f"{path}.{name}: unexpected property")
        elif isinstance(extra, dict):
            _check(extra, item, f"{path}.{name}", out)


def _check_combinators(schema: dict[str, Any], value: Any, path: str, out: list[str]) -> None:
    for sub in schema.get("allOf", ()):
        _check(sub, value, path, out)
    if "anyOf" in schema and not any(not errors(s, value, path) for s in schema["anyOf"]):
        out.append(f"{path}: matches none of the allowed shapes (anyOf)")
    if "oneOf" in schema:
        matches = sum(1 for s in schema["oneOf"] if not errors(s, value, path))
        if matches != 1:
            out.append(f"{path}: matches {matches} of the oneOf shapes, not exactly one")
    if "not" in schema and not errors(schema["not"], value, path):
        out.append(f"{path}: matches a forbidden shape (not)")


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return {dict: "object", list: "array", str: "string", int: "integer", float: "number"}.get(
        type(value), type(value).__name__
    )
