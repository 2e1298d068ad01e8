"""The read side for the CLI and reports: plain rows (dicts), no domain rules.

Plain SQL over a psycopg connection (``persistence/read_connection.py``), so a listing starts
without SQLAlchemy; the column names are the models' (``persistence/models/``), and
tests/integration/test_cli.py reads every query against a migrated database."""

from __future__ import annotations

import uuid
from typing import Any

from psycopg import Connection

from domain.ledger import SOL_MINT
from persistence.read_connection import rows


def agents(conn: Connection[Any]) -> list[dict[str, Any]]:
    return rows(conn, """
        SELECT a.id, a.name, a.trading_mode,
               (SELECT coalesce(sum(b.balance), 0) FROM agent_balances b
                 WHERE b.agent_id = a.id AND b.token_address = %(sol)s) AS sol_balance,
               (SELECT count(*) FROM agent_positions p WHERE p.agent_id = a.id)
                 AS open_positions,
               a.created_at
          FROM agents a ORDER BY a.created_at""", {"sol": SOL_MINT})


def signals(conn: Connection[Any], limit: int = 50) -> list[dict[str, Any]]:
    return rows(conn, """
        SELECT id, token_address, symbol, signal_type, signal_strength, source, status,
               eligible_agents, received_at
          FROM trading_signals ORDER BY id DESC LIMIT %(limit)s""", {"limit": limit})


def signal_by_key(conn: Connection[Any], namespace: str,
                  idempotency_key: str) -> dict[str, Any] | None:
    """The stored signal with this idempotency key in this channel's namespace (the stream
    ingestor keys a message without one ``stream:<message id>``), or None until stored."""
    found = rows(conn, """
        SELECT id, status, eligible_agents FROM trading_signals
         WHERE idempotency_namespace = %(namespace)s AND idempotency_key = %(key)s""",
                 {"namespace": namespace, "key": idempotency_key})
    return found[0] if found else None


def executions(conn: Connection[Any], signal_id: int | None = None,
               limit: int = 200) -> list[dict[str, Any]]:
    return rows(conn, """
        SELECT e.signal_id, e.agent_id, a.name AS agent, e.status, e.action, e.reason,
               e.transaction_id, e.executed_at
          FROM signal_executions e JOIN agents a ON a.id = e.agent_id
         WHERE %(signal)s::bigint IS NULL OR e.signal_id = %(signal)s::bigint
         ORDER BY e.executed_at DESC LIMIT %(limit)s""", {"signal": signal_id, "limit": limit})


def positions(conn: Connection[Any], agent_id: uuid.UUID | None = None
              ) -> list[dict[str, Any]]:
    return rows(conn, """
        SELECT p.id, p.agent_id, a.name AS agent, p.token_address, p.token_symbol,
               p.purchase_price, coalesce(p.remaining_amount, p.purchase_amount) AS holding,
               p.total_invested_sol, p.current_stop_loss_percentage, p.peak_price,
               p.dca_count, p.take_profit_levels_hit, p.total_take_profit_levels,
               p.moon_bag_activated, p.moon_bag_amount, p.tokens_left, p.created_at
          FROM agent_positions p JOIN agents a ON a.id = p.agent_id
         WHERE %(agent)s::uuid IS NULL OR p.agent_id = %(agent)s::uuid
         ORDER BY p.created_at""", {"agent": agent_id})


def balances(conn: Connection[Any], agent_id: uuid.UUID | None = None
             ) -> list[dict[str, Any]]:
    return rows(conn, """
        SELECT b.agent_id, a.name AS agent, b.wallet_address, b.token_address, b.token_symbol,
               b.balance, b.updated_at
          FROM agent_balances b JOIN agents a ON a.id = b.agent_id
         WHERE %(agent)s::uuid IS NULL OR b.agent_id = %(agent)s::uuid
         ORDER BY a.name, b.agent_id, b.token_address""", {"agent": agent_id})


def closed_trades(conn: Connection[Any], limit: int = 20) -> list[dict[str, Any]]:
    return rows(conn, """
        SELECT h.agent_id, a.name AS agent, h.token_symbol, h.token_address, h.close_reason,
               h.amount, h.purchase_price, h.sale_price, h.profit_loss_sol, h.change_percent,
               h.sale_time
          FROM agent_historical_swaps h JOIN agents a ON a.id = h.agent_id
         ORDER BY h.sale_time DESC LIMIT %(limit)s""", {"limit": limit})


def trade_log(conn: Connection[Any], limit: int = 12) -> list[dict[str, Any]]:
    """The latest ledger swaps: opens, DCAs, take-profit sales and closes."""
    return rows(conn, """
        SELECT t.transaction_time, a.name AS agent, t.input_symbol, t.input_mint,
               t.input_amount, t.output_symbol, t.output_mint, t.output_amount, t.is_dca,
               t.is_take_profit
          FROM agent_transactions t JOIN agents a ON a.id = t.agent_id
         WHERE t.transaction_type = 'SWAP'
         ORDER BY t.transaction_time DESC LIMIT %(limit)s""", {"limit": limit})


def api_keys(conn: Connection[Any]) -> list[dict[str, Any]]:
    """Every API key by creation, never the key: its prefix, user, scopes and use."""
    return rows(conn, """
        SELECT k.id, k.key_prefix AS prefix, k.name, u.email AS "user",
               array_to_string(k.scopes, ',') AS scopes, k.created_at, k.last_used_at,
               k.revoked_at
          FROM api_keys k JOIN users u ON u.id = k.user_id
         ORDER BY k.created_at, k.id""")


def agent_ids_named(conn: Connection[Any], name: str) -> list[uuid.UUID]:
    """The agents with this name (unique per user; several users may each have one)."""
    return [r["id"] for r in rows(conn, "SELECT id FROM agents WHERE name = %(name)s",
                                   {"name": name})]


def position_ids_starting(conn: Connection[Any], prefix: str) -> list[uuid.UUID]:
    """Open positions whose id starts with ``prefix`` (the CLI shows ids cut short)."""
    like = prefix.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return [r["id"] for r in rows(
        conn, "SELECT id FROM agent_positions WHERE id::text LIKE %(like)s LIMIT 2",
        {"like": like})]
