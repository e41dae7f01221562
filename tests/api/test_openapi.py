"""The OpenAPI 3.1 document at /api/v1/openapi.json, and the contract check
(tests/openapi_contract.py) that holds every API response of the suite to it."""

from __future__ import annotations

import pytest
from django.http import JsonResponse
from django.test import Client

from api.tokens import api_token_issue
from tests.openapi_contract import ContractError, check_response


@pytest.fixture
def bearer(admin_user):
    return {"Authorization": f"Bearer {api_token_issue(name='Docs', created_by=admin_user)[1]}"}


def test_the_document_is_openapi_3_1_and_describes_every_endpoint(db):
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"].startswith("3.1")
    assert {"/api/v1/stores/", "/api/v1/stores/{store_hash}/", "/api/v1/stores/{store_hash}/check/"} <= set(
        doc["paths"]
    )
    assert doc["components"]["securitySchemes"] == {"BearerAuth": {"type": "http", "scheme": "bearer"}}
    for methods in doc["paths"].values():
        for operation in methods.values():
            # Every operation says how to authenticate and what refusal looks like.
            assert operation["security"] == [{"BearerAuth": []}]
            assert {"401", "403"} <= set(operation["responses"])


def test_there_is_no_interactive_docs_page(db):
    """It would load Swagger UI from a CDN the CSP refuses; the document is what services need."""
    assert Client().get("/api/v1/docs").status_code == 404


def test_a_body_that_drifts_from_the_document_fails_the_check(db, bearer, monkeypatch):
    """A view that answers with a field the document does not list (here the
    404 of an unknown store) fails whichever test sees it."""

    def drifted(store_hash):
        return JsonResponse({"error": {"code": "not_found", "message": "gone", "hint": "new field"}}, status=404)

    monkeypatch.setattr("api.views.not_found", drifted)
    with pytest.raises(ContractError, match="drifted from the document at error"):
        Client(headers=bearer).get("/api/v1/stores/nope/")


def test_an_undocumented_status_fails_the_check(db, bearer, monkeypatch):
    monkeypatch.setattr(
        "api.views.not_found", lambda store_hash: JsonResponse({"error": {"code": "x", "message": "y"}}, status=410)
    )
    with pytest.raises(ContractError, match="answered 410, which the document does not list"):
        Client(headers=bearer).get("/api/v1/stores/nope/")


def test_a_wrong_type_fails_the_check():
    response = JsonResponse({"error": {"code": 404, "message": "x"}}, status=404)
    with pytest.raises(ContractError, match="is not of type 'string'"):
        check_response("GET", "/api/v1/stores/abc/", response)


def test_a_field_a_view_adds_to_a_schema_body_never_reaches_the_caller(db, bearer, acme_store, monkeypatch):
    """Bodies returned as data go through their ninja schema, which keeps only
    documented fields: a field added in the view alone cannot drift out."""
    from api import views

    original = views.store_json
    monkeypatch.setattr(views, "store_json", lambda *a: {**original(*a), "secret_sauce": "x"})
    body = Client(headers=bearer).get("/api/v1/stores/acme123/").json()
    assert "secret_sauce" not in body and body["store_hash"] == "acme123"


def test_a_missing_documented_header_fails_the_check(db):
    """The credential release documents ETag on 200 (and 304) and Retry-After on 429."""
    body = JsonResponse({"error": {"code": "rate_limited", "message": "later"}}, status=429)
    with pytest.raises(ContractError, match="the documented header Retry-After is missing"):
        check_response("GET", "/api/v1/stores/abc/credentials/", body)
