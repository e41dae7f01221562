"""Every /api/v1/ response the suite sees must match the OpenAPI document.

`tests/conftest.py` wraps Django's test client with `check_response`: a
response to a documented operation must have a documented status and the
headers documented for it, and its JSON body must validate against that
status's schema. The document is read
strictly: an object may hold only the properties it documents (pydantic's
schemas allow extras; a body with an undocumented field is drift).
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

API_PREFIX = "/api/v1/"


class ContractError(AssertionError):
    pass


@cache
def document() -> dict:
    from django.test import Client

    response = Client().get(API_PREFIX + "openapi.json")
    assert response.status_code == 200, response.status_code
    return response.json()


def _strict(schema):
    """additionalProperties: false on every object that lists its properties."""
    if isinstance(schema, dict):
        schema = {key: _strict(value) for key, value in schema.items()}
        if "properties" in schema and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [_strict(value) for value in schema]
    return schema


@cache
def _registry() -> Registry:
    doc = _strict(copy.deepcopy(document()))
    return Registry().with_resource("urn:openapi", Resource(contents=doc, specification=DRAFT202012))


@cache
def _routes() -> list[tuple[re.Pattern, str]]:
    routes = []
    for template in document()["paths"]:
        pattern = re.escape(template)
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", pattern)
        routes.append((re.compile(f"^{pattern}$"), template))
    return routes


def operation_for(path: str, method: str) -> dict | None:
    for pattern, template in _routes():
        if pattern.match(path):
            return document()["paths"][template].get(method.lower())
    return None


def check_response(method: str, path: str, response) -> None:
    """Raise ContractError when `response` is not what the document promises."""
    if not path.startswith(API_PREFIX) or path.endswith("/openapi.json"):
        return
    if response.status_code >= 500:
        return  # a crash's error page is not an answer of the API (tests that see one assert on it)
    operation = operation_for(path, method)
    if operation is None:
        return  # not an operation of the API (405, unknown route): the document says nothing
    documented = operation["responses"].get(str(response.status_code))
    if documented is None:
        raise ContractError(
            f"{method} {path} answered {response.status_code}, which the document does not list "
            f"({sorted(operation['responses'])})"
        )
    for header in documented.get("headers", {}):
        if not response.has_header(header):
            raise ContractError(f"{method} {path} {response.status_code}: the documented header {header} is missing")
    content = documented.get("content")
    if not content:
        if response.content:
            raise ContractError(f"{method} {path} {response.status_code}: a body where the document has none")
        return
    media = response.get("Content-Type", "").split(";")[0].strip()
    if media not in content:
        raise ContractError(f"{method} {path} {response.status_code}: content type {media!r} not documented")
    schema = {"$ref": "urn:openapi#" + _pointer(content[media]["schema"])}
    validator = Draft202012Validator(schema, registry=_registry())
    errors = sorted(validator.iter_errors(json.loads(response.content)), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        raise ContractError(
            f"{method} {path} {response.status_code} drifted from the document at "
            f"{'/'.join(map(str, first.absolute_path)) or '(body)'}: {first.message}"
        )


def _pointer(schema: dict) -> str:
    """A JSON pointer into the document for this response schema."""
    if set(schema) == {"$ref"}:
        return schema["$ref"].lstrip("#")
    # An inline schema: register it under a pointer of its own.
    raise ContractError(f"inline response schemas are not expected: {schema}")
