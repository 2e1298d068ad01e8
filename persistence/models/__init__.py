"""The schema (docs/rules.md §15): the single source of truth Alembic revisions come from.

One module per part of the schema; every name is re-exported here, so ``from persistence
import models as m`` sees them all, and importing this package puts every table on
``Base.metadata`` (Alembic's target)."""

from persistence.models.accounts import (
    Agent,
    AgentBalance,
    AgentBalanceSnapshot,
    AgentWallet,
    ApiKey,
    User,
)
from persistence.models.base import (
    NAMING_CONVENTION,
    Address,
    AdjustmentKind,
    Base,
    CloseReason,
    ExecutionAction,
    ExecutionStatus,
    PercentNumeric,
    SignalStatus,
    SolNumeric,
    SwapKind,
    SwapSide,
    SwapStatus,
    TokenNumeric,
    TradingMode,
    TransactionType,
    WalletType,
)
from persistence.models.ledger import AgentHistoricalSwap, AgentPosition, AgentTransaction
from persistence.models.prices import TokenPrice, TokenPriceBar
from persistence.models.signals import SignalExecution, SignalTarget, TradingSignal
from persistence.models.swaps import SwapSubmission

__all__ = [
    "NAMING_CONVENTION",
    "Address",
    "AdjustmentKind",
    "Agent",
    "AgentBalance",
    "AgentBalanceSnapshot",
    "AgentHistoricalSwap",
    "AgentPosition",
    "AgentTransaction",
    "AgentWallet",
    "ApiKey",
    "Base",
    "CloseReason",
    "ExecutionAction",
    "ExecutionStatus",
    "PercentNumeric",
    "SignalExecution",
    "SignalStatus",
    "SignalTarget",
    "SolNumeric",
    "SwapKind",
    "SwapSide",
    "SwapStatus",
    "SwapSubmission",
    "TokenNumeric",
    "TokenPrice",
    "TokenPriceBar",
    "TradingMode",
    "TradingSignal",
    "TransactionType",
    "User",
    "WalletType",
]
