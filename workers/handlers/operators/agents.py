"""Use cases of the operators: create an agent (with its simulation wallet, a deposit and,
live, its wallet), change its config."""

from __future__ import annotations

import uuid
from collections.abc import Container
from dataclasses import dataclass
from decimal import Decimal

from domain.agents import TRADING_MODES, Agent
from domain.config import TradingConfig
from domain.errors import InvalidInput
from domain.json_text import unstorable
from domain.ledger import SOL_MINT, SOL_SYMBOL, Transaction
from domain.money import sol
from domain.ports import Clock, UnitOfWork
from domain.records import ConfigJson
from domain.wallets import Wallet, new_simulation_address

DEFAULT_OPERATOR = "operator@localhost"


@dataclass(frozen=True)
class NewAgent:
    """What the operator asks for: a name (unique per user), the trading mode, a first
    deposit in SOL, a trading config (None: the defaults), the owning user's email and, for a
    live agent, the address of a loaded wallet to trade from."""

    name: str
    mode: str = "simulation"
    deposit_sol: Decimal = Decimal(0)
    config: ConfigJson | None = None
    user_email: str = DEFAULT_OPERATOR
    live_wallet: str | None = None

    def check(self) -> None:
        """Refuse a bad request naming the field; nothing is written."""
        name = self.name
        if not 3 <= len(name.strip()) <= 50 or name != name.strip():
            raise InvalidInput("name", "must be 3 to 50 characters without surrounding spaces")
        if unstorable(name):
            raise InvalidInput("name", "must not contain NUL characters or lone surrogates")
        if self.mode not in TRADING_MODES:
            raise InvalidInput("mode", f"must be one of {', '.join(TRADING_MODES)}")
        if self.deposit_sol < 0 or sol(self.deposit_sol) != self.deposit_sol:
            raise InvalidInput("deposit", "must be ≥ 0 SOL with at most 8 decimals")
        if self.live_wallet is not None and self.mode != "live":
            raise InvalidInput("wallet", "only a live agent (--mode live) takes --wallet")
        if self.config is not None:
            TradingConfig.from_dict(self.config)  # raises InvalidConfig listing every error


def create_agent(uow: UnitOfWork, clock: Clock, new: NewAgent,
                 loaded: Container[str] = frozenset()) -> uuid.UUID:
    """The agent, its simulation wallet, its first deposit and its live wallet (one of the
    ``loaded`` ones), in one transaction: a refusal or a failure at any step leaves none."""
    new.check()
    if new.live_wallet is not None and new.live_wallet not in loaded:
        # never echo it: a pasted key looks like an address
        raise InvalidInput("wallet", "not the address of a loaded wallet: set WALLET_n to "
                           "its key (`fleet wallets list` shows the loaded ones)")
    with uow:
        agent = Agent(id=uuid.uuid4(), user_id=uow.users.get_or_create(new.user_email),
                      name=new.name, trading_mode=new.mode)  # type: ignore[arg-type]
        uow.agents.add(agent, new.config)
        wallet = Wallet(new_simulation_address(), agent.id, "simulation")
        uow.wallets.add(wallet)
        if new.deposit_sol > 0:
            deposit(uow, wallet, new.deposit_sol, clock)
        if new.live_wallet is not None:
            add_live_wallet(uow, agent.id, new.live_wallet, field="wallet")
        uow.commit()
    return agent.id


def add_live_wallet(uow: UnitOfWork, agent_id: uuid.UUID, address: str,
                    field: str = "address") -> Wallet:
    """The agent's live wallet, in the caller's transaction: one live wallet per agent, one
    agent per wallet (``field`` names the address in a refusal)."""
    owner = uow.live_wallets.owner_of(address)
    if owner is not None:
        raise InvalidInput(field, f"already used by agent {owner}")
    current = uow.wallets.for_agent(agent_id, "live")
    if current is not None:
        raise InvalidInput("agent", f"already has live wallet {current.wallet_address}")
    wallet = Wallet(address, agent_id, "live")
    uow.wallets.add(wallet)
    return wallet


def deposit(uow: UnitOfWork, wallet: Wallet, amount_sol: Decimal, clock: Clock) -> Transaction:
    """A DEPOSIT ledger row and its balance change, in the caller's transaction."""
    tx = Transaction(agent_id=wallet.agent_id, wallet_address=wallet.wallet_address,
                     transaction_type="DEPOSIT", transaction_time=clock.now(),
                     output_mint=SOL_MINT, output_symbol=SOL_SYMBOL, output_amount=amount_sol)
    uow.transactions.add(tx)
    uow.balances.apply(wallet.agent_id, tx, clock.now())
    return tx


def set_config(uow: UnitOfWork, agent_id: uuid.UUID, config: ConfigJson | None) -> None:
    if config is not None:
        TradingConfig.from_dict(config)
    with uow:
        uow.agents.get(agent_id)
        uow.agents.set_config(agent_id, config)
        uow.commit()
