"""Sign only what was meant: the signing policy on real transactions built for LiteSVM (the
fake Jupiter's, with its address lookup table resolved through the loopback RPC node), the
legitimate swap accepted and executed, every rogue variant refused naming its reason."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.token.associated import get_associated_token_address
from solders.transaction import VersionedTransaction

from domain.signing import SwapIntent, priority_fee_lamports
from tests.litesvm_chain import NATIVE_MINT, TOKEN
from tests.live_fakes import MINT, SOL, LiveChain, create_idempotent, route_data
from workers.adapters.http import RetryPolicy
from workers.adapters.signing_policy import (
    SigningRefused,
    judge_swap_transaction,
    transaction_view,
)
from workers.adapters.solana_rpc import SolanaRpc

Tamper = Callable[[list[Instruction], Pubkey], list[Instruction]]
STRANGER = Keypair().pubkey()


@pytest.fixture
def world() -> Iterator[tuple[LiveChain, SolanaRpc, Keypair]]:
    chain = LiveChain()
    wallet = Keypair()
    chain.fund(str(wallet.pubkey()), tokens=5_000_000_000)
    with httpx.Client() as client:
        yield chain, SolanaRpc(chain.rpc_url, client,
                               policy=RetryPolicy(max_attempts=1, timeout_s=5)), wallet
    chain.close()


def _quote(chain: LiveChain, buy: bool = True) -> dict[str, Any]:
    pair = (SOL, MINT) if buy else (MINT, SOL)
    return chain._quote({"inputMint": pair[0], "outputMint": pair[1],
                         "amount": "1000000000", "slippageBps": "50"})


def _intent(wallet: Keypair, quote: dict[str, Any], **changes: Any) -> SwapIntent:
    terms: dict[str, Any] = {
        "wallet": str(wallet.pubkey()), "input_mint": quote["inputMint"],
        "output_mint": quote["outputMint"], "in_amount": int(quote["inAmount"]),
        "min_out_amount": int(quote["otherAmountThreshold"]),
        "slippage_bps": quote["slippageBps"], "max_priority_lamports": 1_000_000}
    return SwapIntent(**{**terms, **changes})


def _unsigned(chain: LiveChain, payer: Pubkey, quote: dict[str, Any],
              tamper: Tamper | None = None, *, table: bool = True) -> bytes:
    """The fake Jupiter's transaction for ``quote``, compiled against its lookup table."""
    ixs = chain.swap_instructions(payer, quote)
    ixs = tamper(ixs, payer) if tamper else ixs
    assert chain.table is not None
    tables = [AddressLookupTableAccount(chain.table, chain.runtime.lookup_table(chain.table))]
    blockhash, _ = chain.runtime.latest_blockhash()
    message = MessageV0.try_compile(payer, ixs, tables if table else [],
                                    Hash.from_string(blockhash))
    chain.runtime.hooks[bytes(message)] = chain._outcome(payer, quote)
    count = message.header.num_required_signatures
    return bytes(VersionedTransaction.populate(message, [Signature.default()] * count))


def _refused(rpc: SolanaRpc, raw: bytes, intent: SwapIntent) -> str:
    with pytest.raises(SigningRefused) as info:
        judge_swap_transaction(raw, intent, rpc)
    return str(info.value)


@pytest.mark.parametrize("buy", [True, False])
def test_the_legitimate_swap_is_accepted_and_executes(
        world: tuple[LiveChain, SolanaRpc, Keypair], buy: bool) -> None:
    chain, rpc, wallet = world
    quote = _quote(chain, buy)
    raw = _unsigned(chain, wallet.pubkey(), quote)
    assert VersionedTransaction.from_bytes(raw).message.address_table_lookups  # v0 + table
    judge_swap_transaction(raw, _intent(wallet, quote), rpc)  # no refusal
    signed = VersionedTransaction(VersionedTransaction.from_bytes(raw).message, [wallet])
    status = rpc.get_signature_status(rpc.send_transaction(bytes(signed)))
    assert status is not None and status.succeeded
    assert chain.token_units(str(wallet.pubkey())) == (6 if buy else 4) * 10**9
    view = transaction_view(VersionedTransaction.from_bytes(raw), rpc)
    assert priority_fee_lamports(view) == 10_000
    assert str(NATIVE_MINT) in view.instructions[-2].accounts  # resolved from the table


def _append(ix: Callable[[Pubkey], Instruction]) -> Tamper:
    return lambda ixs, payer: [*ixs, ix(payer)]


def _token_ix(tag: int, accounts: list[tuple[Pubkey, bool, bool]], data: bytes = b"") -> \
        Callable[[Pubkey], Instruction]:
    return lambda payer: Instruction(TOKEN, bytes([tag]) + data, [
        AccountMeta(payer if key == STRANGER and signer else key, signer, writable)
        for key, signer, writable in accounts])


def _own_ata(payer: Pubkey) -> Pubkey:
    return get_associated_token_address(payer, Pubkey.from_string(MINT), TOKEN)


ROGUES: list[tuple[str, Tamper, str]] = [
    ("a SOL transfer to a third party", _append(lambda payer: transfer(TransferParams(
        from_pubkey=payer, to_pubkey=STRANGER, lamports=5_000_000_000))),
     f"System transfer of 5000000000 lamports to {STRANGER}, not an account of the wallet"),
    ("a token transfer to a third party", _append(lambda payer: Instruction(
        TOKEN, bytes([3]) + (10**9).to_bytes(8, "little"), [
            AccountMeta(_own_ata(payer), False, True),
            AccountMeta(get_associated_token_address(STRANGER, Pubkey.from_string(MINT)),
                        False, True), AccountMeta(payer, True, False)])),
     "token Transfer to"),
    ("an unknown program", _append(lambda payer: Instruction(
        Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr"), b"hi",
        [AccountMeta(payer, True, False)])),
     "program MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr is not on the allow-list"),
    ("an approval of a delegate", _append(lambda payer: Instruction(
        TOKEN, bytes([4]) + (10**9).to_bytes(8, "little"), [
            AccountMeta(_own_ata(payer), False, True), AccountMeta(STRANGER, False, False),
            AccountMeta(payer, True, False)])),
     "token instruction Approve is not allowed"),
    ("a token account closed to a third party", _append(lambda payer: Instruction(
        TOKEN, bytes([9]), [AccountMeta(_own_ata(payer), False, True),
                            AccountMeta(STRANGER, False, True),
                            AccountMeta(payer, True, False)])),
     f"token CloseAccount to {STRANGER}, not an account of the wallet"),
    ("a token account created for someone else", _append(lambda payer: create_idempotent(
        payer, STRANGER, Pubkey.from_string(MINT), TOKEN,
        get_associated_token_address(STRANGER, Pubkey.from_string(MINT)))),
     f"for {STRANGER}, not one of the wallet's"),
    ("a second signer", _append(lambda payer: transfer(TransferParams(
        from_pubkey=STRANGER, to_pubkey=payer, lamports=1))),
     "2 signers are required; only the wallet may sign"),
    ("a second Jupiter route", lambda ixs, payer: [*ixs, ixs[-2]],
     "expected exactly one Jupiter swap instruction, found 2"),
    ("a route spending more than the quote", lambda ixs, payer: [
        Instruction(ix.program_id, route_data(2 * 10**9, 10**9, 50), ix.accounts)
        if ix.program_id == ixs[-2].program_id else ix for ix in ixs],
     "spends 2000000000, the quote 1000000000"),
    ("a route accepting any output", lambda ixs, payer: [
        Instruction(ix.program_id, route_data(10**9, 10**9, 10_000), ix.accounts)
        if ix.program_id == ixs[-2].program_id else ix for ix in ixs],
     "accepts 0 out at 10000 bps, below the quote's minimum 995000000 at 50 bps"),
    ("a priority fee above the maximum", lambda ixs, payer: [
        Instruction(ixs[1].program_id, bytes([3]) + (10**12).to_bytes(8, "little"), [])
        if i == 1 else ix for i, ix in enumerate(ixs)],
     "priority fee 200000000000 lamports exceeds the maximum 1000000"),
]


@pytest.mark.parametrize(("tamper", "reason"), [(t, r) for _, t, r in ROGUES],
                         ids=[name for name, _, _ in ROGUES])
def test_a_rogue_transaction_is_refused_naming_the_reason(
        world: tuple[LiveChain, SolanaRpc, Keypair], tamper: Tamper, reason: str) -> None:
    chain, rpc, wallet = world
    quote = _quote(chain)
    assert reason in _refused(rpc, _unsigned(chain, wallet.pubkey(), quote, tamper),
                              _intent(wallet, quote))


def test_a_swap_into_another_mint_than_meant_is_refused(
        world: tuple[LiveChain, SolanaRpc, Keypair]) -> None:
    chain, rpc, wallet = world
    quote = _quote(chain)
    other = str(Keypair().pubkey())
    message = _refused(rpc, _unsigned(chain, wallet.pubkey(), quote),
                       _intent(wallet, quote, output_mint=other))
    assert f"does not swap into {other}" in message
    assert f"does not pay into the wallet's {other} account" in message


def test_a_transaction_for_another_wallet_is_refused(
        world: tuple[LiveChain, SolanaRpc, Keypair]) -> None:
    chain, rpc, wallet = world
    quote = _quote(chain)
    raw = _unsigned(chain, STRANGER, quote)
    assert f"the fee payer is {STRANGER}, not the wallet {wallet.pubkey()}" in _refused(
        rpc, raw, _intent(wallet, quote))


def test_lookup_tables_must_be_resolvable(world: tuple[LiveChain, SolanaRpc, Keypair]) -> None:
    chain, rpc, wallet = world
    quote = _quote(chain)
    raw = _unsigned(chain, wallet.pubkey(), quote)
    with pytest.raises(SigningRefused, match="no RPC is configured to resolve them"):
        judge_swap_transaction(raw, _intent(wallet, quote), None)
    judge_swap_transaction(raw, _intent(wallet, quote), rpc)  # resolved: accepted
    assert chain.calls.get("getMultipleAccounts") == 1
    plain = _unsigned(chain, wallet.pubkey(), quote, table=False)
    judge_swap_transaction(plain, _intent(wallet, quote), None)  # no table: nothing to fetch
