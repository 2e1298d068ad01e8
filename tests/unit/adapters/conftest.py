"""Shared helpers for the adapter tests: a fixed clock, a no-sleep retry policy, fixtures."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from workers.adapters.http import RetryPolicy

FIXTURES = Path(__file__).parent / "fixtures"
SOL = "So11111111111111111111111111111111111111112"
JUP = "JUPyiwrYJFskUPiHa7hkeR8VUtAeFoSYbKedZNsDvCN"
BONK = "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263"
WIF = "EKpQGSJtjMFqKZ9KQanSqYXRcF8fBopzLHYxdM65zcjm"
USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


class FixedClock:
    def __init__(self, now: datetime = T0) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


class Sleeps(list[float]):
    """Records the delays the retry helper asked for instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(), parse_float=Decimal)


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text()


def mock_client(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler))


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def policy(sleeps: Sleeps) -> RetryPolicy:
    return RetryPolicy(max_attempts=4, timeout_s=1.0, base_delay_s=0.5, max_delay_s=4.0,
                       max_retry_after_s=10.0, sleep=sleeps, rand=lambda: 0.5)


def unsigned_tx_b64(payer: Pubkey, extra_signers: int = 0) -> str:
    """A real unsigned v0 transaction (transfer from ``payer``, dummy blockhash), base64."""
    to = Pubkey.from_string(JUP)
    instructions = [transfer(TransferParams(from_pubkey=payer, to_pubkey=to, lamports=1))]
    for _ in range(extra_signers):
        other = Keypair().pubkey()
        instructions.append(transfer(TransferParams(from_pubkey=other, to_pubkey=to,
                                                    lamports=1)))
    message = MessageV0.try_compile(payer, instructions, [], Hash.new_unique())
    count = message.header.num_required_signatures
    unsigned = VersionedTransaction.populate(message, [Signature.default()] * count)
    return base64.b64encode(bytes(unsigned)).decode()


def fake_mints(count: int) -> list[str]:
    return [str(Pubkey.new_unique()) for _ in range(count)]
