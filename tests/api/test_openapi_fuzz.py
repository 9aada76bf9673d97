"""Schemathesis over the whole OpenAPI document, signed in as the bureau administrator of a small
world: whatever it sends, the hub answers without a server error and within the schema it
publishes (problem documents included). Bounded so that `make test` stays quick."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis.errors import Unsatisfiable
from hypothesis import settings as hypothesis_settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.ingest.conftest import population  # noqa: F401 - the fixture


MAX_EXAMPLES = 12  # per operation and generation mode; about a minute for the whole API on each database


@pytest.fixture
def api_schema(app, population):
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def test_no_server_errors_and_no_answer_off_its_schema(api_schema, login):
    """Each operation gets valid and invalid inputs (schemathesis' positive and negative modes).
    Driven by Hypothesis directly: schemathesis' pytest plugin does not load under this pytest."""
    headers = {"Authorization": login("boss")["Authorization"], "X-Purpose": "fuzz"}
    failures: dict[str, str] = {}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @given(case=operation.as_strategy(generation_mode=mode))
            @hypothesis_settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                                 suppress_health_check=list(HealthCheck), phases=[Phase.generate])
            def run(case):
                response = case.call(headers=headers)
                case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

            try:
                run()
            except Unsatisfiable:
                continue  # nothing to make invalid (an operation without parameters or body)
            except Exception as error:  # noqa: BLE001 - collected, so that one run names every failing operation
                failures[f"{operation.method.upper()} {operation.path} ({mode.value})"] = str(error)[:1500]
    assert len(operations) > 30
    assert failures == {}, "\n\n".join(f"{k}: {v}" for k, v in failures.items())


def test_the_document_says_how_to_sign_in_and_what_errors_look_like(client):
    document = client.get("/openapi.json").json()
    flows = document["components"]["securitySchemes"]["oauth2"]["flows"]
    assert set(flows) == {"password", "clientCredentials"} and flows["password"]["tokenUrl"] == "/api/v1/auth/token"
    grants = document["paths"]["/api/v1/share/grants"]["get"]
    assert grants["security"] == [{"oauth2": []}]
    assert "application/problem+json" in grants["responses"]["403"]["content"]
    assert "security" not in document["paths"]["/api/v1/auth/token"]["post"]
    record = document["paths"]["/api/v1/share/{code}/records/{key}"]["get"]
    purpose = next(p for p in record["parameters"] if p["name"].lower() == "x-purpose")
    assert purpose["required"] is True and "RFC 8187" in purpose["description"]
