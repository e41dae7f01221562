"""Rebuild ``sandbox/schemas/requests.json`` from BigCommerce's OpenAPI specs.

Usage::

    python -m sandbox.schema_extract [SPEC_DIR]

``SPEC_DIR`` defaults to ``$BIGCOMMERCE_OPENAPI_DIR`` or the copy in the repository,
``docs/bigcommerce/openapi`` (see ``docs/bigcommerce/README.md``).
Needs PyYAML (a development dependency, pulled in by openapi-core); the sandbox
itself only reads the JSON this writes.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from sandbox import PACKAGE_DIR
from sandbox.request_schemas import SCHEMA_FILE

#: BigCommerce's OpenAPI specs, as copied into the repository.
DEFAULT_SPEC_DIR = PACKAGE_DIR.parent / "docs" / "bigcommerce" / "openapi"

#: operation id -> (spec file, path, method)
OPERATIONS: dict[str, tuple[str, str, str]] = {
    "createCustomers": ("customers.v3.yml", "/customers", "post"),
    "createOrder": ("orders.v2.oas2.yml", "/orders", "post"),
    "createCart": ("carts.v3.yml", "/carts", "post"),
    "addCheckoutBillingAddress": (
        "checkouts.v3.yml",
        "/checkouts/{checkoutId}/billing-address",
        "post",
    ),
    "createWebhooks": ("webhooks.v3.yml", "/hooks", "post"),
    "updateWebhook": ("webhooks.v3.yml", "/hooks/{webhook_id}", "put"),
}

#: Keywords that only annotate a schema; dropped to keep the vendored file small.
_ANNOTATIONS = frozenset(
    {"description", "example", "examples", "x-examples", "title", "x-internal", "x-tags",
     "externalDocs", "default", "deprecated", "xml"}
)


def spec_dir() -> Path:
    """Where the specs are: ``$BIGCOMMERCE_OPENAPI_DIR`` or :data:`DEFAULT_SPEC_DIR`."""
    return Path(os.environ.get("BIGCOMMERCE_OPENAPI_DIR") or DEFAULT_SPEC_DIR)


def _resolve_ref(spec: dict[str, Any], ref: str) -> Any:
    if not ref.startswith("#/"):
        raise ValueError(f"only local $refs are supported: {ref}")
    node: Any = spec
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _schema(spec: dict[str, Any], node: Any, seen: tuple[str, ...] = ()) -> Any:
    """Resolve ``$ref``s and drop annotations, schema-aware (property names are kept)."""
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        if ref in seen:
            raise ValueError(f"recursive schema at {ref}")
        return _schema(spec, _resolve_ref(spec, ref), seen + (ref,))
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _ANNOTATIONS or key.startswith("x-"):
            continue
        if key == "properties":
            out[key] = {name: _schema(spec, sub, seen) for name, sub in value.items()}
        elif key in ("items", "not") or (key == "additionalProperties" and isinstance(value, dict)):
            out[key] = _schema(spec, value, seen)
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [_schema(spec, sub, seen) for sub in value]
        else:
            out[key] = value
    return out


def extract(directory: Path) -> dict[str, Any]:
    """The request-body schemas of :data:`OPERATIONS`, read from ``directory``."""
    import yaml  # development dependency, only needed to rebuild the vendored file

    loaded: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {}
    for operation_id, (filename, path, method) in OPERATIONS.items():
        if filename not in loaded:
            with (directory / filename).open(encoding="utf-8") as fh:
                loaded[filename] = yaml.safe_load(fh)
        spec = loaded[filename]
        operation = spec["paths"][path][method]
        if operation.get("operationId") != operation_id:
            raise ValueError(f"{filename} {method.upper()} {path} is not {operation_id}")
        body = operation["requestBody"]
        if "$ref" in body:
            body = _resolve_ref(spec, body["$ref"])
        schemas[operation_id] = _schema(spec, body["content"]["application/json"]["schema"])
    return {
        "source": "BigCommerce OpenAPI reference (bigcommerce/docs, reference/)",
        "operations": {k: list(v) for k, v in OPERATIONS.items()},
        "schemas": schemas,
    }


def render(document: dict[str, Any]) -> str:
    """The vendored file's exact text (stable, so a test can compare it)."""
    return json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    directory = Path(args[0]) if args else spec_dir()
    SCHEMA_FILE.write_text(render(extract(directory)), encoding="utf-8")
    print(f"wrote {SCHEMA_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
