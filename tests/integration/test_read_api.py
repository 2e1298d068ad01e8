"""The read API on real PostgreSQL and Redis: scope, tenancy (a key never reads another
user's rows — every route checked), the derived position fields, cursor pages, and
schemathesis with every check over every read route."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal as D
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import checks as sc
from schemathesis.generation import GenerationMode

from domain.performance import Snapshot
from domain.ports import PriceQuote
from persistence.unit_of_work import SqlAlchemyUnitOfWork
from tests.integration.http_support import FixedClock
from tests.integration.ledger_support import (
    BONK,
    T0,
    WIF,
    close_position,
    funded_agent,
    open_position,
)
from workers.handlers.operators.keys import create_key

READ_ROUTES = ("/v1/agents", "/v1/agents/{agent_id}", "/v1/positions",
               "/v1/signals/{signal_id}/executions", "/v1/trades", "/v1/transactions",
               "/v1/agents/{agent_id}/performance", "/v1/agents/{agent_id}/balance-history",
               "/v1/prices/{token_address}")
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def key(uow_factory: Callable[[], SqlAlchemyUnitOfWork], email: str, *scopes: str) -> str:
    return create_key(uow_factory(), FixedClock(), user_email=email, scopes=list(scopes)).key


def signal_with_executions(uow: SqlAlchemyUnitOfWork, agents: list[Any],
                           user_id: uuid.UUID | None) -> int:
    from domain.signals import Signal

    with uow:
        signal_id, _ = uow.signals.add(Signal(BONK, "buy", 70, user_id=user_id), T0)
        for agent, status, reason in agents:
            uow.executions.claim_execution(signal_id, agent.id)
            uow.executions.complete(signal_id, agent.id, status=status,
                                    action="none" if status == "SKIPPED" else "open",
                                    reason=reason, transaction_id=None, now=T0)
        uow.commit()
    return int(signal_id)


@pytest.fixture
def fleet(uow_factory: Callable[[], SqlAlchemyUnitOfWork]) -> dict[str, Any]:
    """Two users: alice (two agents, trades, a snapshot) and bob (one agent, a trade)."""
    uow = uow_factory()
    alpha, wa = funded_agent(uow, "alpha", "10", email="alice@example.com")
    beta, _ = funded_agent(uow, "beta", "5", email="alice@example.com")
    bobby, wb = funded_agent(uow, "bobby", "7", email="bob@example.com")
    for i in range(3):
        p = open_position(uow, alpha, wa, BONK, "BONK", "1", "1000",
                          at=T0 + timedelta(hours=2 * i + 1))
        close_position(uow, p, str(D("1.1") + i), "take_profit",
                       at=T0 + timedelta(hours=2 * i + 2))
    held = open_position(uow, alpha, wa, WIF, "WIF", "2", "100", at=T0 + timedelta(hours=9))
    bob_trade = open_position(uow, bobby, wb, BONK, "BONK", "1", "500", at=T0)
    close_position(uow, bob_trade, "0.5", "stop_loss")
    bob_held = open_position(uow, bobby, wb, WIF, "WIF", "1", "50", at=T0 + timedelta(hours=3))
    with uow:
        uow.snapshots.upsert_many(T0 + timedelta(hours=1), [
            (alpha.id, wa.wallet_address, Snapshot(D("9"), D("1"), D(0), D("10"))),
            (bobby.id, wb.wallet_address, Snapshot(D("6"), D("1"), D(0), D("7")))])
        uow.prices.add_many([PriceQuote(BONK, D("0.0011"), T0, "test"),
                             PriceQuote(BONK, D("0.0012"), T0 + timedelta(minutes=1), "test")])
        uow.commit()
    mixed = signal_with_executions(uow, [(alpha, "EXECUTED", None),
                                         (bobby, "SKIPPED", "below_min_score")], None)
    bobs = signal_with_executions(uow, [(bobby, "EXECUTED", None)], bobby.user_id)
    return {"alpha": alpha, "beta": beta, "bobby": bobby, "held": held, "bob_held": bob_held,
            "bob_wallet": wb.wallet_address, "mixed": mixed, "bobs": bobs,
            "alice": key(uow_factory, "alice@example.com", "read"),
            "bob": key(uow_factory, "bob@example.com", "read"),
            "admin": key(uow_factory, "root@example.com", "admin"),
            "signals_only": key(uow_factory, "alice@example.com", "signals")}


@pytest.fixture
def client(make_client: Callable[..., Any]) -> TestClient:
    return make_client(rate_limit=100_000)[0]  # type: ignore[no-any-return]


def get(client: TestClient, path: str, who: str | None, **params: Any) -> Any:
    headers = {} if who is None else {"X-API-Key": who}
    return client.get(path, headers=headers, params=params)


def test_every_read_route_is_documented_with_its_answers(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for route in READ_ROUTES:
        operation = spec["paths"][route]["get"]
        assert {"200", "401", "403", "429"} <= set(operation["responses"]), route
        assert operation["responses"]["200"]["content"]["application/json"]["schema"], route
        assert operation["security"] == [{"APIKeyHeader": []}], route


def test_the_read_scope_is_required(client: TestClient, fleet: dict[str, Any]) -> None:
    assert get(client, "/v1/agents", None).status_code == 401
    assert get(client, "/v1/agents", "sf_not-a-key").status_code == 401
    forbidden = get(client, "/v1/agents", fleet["signals_only"])
    assert forbidden.status_code == 403 and "`read` scope" in forbidden.json()["detail"]
    assert get(client, "/v1/agents", fleet["alice"]).status_code == 200


def test_a_key_sees_its_users_agents_and_admin_sees_all(client: TestClient,
                                                        fleet: dict[str, Any]) -> None:
    names = {a["name"] for a in get(client, "/v1/agents", fleet["alice"]).json()}
    assert names == {"alpha", "beta"}
    assert {a["name"] for a in get(client, "/v1/agents", fleet["admin"]).json()} == {
        "alpha", "beta", "bobby"}
    alpha = get(client, f"/v1/agents/{fleet['alpha'].id}", fleet["alice"]).json()
    assert alpha["sol_balance"] == "11.3" and alpha["open_positions"] == 1  # 10 −3 +6.3 −2
    missing = get(client, f"/v1/agents/{fleet['bobby'].id}", fleet["alice"])
    assert missing.status_code == 404  # another user's agent reads as missing


def test_no_route_ever_returns_another_users_rows(client: TestClient,
                                                  fleet: dict[str, Any]) -> None:
    """Alice's key on every read route, with her ids and with Bob's: nothing of Bob's (his
    agent, wallet, positions, trades, transactions, signal) is ever in an answer."""
    bob = fleet["bobby"]
    secrets = {str(bob.id), fleet["bob_wallet"], str(fleet["bob_held"].id)}
    admin_view = json.dumps(get(client, "/v1/transactions", fleet["admin"],
                                agent_id=str(bob.id), limit=500).json())
    secrets |= set(UUID_RE.findall(admin_view)) - {str(fleet["alpha"].id)}
    assert len(secrets) > 5
    substitutions = {"{agent_id}": [str(fleet["alpha"].id), str(bob.id)],
                     "{signal_id}": [str(fleet["mixed"]), str(fleet["bobs"])],
                     "{token_address}": [BONK]}
    for route in READ_ROUTES:
        paths = [route]
        for placeholder, values in substitutions.items():
            paths = [p.replace(placeholder, v) for p in paths for v in values]
        for path in paths:
            for params in ({}, {"agent_id": str(bob.id)}, {"token": "BONK"}):
                answer = get(client, path, fleet["alice"], **params)
                assert answer.status_code in (200, 400, 404), (path, answer.text)
                leaked = secrets & set(UUID_RE.findall(answer.text))
                assert not leaked and fleet["bob_wallet"] not in answer.text, (path, params)


def test_executions_per_signal_show_only_the_keys_agents_with_reasons(
        client: TestClient, fleet: dict[str, Any]) -> None:
    mixed = f"/v1/signals/{fleet['mixed']}/executions"
    assert [(e["agent_name"], e["status"], e["reason"]) for e in
            get(client, mixed, fleet["alice"]).json()] == [("alpha", "EXECUTED", None)]
    assert [(e["agent_name"], e["reason"]) for e in get(client, mixed, fleet["bob"]).json()] == [
        ("bobby", "below_min_score")]
    assert get(client, f"/v1/signals/{fleet['bobs']}/executions",
               fleet["alice"]).status_code == 404
    assert get(client, "/v1/signals/999999/executions", fleet["admin"]).status_code == 404


def test_positions_carry_stop_price_take_profit_progress_and_moon_bag(
        client: TestClient, fleet: dict[str, Any]) -> None:
    [p] = get(client, "/v1/positions", fleet["alice"]).json()
    assert (p["token_symbol"], p["purchase_price"], p["holding"]) == ("WIF", "0.02", "100")
    assert p["stop_loss"] == {"percentage": "-32", "stop_price": "0.0136",
                              "peak_price": "0.02"}  # 0.02 × (1 − 32 %)
    assert p["take_profit"] == {"enabled": False, "levels_hit": 0, "levels_total": 4,
                                "next_target_percent": "50"}  # the moderate template
    assert p["moon_bag"] == {"activated": False, "amount": None}


def test_trades_and_transactions_page_with_a_cursor(client: TestClient,
                                                    fleet: dict[str, Any]) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = get(client, "/v1/trades", fleet["alice"], **params).json()
        seen += [t["sale_time"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 3 and seen == sorted(seen, reverse=True)
    assert get(client, "/v1/trades", fleet["admin"]).json()["items"][0]["close_reason"] in (
        "take_profit", "stop_loss")
    assert get(client, "/v1/trades", fleet["alice"], cursor="nonsense").status_code == 422
    deposits = get(client, "/v1/transactions", fleet["alice"], reason="deposit").json()
    assert sorted(t["output_amount"] for t in deposits["items"]) == ["10", "5"]
    assert get(client, "/v1/transactions", fleet["alice"], reason="bogus").status_code == 422


def test_performance_balance_history_and_prices(client: TestClient,
                                                fleet: dict[str, Any]) -> None:
    alpha = fleet["alpha"].id
    perf = get(client, f"/v1/agents/{alpha}/performance", fleet["alice"]).json()
    assert (perf["closed_trades"], perf["win_rate_percent"], perf["realized_pnl_sol"]) == (
        3, "100", "3.3")  # sold for 1.1, 2.1 and 3.1 after buying for 1 each
    assert perf["unpriced_positions"] == ["WIF"]  # the static feed has no WIF price
    history = get(client, f"/v1/agents/{alpha}/balance-history", fleet["alice"]).json()
    assert [h["portfolio_balance_sol"] for h in history] == ["10"]
    assert get(client, f"/v1/agents/{fleet['bobby'].id}/balance-history",
               fleet["alice"]).status_code == 404
    prices = get(client, f"/v1/prices/{BONK}", fleet["bob"]).json()
    assert [p["price_sol"] for p in prices] == ["0.0012", "0.0011"]  # newest first
    assert get(client, "/v1/prices/not-a-mint", fleet["bob"]).status_code == 422


# --- schemathesis: every check, every read route -----------------------------------------

ALL_CHECKS = [sc.not_a_server_error, sc.status_code_conformance, sc.content_type_conformance,
              sc.response_headers_conformance, sc.response_schema_conformance,
              sc.negative_data_rejection, sc.positive_data_acceptance,
              sc.missing_required_header, sc.unsupported_method, sc.ignored_auth,
              sc.use_after_free, sc.ensure_resource_availability]


def test_schemathesis_every_check_over_the_read_api(client: TestClient,
                                                    fleet: dict[str, Any]) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    operations = [r.ok() for r in schema.get_all_operations()
                  if r.ok().path in READ_ROUTES]
    assert {op.path for op in operations} == set(READ_ROUTES)
    headers = {"X-API-Key": fleet["admin"]}  # fixed: the key is ours, not generated
    cases = st.one_of(*(op.as_strategy(generation_mode=mode, headers=headers)
                        for op in operations
                        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)))
    seen: list[tuple[str, int]] = []

    @given(case=cases)
    @settings(max_examples=300, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def every_check(case: Any) -> None:
        response = case.call(headers=headers)
        seen.append((case.operation.path, response.status_code))
        case.validate_response(response, checks=ALL_CHECKS, headers=headers)

    every_check()
    # Random ids rarely name a stored row: every route once more on the fleet's own ids.
    known = {"agent_id": str(fleet["alpha"].id), "signal_id": fleet["mixed"],
             "token_address": BONK}
    for op in operations:
        params = {name: known[name] for name in known if "{" + name + "}" in op.path}
        case = op.Case(path_parameters=params, query={})
        response = case.call(headers=headers)
        seen.append((op.path, response.status_code))
        case.validate_response(response, checks=ALL_CHECKS, headers=headers)
    assert len(seen) > 300 and not [s for s in seen if s[1] >= 500]
    assert {path for path, code in seen if code == 200} == set(READ_ROUTES)
