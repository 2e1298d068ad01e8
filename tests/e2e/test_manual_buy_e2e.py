"""`fleet trades buy` on a running fleet: each command a real `fleet` process on real
PostgreSQL and Redis, beside the real worker and ingestor that then sell what it bought. The
``pipeline`` fixture checks the ledger, balance and money invariants after the test."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import redis
from sqlalchemy import Engine, select

from persistence import models as m
from tests.e2e.conftest import wait_for
from tests.e2e.test_operators_e2e import fleet, ok
from tests.e2e.test_pipeline import (
    FIXED_SIZE,
    MINT,
    agent,
    push,
    set_price,
    signal_done,
    sol_balance,
)


def every_row(engine: Engine) -> dict[str, list[Any]]:
    """The rows a buy writes (signals, executions, ledger, balances, positions), comparable."""
    tables = {"signals": m.TradingSignal, "executions": m.SignalExecution,
              "ledger": m.AgentTransaction, "balances": m.AgentBalance,
              "positions": m.AgentPosition, "submissions": m.SwapSubmission}
    with engine.connect() as conn:
        return {name: sorted(tuple(map(str, row)) for row in conn.execute(select(table)))
                for name, table in tables.items()}


def refused(env: dict[str, str], *args: str) -> str:
    done = fleet(env, "trades", "buy", *args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stdout == "" and len(done.stderr.splitlines()) == 1, done.stderr
    return done.stderr.strip()


def test_a_manual_buy_takes_the_signal_path_and_a_refusal_changes_nothing(
        pipeline: Engine, e2e_redis: redis.Redis, stack_env: dict[str, str]) -> None:
    buyer = agent(pipeline, "by-hand", "5", FIXED_SIZE)
    bystander = agent(pipeline, "bystander", "5", FIXED_SIZE)
    paused = agent(pipeline, "paused", "5", automated_trading_simulation=False)
    set_price(e2e_redis, "0.001")

    before = every_row(pipeline)
    assert refused(stack_env, "by-hand", MINT, "--sol", "100") == (
        "error: sol: only 5 SOL is available (asked 100 SOL plus fees)")
    assert refused(stack_env, "by-hand", MINT, "--sol", "lots").startswith(
        "error: sol: must be a decimal number")  # ≤ 0, no price, …: tests/unit/handlers
    assert refused(stack_env, "by-hand", "not-a-mint").startswith(
        "error: token_mint: must be a base58 Solana public key")
    assert refused(stack_env, "nobody", MINT) == (
        "error: agent: no agent named 'nobody' (`fleet agents list`)")
    assert refused(stack_env, "paused", MINT).startswith(
        f"error: agent: agent paused is paused in simulation: resume it first "
        f"(`fleet agents resume {paused}`)")
    assert every_row(pipeline) == before

    out = json.loads(ok(stack_env, "trades", "buy", "by-hand", MINT, "--sol", "2",
                        "--reason", "conviction", "--symbol", "BONK", "--json"))
    assert (out["status"], out["action"], out["agent_name"]) == ("EXECUTED", "open", "by-hand")
    with pipeline.connect() as conn:
        signal = conn.execute(select(m.TradingSignal)).one()
        [tx] = conn.execute(select(m.AgentTransaction).where(
            m.AgentTransaction.transaction_type == "SWAP")).all()
        execution = conn.execute(select(m.SignalExecution)).one()
    assert (signal.agent_id, signal.amount_sol, signal.status, signal.idempotency_namespace,
            signal.activation_reason) == (buyer, Decimal(2), "processed", "manual",
                                          "conviction")
    assert (execution.agent_id, execution.status, execution.transaction_id) == (
        buyer, "EXECUTED", tx.id)
    assert (tx.input_amount, tx.signal_id, tx.output_symbol) == (Decimal(2), signal.id, "BONK")
    cash = Decimal(5) - tx.input_amount - tx.protocol_fee_sol - tx.network_fee_sol
    assert sol_balance(pipeline, buyer) == cash == Decimal(out["sol_balance"])
    assert sol_balance(pipeline, bystander) == Decimal(5)  # the signal was for one agent

    line = ok(stack_env, "trades", "buy", str(buyer), MINT, "--sol", "0.5")
    assert line.startswith("bought BONK for by-hand: added to the position, 2,500 tokens held")

    push(e2e_redis, signal_type="sell")  # the real worker closes what the manual buys bought
    wait_for(lambda: signal_done(pipeline, 3), what="the sell")
    [trade] = json.loads(ok(stack_env, "trades", "--json", "--agent", "by-hand"))
    assert (trade["close_reason"], Decimal(trade["amount"])) == ("signal", Decimal(2500))
    reasons = [r["reason"] for r in json.loads(ok(stack_env, "transactions", "--json",
                                                  "--agent", "by-hand"))]
    assert reasons == ["signal", "dca", "buy", "deposit"]
