"""GET /openapi.json documents exactly the routes the app serves, is a valid OpenAPI 3.0 document, its request
schemas are the body classes', and real answers of the routes conform to their documented schemas."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema.exceptions import ValidationError
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource

from adapters_http.server.openapi import OPERATIONS
from adapters_http.server.routes_page import is_page
from tests.http_app import Api
from tests.integration.test_http_scoring import admin, confirmed_fan, phone_of


@pytest.fixture
def document(api: Api) -> dict[str, Any]:
    answer = api.call("GET", "/openapi.json", user=None)
    assert answer.status_code == 200
    return answer.get_json()  # type: ignore[no-any-return]


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validate(document)


def test_documented_operations_are_exactly_the_served_routes(api: Api, document: dict[str, Any]) -> None:
    served = set()
    for rule in api.client.application.url_map.iter_rules():
        if is_page(rule.endpoint):
            continue  # the admin page's static files are not operations (API.md)
        path = re.sub(r"<(?:[^>]*:)?(\w+)>", r"{\1}", rule.rule)
        served |= {(path, method.lower()) for method in rule.methods - {"HEAD", "OPTIONS"}}
        assert rule.endpoint in OPERATIONS, f"{rule.endpoint} has no OpenAPI metadata"
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    assert documented == served


def test_bodies_forbid_unknown_keys_and_admin_routes_are_marked(document: dict[str, Any]) -> None:
    upload = document["paths"]["/{campaignId}/entries/scoring"]["post"]
    schema = upload["requestBody"]["content"]["application/json"]["schema"]
    assert schema["additionalProperties"] is False and schema["required"] == ["records"]
    codes = document["paths"]["/{campaignId}/entries/codes"]["post"]["requestBody"]["content"]["application/json"]
    assert codes["schema"]["maxItems"] == 1000 and codes["schema"]["items"]["properties"]["date"]["required"] == [
        "start"
    ]
    listing = document["paths"]["/{campaignId}/entries/scoring"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {
        "marketIds",
        "minScore",
        "limit",
        "offset",
        "orderByPreference",
    }
    assert listing["x-supreme"] is True and "413" in listing["responses"]
    assert document["paths"]["/heartbeat"]["get"]["security"] == []


def _validator(document: dict[str, Any], schema: dict[str, Any]) -> OAS31Validator:
    registry: Registry[Any] = Registry().with_resource("urn:doc", Resource.opaque(document))
    wrapped = {**schema, "$id": "urn:answer"} if "$ref" not in schema else {"$ref": "urn:doc" + schema["$ref"]}
    return OAS31Validator(_absolute(wrapped), registry=registry)


def _absolute(schema: Any) -> Any:
    """References of the document as absolute URIs of the registered resource."""
    if isinstance(schema, dict):
        return {k: ("urn:doc" + v if k == "$ref" and v.startswith("#") else _absolute(v)) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_absolute(v) for v in schema]
    return schema


def test_answers_conform_to_their_documented_schemas(api: Api, document: dict[str, Any]) -> None:
    confirmed_fan(api, 1, "nyc", ["bos"])
    confirmed_fan(api, 2, "bos")
    calls = [
        (
            "post",
            "/{campaignId}/entries/scoring",
            "/ppc/entries/scoring",
            {"records": [{"phone": phone_of(1), "score": 5}, {"phone": "x", "score": 1}]},
        ),
        ("get", "/{campaignId}/entries/scoring", "/ppc/entries/scoring?limit=5", None),
        ("get", "/{campaignId}/entries/eligibility", "/ppc/entries/eligibility", None),
        ("post", "/{campaignId}/scoring/tags", "/ppc/scoring/tags", {"tagName": "t", "by": "userId", "values": ["f1"]}),
        (
            "post",
            "/{campaignId}/scoring/flipVerdicts",
            "/ppc/scoring/flipVerdicts",
            {"tagName": "t", "mode": "exclude"},
        ),
        (
            "post",
            "/{campaignId}/entries/codes",
            "/ppc/entries/codes",
            [{"userId": "f2", "code": "C", "date": {"start": "2020-01-01T00:00:00Z"}}],
        ),
        ("post", "/{campaignId}/entries/verdicts", "/ppc/entries/verdicts", [{"userId": "f1", "isBlocked": True}]),
        ("get", "/{campaignId}/entries/counts", "/ppc/entries/counts", None),
        ("get", "/{campaignId}/entries/timeline", "/ppc/entries/timeline?bucket=day", None),
        ("get", "/{campaignId}/entries/{filterType}", "/ppc/entries/winners", None),
        ("get", "/outbox", "/outbox", None),
        ("get", "/campaigns", "/campaigns", None),
    ]
    for method, template, path, body in calls:
        answer = admin(api, method.upper(), path, body)
        assert answer.status_code == 200, (path, answer.get_json())
        schema = document["paths"][template][method]["responses"]["200"]["content"]["application/json"]["schema"]
        _validator(document, schema).validate(answer.get_json())
    with pytest.raises(ValidationError):  # the validator does check: a wrong answer fails
        _validator(document, {"$ref": "#/components/schemas/UploadSummary"}).validate({"received": "3"})
    error = admin(api, "GET", "/ppc/entries/scoring?limit=0")
    _validator(document, {"$ref": "#/components/schemas/Error"}).validate(error.get_json())


def readme_requests() -> list[tuple[str, str, Any]]:
    """``(method, path, JSON body)`` of every curl example of the README that sends a JSON body."""
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    joined = re.sub(r"\\\n\s*", " ", text)  # continued lines
    found = []
    request = r"curl -s -X (\w+) \"?http://127\.0\.0\.1:8080(/[^\s\"'?]*)(?:(?!curl ).)*?-d '(.*?)'"
    for method, path, body in re.findall(request, joined, re.DOTALL):
        found.append((method, path, json.loads(body)))
    return found


def test_the_readme_example_requests_validate_against_the_document(document: dict[str, Any]) -> None:
    examples = readme_requests()
    assert len(examples) >= 10
    for method, path, body in examples:
        candidates = []
        for template, operations in document["paths"].items():
            pattern = "^" + re.sub(r"\{[^/]+\}", "[^/]+", template) + "$"
            if re.match(pattern, path) and method.lower() in operations:
                candidates.append((template.count("{"), template, operations[method.lower()]))
        assert candidates, (method, path)
        _, template, operation = min(candidates)
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        try:
            _validator(document, schema).validate(body)
        except ValidationError as error:
            raise AssertionError(f"README example {method} {path} ({template}): {error.message}") from None
