"""HTTP ingest against real PostgreSQL and Redis: auth, scopes, validation, idempotency, rate
limit, the fan-out enqueued (on the real broker) only after the row commits, and a
the OpenAPI document served (schemathesis over the whole API: test_openapi_contract.py)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import redis
from sqlalchemy import Engine, text

from tests.integration.http_support import BONK, VALID, FixedClock, post
from tests.integration.http_support import count_signals as _count
from tests.integration.http_support import queued as _queued
from workers.handlers.operators.keys import create_key, hash_key, revoke_key

# --- auth and scopes ---------------------------------------------------------------------

def test_without_a_key_401(make_client: Callable[..., Any], clean_db: Engine) -> None:
    client, _ = make_client()
    response = post(client, VALID, None)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "ApiKey"
    assert _count(clean_db) == 0


def test_an_unknown_key_401(make_client: Callable[..., Any], api_key: str) -> None:
    client, _ = make_client()
    assert post(client, VALID, api_key + "x").status_code == 401
    assert post(client, VALID, "sf_" + "A" * 43).status_code == 401


def test_a_revoked_key_401(make_client: Callable[..., Any], uow_factory: Any,
                           clean_db: Engine) -> None:
    new = create_key(uow_factory(), FixedClock(), user_email="p@example.com", scopes=["signals"])
    client, _ = make_client()
    assert post(client, {**VALID, "idempotency_key": "before"}, new.key).status_code == 201
    revoke_key(uow_factory(), FixedClock(), new.id)
    response = post(client, VALID, new.key)
    assert response.status_code == 401 and "revoked" in response.json()["detail"]
    assert _count(clean_db) == 1


def test_a_key_without_the_signals_scope_403(make_client: Callable[..., Any],
                                             uow_factory: Any, clean_db: Engine) -> None:
    key = "sf_readonly_" + uuid.uuid4().hex
    with uow_factory() as uow:
        user = uow.users.get_or_create("reader@example.com")
        uow.api_keys.add(user_id=user, name="reader", key_hash=hash_key(key),
                         key_prefix=key[:8], scopes=["reports"], now=datetime.now(UTC))
        uow.commit()
    client, _ = make_client()
    response = post(client, VALID, key)
    assert response.status_code == 403 and "signals" in response.json()["detail"]
    assert _count(clean_db) == 0


def test_a_use_is_recorded_on_the_key(make_client: Callable[..., Any], api_key: str,
                                      uow_factory: Any) -> None:
    client, _ = make_client()
    post(client, VALID, api_key)
    with uow_factory() as uow:
        stored = uow.api_keys.by_hash(hash_key(api_key))
    assert stored is not None and stored.last_used_at is not None


# --- validation --------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "field"), [
    ({**VALID, "signal_strenght": 80}, "signal_strenght"),  # a typo is an unknown field
    ({**VALID, "signal_strength": "80"}, "signal_strength"),
    ({**VALID, "signal_strength": 80.5}, "signal_strength"),
    ({**VALID, "signal_strength": 101}, "signal_strength"),
    ({**VALID, "token_address": "not-a-key"}, "token_address"),
    ({k: v for k, v in VALID.items() if k != "signal_type"}, "signal_type"),
    ({**VALID, "symbol": "BO\u0000NK"}, "symbol"),
    ({**VALID, "user_id": "nobody"}, "user_id"),
    ('{"token_address": ', "payload"),
    ("[1, 2]", "payload"),
])
def test_an_invalid_body_400_names_the_field(make_client: Callable[..., Any], api_key: str,
                                             clean_db: Engine, body: Any, field: str) -> None:
    client, rt = make_client()
    response = post(client, body, api_key)
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field and response.json()["reason"]
    assert _count(clean_db) == 0 and rt.committed_at_send == []


def test_a_lone_surrogate_is_refused_not_a_500(make_client: Callable[..., Any],
                                               api_key: str) -> None:
    client, _ = make_client()
    response = post(client, '{"token_address": "\\ud800", "\\udc00": 1}', api_key)
    assert response.status_code == 400


def test_a_body_over_the_limit_413(make_client: Callable[..., Any], api_key: str) -> None:
    client, _ = make_client()
    response = post(client, {**VALID, "activation_reason": "x" * 70_000}, api_key)
    assert response.status_code == 413 and response.json()["field"] == "payload"


# --- storing, fan-out, idempotency --------------------------------------------------------

def test_201_stores_the_row_then_enqueues_the_fan_out(
        make_client: Callable[..., Any], api_key: str, clean_db: Engine,
        redis_client: redis.Redis) -> None:
    client, rt = make_client()
    response = post(client, {**VALID, "idempotency_key": "prov:1", "source": "prov"}, api_key)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "pending" and body["signal_strength"] == 80
    assert body["idempotency_key"] == "prov:1" and body["token_address"] == BONK
    with clean_db.connect() as conn:
        row = conn.execute(text("SELECT status, symbol, source FROM trading_signals "
                                "WHERE id = :id"), {"id": body["id"]}).one()
    assert tuple(row) == ("pending", "BONK", "prov")
    assert rt.committed_at_send == [True]
    assert _queued(redis_client, rt.queue_name) == [("signals.fan_out", [body["id"]])]


def test_a_repeated_idempotency_key_409_with_the_existing_id(
        make_client: Callable[..., Any], api_key: str, clean_db: Engine,
        redis_client: redis.Redis) -> None:
    client, rt = make_client()
    first = post(client, {**VALID, "idempotency_key": "same"}, api_key)
    again = post(client, {**VALID, "signal_strength": 90, "idempotency_key": "same"}, api_key)
    assert first.status_code == 201 and again.status_code == 409
    assert again.json()["id"] == first.json()["id"]
    assert _count(clean_db) == 1
    assert len(_queued(redis_client, rt.queue_name)) == 1  # nothing new enqueued


def test_429_with_retry_after_past_the_per_key_limit(
        make_client: Callable[..., Any], api_key: str, uow_factory: Any,
        clean_db: Engine) -> None:
    client, _ = make_client(rate_limit=3)
    codes = [post(client, VALID, api_key).status_code for _ in range(4)]
    assert codes == [201, 201, 201, 429]
    limited = post(client, VALID, api_key)
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    other = create_key(uow_factory(), FixedClock(), user_email="b@example.com",
                       scopes=["signals"]).key
    assert post(client, VALID, other).status_code == 201  # the limit is per key
    assert _count(clean_db) == 4


def test_redis_down_503_not_500(make_client: Callable[..., Any], api_key: str,
                                clean_db: Engine) -> None:
    client, rt = make_client()
    rt.__dict__["redis"] = redis.Redis(port=1, socket_connect_timeout=0.5)
    client.app.state.service.limiter.__dict__["redis"] = rt.redis  # type: ignore[attr-defined]
    response = post(client, VALID, api_key)
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert _count(clean_db) == 0


def test_the_openapi_document_is_served(make_client: Callable[..., Any]) -> None:
    client, _ = make_client()
    spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/v1/signals"]["post"]
    assert {"201", "400", "401", "403", "409", "429"} <= set(operation["responses"])
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body["additionalProperties"] is False
    assert spec["components"]["securitySchemes"]["APIKeyHeader"]["name"] == "X-API-Key"
    assert client.get("/docs").status_code == 200
