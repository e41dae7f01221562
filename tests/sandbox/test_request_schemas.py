"""The sandbox's small schema validator, keyword by keyword."""

from __future__ import annotations

import pytest

from sandbox import request_schemas as schemas


@pytest.mark.parametrize(("schema", "value", "valid"), [
    ({"type": "object"}, {}, True),
    ({"type": "object"}, [], False),
    ({"type": "array"}, {}, False),
    ({"type": "integer"}, 3, True),
    ({"type": "integer"}, 3.0, True),
    ({"type": "integer"}, 3.5, False),
    ({"type": "integer"}, True, False),
    ({"type": "number"}, 2.5, True),
    ({"type": "number"}, "2.5", False),
    ({"type": "boolean"}, 0, False),
    ({"type": "string"}, None, False),
    ({"type": "string", "nullable": True}, None, True),
    ({"enum": ["a", "b"]}, "c", False),
    ({"type": "string", "minLength": 2}, "a", False),
    ({"type": "string", "maxLength": 2}, "abc", False),
    ({"type": "string", "pattern": "^[0-9]+$"}, "12a", False),
    ({"type": "string", "maximum": 200}, "numeric keywords ignore strings", True),
    ({"type": "number", "minimum": 1}, 0, False),
    ({"type": "number", "maximum": 10}, 11, False),
    ({"type": "array", "minItems": 1}, [], False),
    ({"type": "array", "maxItems": 1}, [1, 2], False),
    ({"type": "array", "uniqueItems": True}, [1, 1], False),
    ({"type": "array", "items": {"type": "integer"}}, [1, "2"], False),
    ({"type": "object", "required": ["a"]}, {"b": 1}, False),
    ({"type": "object", "properties": {"a": {"type": "string"}}}, {"a": 1}, False),
    ({"type": "object", "additionalProperties": False, "properties": {}}, {"x": 1}, False),
    ({"type": "object", "additionalProperties": {"type": "string"}}, {"x": "y"}, True),
    ({"type": "object", "additionalProperties": {"type": "string"}}, {"x": 1}, False),
    ({"type": "object", "properties": {"id": {"type": "integer", "readOnly": True}}},
     {"id": 1}, False),
    ({"allOf": [{"type": "object"}, {"required": ["a"]}]}, {}, False),
    ({"anyOf": [{"type": "string"}, {"type": "integer"}]}, 1, True),
    ({"anyOf": [{"type": "string"}, {"type": "integer"}]}, [], False),
    ({"oneOf": [{"type": "number"}, {"type": "integer"}]}, 1, False),
    ({"oneOf": [{"type": "number"}, {"type": "string"}]}, 1, True),
    ({"not": {"type": "string"}}, "x", False),
])
def test_keywords(schema, value, valid):
    assert (schemas.errors(schema, value) == []) is valid


def test_errors_name_the_place():
    problems = schemas.validate_body(schemas.CREATE_CUSTOMERS, [{"email": "a@b.co", "first_name": "A"}])
    assert problems == ["$[0].last_name: required"]


def test_every_vendored_operation_is_loaded():
    loaded = schemas.load_schemas()
    for operation in (schemas.CREATE_CUSTOMERS, schemas.CREATE_ORDER, schemas.CREATE_CART,
                      schemas.ADD_CHECKOUT_BILLING_ADDRESS, schemas.CREATE_WEBHOOK, schemas.UPDATE_WEBHOOK):
        assert operation in loaded
