"""Repositories: rows ↔ frozen domain values, ``select()`` only, never commit
(docs/architecture.md)."""

from persistence.repositories.agents import AgentRepository, UserRepository, WalletRepository
from persistence.repositories.api_keys import ApiKeyRepository
from persistence.repositories.ledger import BalanceRepository, TransactionRepository
from persistence.repositories.positions import HistoryRepository, PositionRepository
from persistence.repositories.signals import ExecutionRepository, SignalRepository

__all__ = [
    "AgentRepository",
    "ApiKeyRepository",
    "BalanceRepository",
    "ExecutionRepository",
    "HistoryRepository",
    "PositionRepository",
    "SignalRepository",
    "TransactionRepository",
    "UserRepository",
    "WalletRepository",
]
