"""The OpenAPI document and the server agree: schemathesis with every check over the whole
API (ingest, health and the read routes) on the real database and Redis finds no failure and
no server error; the request schema served is the request model's own."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import jsonschema_rs
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import checks as sc
from schemathesis.generation import GenerationMode

from domain.base58 import b58encode
from domain.vocabulary import DEFAULT_VOCABULARY
from persistence.unit_of_work import SqlAlchemyUnitOfWork
from tests.integration.http_support import VALID, FixedClock, post
from workers.handlers.operators.agents import NewAgent, create_agent
from workers.handlers.operators.keys import create_key
from workers.http.request import SOLANA_ADDRESS, signal_request

ALL_CHECKS = [sc.not_a_server_error, sc.status_code_conformance, sc.content_type_conformance,
              sc.response_headers_conformance, sc.response_schema_conformance,
              sc.negative_data_rejection, sc.positive_data_acceptance,
              sc.missing_required_header, sc.unsupported_method, sc.ignored_auth,
              sc.use_after_free, sc.ensure_resource_availability]
EXAMPLES = 400  # bounded for `make test`: a few hundred over every operation

# The one rule of the body no pattern states: base58 of exactly 32 bytes (the schema's format).
schemathesis.openapi.format(SOLANA_ADDRESS, st.binary(min_size=32, max_size=32).map(b58encode))


def test_schemathesis_every_check_over_the_whole_api(
        make_client: Callable[..., Any], uow_factory: Callable[[], SqlAlchemyUnitOfWork]) -> None:
    create_agent(uow_factory(), FixedClock(), NewAgent(name="contract", user_email="p@example.com"))
    key = create_key(uow_factory(), FixedClock(), user_email="p@example.com",
                     scopes=["signals", "read"]).key
    client, _ = make_client(rate_limit=10**9)
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {"/v1/signals", "/v1/health"} <= {op.path for op in operations}
    headers = {"X-API-Key": key}
    cases = st.one_of(*(op.as_strategy(generation_mode=mode, headers=headers)
                        for op in operations
                        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)))
    seen: Counter[tuple[str, str, int]] = Counter()

    @given(case=cases)
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def every_check(case: Any) -> None:
        response = case.call(headers=headers)
        seen[(case.operation.path, case.meta.generation.mode.name, response.status_code)] += 1
        case.validate_response(response, checks=ALL_CHECKS, headers=headers)

    every_check()
    assert sum(seen.values()) >= EXAMPLES // 2 and not [s for s in seen if s[2] >= 500]
    signals = {(mode, code) for path, mode, code in seen if path == "/v1/signals"}
    assert ("POSITIVE", 201) in signals and ("NEGATIVE", 400) in signals, seen


def test_the_served_request_schema_is_the_models(make_client: Callable[..., Any]) -> None:
    client, _ = make_client()
    spec = client.get("/openapi.json").json()
    body = spec["paths"]["/v1/signals"]["post"]["requestBody"]["content"]["application/json"]
    # as FastAPI serves it: JSON, nulls (`"default": null`) left out
    assert body["schema"] == _without_nulls(json.loads(json.dumps(
        signal_request(DEFAULT_VOCABULARY).model_json_schema())))
    assert body["schema"]["additionalProperties"] is False
    assert body["schema"]["properties"]["token_address"]["format"] == SOLANA_ADDRESS
    # portable: another engine (Rust, ECMA-262 regexes) reads it, and agrees
    other = jsonschema_rs.validator_for(body["schema"])
    assert other.is_valid({**VALID, "signal_type": " SELL ", "symbol": " ", "user_id": None})
    assert not other.is_valid({**VALID, "symbol": "BO\u0000NK"})
    assert not other.is_valid({**VALID, "signal_type": "hodl"})


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


@pytest.mark.parametrize(("change", "field"), [
    # matches the documented pattern, decodes to fewer than 32 bytes: the format says no
    ({"token_address": "2" * 32}, "token_address"),
    ({"signal_type": "hodl"}, "signal_type"),
    ({"user_id": "12345678123456781234567812345678"}, "user_id"),  # not the 8-4-4-4-12 form
    ({"user_id": "{" + str(uuid.UUID(int=1)) + "}"}, "user_id"),
    ({"signal_strength": True}, "signal_strength"),
])
def test_what_the_schema_refuses_the_server_refuses(
        make_client: Callable[..., Any], api_key: str, change: dict[str, Any],
        field: str) -> None:
    client, _ = make_client()
    response = post(client, {**VALID, **change}, api_key)
    assert response.status_code == 400 and response.json()["field"] == field, response.text


def test_trimmed_and_blank_strings_as_the_schema_allows(make_client: Callable[..., Any],
                                                        api_key: str) -> None:
    client, _ = make_client()
    response = post(client, {**VALID, "token_address": f"  {VALID['token_address']} ",
                             "signal_type": " Buy\t", "symbol": "  ", "source": " prov ",
                             "user_id": " "}, api_key)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["token_address"] == VALID["token_address"] and body["signal_type"] == "Buy"
    assert body["symbol"] is None and body["source"] == "prov"
