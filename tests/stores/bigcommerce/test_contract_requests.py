"""Every request the client sends fits BigCommerce's published OpenAPI specs.

The specs are BigCommerce's own reference files (see docs/bigcommerce/FACTS.md),
found in `BIGCOMMERCE_OPENAPI_DIR` (default: the copy in the repository,
`docs/bigcommerce/openapi`; see `sandbox.schema_extract.spec_dir`). For each
request a validation sends, openapi-core checks the path, method, parameters,
headers and security; for each write probe it also
proves the body is REJECTED by the operation's request-body schema ("invalid
by construction"), while a plausible body for the same request is accepted.

`orders.v2.oas2.yml` is named after Swagger 2 but is OpenAPI 3.0.0 inside,
so openapi-core reads it like the others (no jsonschema fallback is needed;
`test_every_spec_is_openapi_3` fails loudly should that ever change).
"""

from __future__ import annotations

import functools
import json

import pytest
import requests
import responses
import yaml
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest
from openapi_core.validation.request.exceptions import RequestBodyValidationError

from sandbox.schema_extract import spec_dir
from stores.bigcommerce.validation import validate
from tests.fake_bigcommerce import (
    ALL_ENDPOINTS,
    CARTS,
    CHECKOUTS,
    CREDENTIALS,
    CUSTOMERS,
    ORDERS,
    STORE_URL,
    WRITE_ENDPOINTS,
    add_store,
    make_client,
    run,
)

OPENAPI_DIR = spec_dir()

# Which spec file documents each path prefix (after /stores/{store_hash}).
SPEC_FILES = {
    "/v2/time": "store_information.v2.yml",
    "/v2/store": "store_information.v2.yml",
    "/v3/catalog/": "products_catalog.v3.yml",
    "/v3/customers": "customers.v3.yml",
    "/v2/orders": "orders.v2.oas2.yml",
    "/v3/carts": "carts.v3.yml",
    "/v3/checkouts/": "checkouts.v3.yml",
}

# Bodies a real integration might send: the schema accepts them, which shows
# the probes' bodies are rejected for their shape, not for some other reason.
PLAUSIBLE_BODIES = {
    CUSTOMERS: [{"email": "jane@example.com", "first_name": "Jane", "last_name": "Doe"}],
    ORDERS: {
        "billing_address": {"first_name": "Jane", "email": "jane@example.com", "zip": "60601"},
        "products": [{"product_id": 1, "quantity": 1}],
    },
    CARTS: {"line_items": [{"product_id": 1, "quantity": 1}]},
    CHECKOUTS: {"email": "jane@example.com", "country_code": "US"},
}
# Bodies that look invalid but which the schema accepts (FACTS.md): probes
# must not use them, since a server following its schema could act on them.
TRAP_BODIES = {CUSTOMERS: [], ORDERS: {}, CARTS: {}}


@functools.cache
def spec_for(path: str) -> OpenAPI:
    for prefix, filename in SPEC_FILES.items():
        if path.startswith(prefix):
            return OpenAPI.from_file_path(str(OPENAPI_DIR / filename))
    raise AssertionError(f"no spec documents {path}")


@pytest.fixture(scope="module")
def sent() -> dict[tuple[str, str], requests.PreparedRequest]:
    """The requests one onboarding validation sends, by (method, path)."""
    with responses.RequestsMock() as rsps:
        add_store(rsps)
        run(validate(CREDENTIALS, client=make_client(), baseline=True))
        prepared = [call.request for call in rsps.calls]
    return {(r.method, r.url[len(STORE_URL) :]): r for r in prepared}


def with_body(request: requests.PreparedRequest, body: object) -> requests.PreparedRequest:
    copy = request.copy()
    copy.prepare_body(json.dumps(body).encode(), None)
    return copy


def errors_for(request: requests.PreparedRequest) -> list[Exception]:
    path = request.url[len(STORE_URL) :]
    return list(spec_for(path).iter_request_errors(RequestsOpenAPIRequest(request)))


def test_every_spec_is_openapi_3():
    for filename in set(SPEC_FILES.values()):
        document = yaml.safe_load((OPENAPI_DIR / filename).read_text())
        assert str(document.get("openapi", "")).startswith("3."), filename


def test_a_validation_sends_exactly_the_documented_endpoints(sent):
    assert sorted(sent) == sorted(ALL_ENDPOINTS)


@pytest.mark.parametrize("endpoint", ALL_ENDPOINTS, ids=lambda e: f"{e[0]} {e[1]}")
def test_request_fits_its_operation(sent, endpoint):
    request = sent[endpoint]
    # The specs declare Accept (and Content-Type on writes) as required header
    # parameters, which OpenAPI itself says validators must ignore: check here.
    assert request.headers["Accept"] == "application/json"
    assert request.headers.get("Content-Type") == (
        "application/json" if endpoint in WRITE_ENDPOINTS else None
    )
    if endpoint in WRITE_ENDPOINTS:
        # Everything but the body: path, method, parameters, headers, security.
        request = with_body(request, PLAUSIBLE_BODIES[endpoint])
    assert errors_for(request) == []


@pytest.mark.parametrize("endpoint", WRITE_ENDPOINTS, ids=lambda e: f"{e[0]} {e[1]}")
def test_write_probe_body_is_invalid_by_construction(sent, endpoint):
    errors = errors_for(sent[endpoint])
    assert errors, f"the spec accepts the probe body {sent[endpoint].body!r}"
    assert all(isinstance(error, RequestBodyValidationError) for error in errors), errors


@pytest.mark.parametrize("endpoint", list(TRAP_BODIES), ids=lambda e: f"{e[0]} {e[1]}")
def test_empty_bodies_would_not_do(sent, endpoint):
    trap = TRAP_BODIES[endpoint]
    assert errors_for(with_body(sent[endpoint], trap)) == []
    assert json.loads(sent[endpoint].body) != trap
