"""Use cases of ``fleet wallets``: which loaded live wallet each agent uses."""

from __future__ import annotations

import uuid
from collections.abc import Container, Mapping
from decimal import Decimal

from domain.errors import InvalidInput
from domain.money import sol
from domain.ports import Clock, UnitOfWork
from domain.wallets import Wallet
from workers.handlers.operators.agents import add_live_wallet, deposit


def list_wallets(uow: UnitOfWork, loaded: Mapping[str, str]) -> list[dict[str, object]]:
    """One row per loaded wallet (``loaded`` maps address → source variable) and per live
    wallet row whose key is not loaded in this process."""
    with uow:
        owners: dict[str, tuple[uuid.UUID, str]] = uow.live_wallets.owners()
    rows: list[dict[str, object]] = []
    for address in [*loaded, *(a for a in sorted(owners) if a not in loaded)]:
        agent_id, agent_name = owners.get(address, (None, None))
        rows.append({"address": address, "source": loaded.get(address),
                     "loaded": address in loaded, "agent_id": agent_id,
                     "agent_name": agent_name})
    return rows


def assign(uow: UnitOfWork, agent_id: uuid.UUID, address: str, loaded: Container[str],
           clock: Clock | None = None, deposit_sol: Decimal = Decimal(0)) -> Wallet:
    """Make a loaded wallet the agent's live wallet (one live wallet per agent, one agent
    per wallet); ``deposit_sol`` records the SOL the operator funded it with in the ledger."""
    if deposit_sol < 0 or sol(deposit_sol) != deposit_sol or (deposit_sol and clock is None):
        raise InvalidInput("deposit", "must be ≥ 0 SOL with at most 8 decimals")
    if address not in loaded:  # never echo it: a pasted seed looks like an address
        raise InvalidInput("address", "not the address of a loaded wallet (WALLET_n)")
    with uow:
        uow.agents.get(agent_id)
        wallet = add_live_wallet(uow, agent_id, address)
        if deposit_sol > 0 and clock is not None:
            deposit(uow, wallet, deposit_sol, clock)
        uow.commit()
    return wallet
