"""``SolanaRpc`` against a real Solana runtime: LiteSVM behind the loopback JSON-RPC node
(``tests.litesvm_rpc``). Transactions are built, signed and executed for real; balances are
read back through the adapter exactly as from a cluster."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.token.state import TokenAccount, TokenAccountState
from solders.transaction import VersionedTransaction

from domain.errors import InvalidInput, PermanentError
from tests.litesvm_chain import NATIVE_MINT, TOKEN, TOKEN_2022, SolanaRuntime
from tests.litesvm_rpc import LoopbackServer, RpcNode, rpc_route
from workers.adapters.http import RetryPolicy
from workers.adapters.solana_rpc import RpcPermanentError, SolanaRpc


@pytest.fixture
def chain() -> Iterator[tuple[SolanaRuntime, SolanaRpc]]:
    runtime = SolanaRuntime()
    with LoopbackServer(rpc_route(RpcNode(runtime))) as server, httpx.Client() as client:
        yield runtime, SolanaRpc(f"{server.url}/rpc", client,
                                 policy=RetryPolicy(max_attempts=1, timeout_s=5))


def _signed(rpc: SolanaRpc, payer: Keypair, instructions: list[Instruction]) -> bytes:
    blockhash = rpc.call("getLatestBlockhash", [])["value"]["blockhash"]
    message = MessageV0.try_compile(payer.pubkey(), instructions, [],
                                    Hash.from_string(blockhash))
    return bytes(VersionedTransaction(message, [payer]))


def _token_transfer(source: Pubkey, destination: Pubkey, owner: Pubkey, amount: int,
                    program: Pubkey = TOKEN) -> Instruction:
    return Instruction(program, bytes([3]) + amount.to_bytes(8, "little"), [
        AccountMeta(source, False, True), AccountMeta(destination, False, True),
        AccountMeta(owner, True, False)])


def test_a_transfer_lands_and_its_fill_is_read_from_the_metadata(
        chain: tuple[SolanaRuntime, SolanaRpc]) -> None:
    runtime, rpc = chain
    payer, mint, friend = Keypair(), Keypair().pubkey(), Keypair().pubkey()
    runtime.airdrop(payer.pubkey(), 2_000_000_000)
    runtime.create_mint(mint, 6)
    source = runtime.set_token_balance(payer.pubkey(), mint, 5_000_000)
    destination = runtime.set_token_balance(friend, mint, 0)
    raw = _signed(rpc, payer, [
        transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=friend,
                                lamports=1_000_000_000)),
        _token_transfer(source, destination, payer.pubkey(), 1_250_000)])
    signature = rpc.send_transaction(raw)
    status = rpc.get_signature_status(signature)
    assert status is not None and status.succeeded
    meta = rpc.get_transaction(signature)
    assert meta is not None and meta.fee_lamports == 5_000 and meta.err is None
    assert meta.sol_spent() == Decimal(1)
    assert meta.tokens_spent(str(payer.pubkey()), str(mint)) == Decimal("1.25")
    assert meta.tokens_received(str(friend), str(mint)) == Decimal("1.25")
    assert rpc.get_balance(str(friend)) == 1_000_000_000
    assert rpc.get_balance(str(Keypair().pubkey())) == 0


def test_a_failed_transaction_lands_charged_and_a_bad_signature_is_refused(
        chain: tuple[SolanaRuntime, SolanaRpc]) -> None:
    runtime, rpc = chain
    payer = Keypair()
    runtime.airdrop(payer.pubkey(), 1_000_000_000)
    too_much = transfer(TransferParams(from_pubkey=payer.pubkey(),
                                       to_pubkey=Keypair().pubkey(), lamports=5_000_000_000))
    signature = rpc.send_transaction(_signed(rpc, payer, [too_much]))
    status = rpc.get_signature_status(signature)
    assert status is not None and status.failed
    assert status.err == {"InstructionError": [0, {"Custom": 1}]}
    assert rpc.get_balance(str(payer.pubkey())) == 1_000_000_000 - 5_000  # the fee was paid
    tx = VersionedTransaction.from_bytes(_signed(rpc, payer, [too_much]))
    forged = VersionedTransaction.populate(tx.message, [Keypair().sign_message(
        bytes(tx.message))])
    with pytest.raises(RpcPermanentError, match="-32003"):
        rpc.send_transaction(bytes(forged))


def test_a_held_transaction_never_lands_once_its_blockhash_expired(
        chain: tuple[SolanaRuntime, SolanaRpc]) -> None:
    runtime, rpc = chain
    payer = Keypair()
    runtime.airdrop(payer.pubkey(), 1_000_000_000)
    last_valid = rpc.call("getLatestBlockhash", [])["value"]["lastValidBlockHeight"]
    runtime.land = False
    raw = _signed(rpc, payer, [transfer(TransferParams(
        from_pubkey=payer.pubkey(), to_pubkey=Keypair().pubkey(), lamports=10_000_000))])
    signature = rpc.send_transaction(raw)
    assert rpc.get_signature_status(signature) is None
    runtime.block_height = last_valid + 1
    assert rpc.get_block_height() > last_valid
    assert runtime.land_now(signature) is None  # BlockhashNotFound: dropped, no fee
    assert rpc.get_signature_status(signature) is None and rpc.get_transaction(signature) is None
    assert rpc.get_balance(str(payer.pubkey())) == 1_000_000_000


def test_wallet_balances_read_sol_and_both_token_programs(
        chain: tuple[SolanaRuntime, SolanaRpc]) -> None:
    runtime, rpc = chain
    owner, other = Keypair().pubkey(), Keypair().pubkey()
    spl, t22 = Keypair().pubkey(), Keypair().pubkey()
    runtime.airdrop(owner, 3_500_000_001)
    runtime.create_mint(spl, 6)
    runtime.create_mint(t22, 9, TOKEN_2022)
    runtime.set_token_balance(owner, spl, 1_500_000)
    runtime.set_token_balance(owner, t22, 42)
    runtime.set_token_balance(owner, NATIVE_MINT, 250_000_000)
    runtime.set_token_balance(other, spl, 7_000_000)  # someone else's: not counted
    second = Keypair().pubkey()  # a second, non-associated account of the owner in one mint
    state = TokenAccount(mint=spl, owner=owner, amount=500_001, delegate=None,
                         state=TokenAccountState.Initialized, is_native=None,
                         delegated_amount=0)
    runtime._put(second, bytes(state), TOKEN)
    balances = rpc.get_wallet_balances(str(owner))
    assert balances.lamports == 3_500_000_001 and balances.sol == Decimal("3.500000001")
    assert set(balances.tokens) == {str(spl), str(t22), str(NATIVE_MINT)}
    held = balances.tokens[str(spl)]
    assert (held.raw_amount, held.decimals, held.program) == (2_000_001, 6, str(TOKEN))
    assert held.amount == Decimal("2.000001") and len(held.accounts) == 2
    assert balances.tokens[str(t22)].amount == Decimal("4.2E-8")
    assert balances.tokens[str(t22)].program == str(TOKEN_2022)
    assert balances.token_amount(str(NATIVE_MINT)) == Decimal("0.25")
    assert balances.token_amount(str(Keypair().pubkey())) == 0
    empty = rpc.get_wallet_balances(str(Keypair().pubkey()))
    assert (empty.lamports, dict(empty.tokens)) == (0, {})


def test_lookup_tables_and_accounts(chain: tuple[SolanaRuntime, SolanaRpc]) -> None:
    runtime, rpc = chain
    listed = [Keypair().pubkey() for _ in range(3)]
    table = runtime.create_lookup_table(listed)
    assert rpc.get_lookup_tables([str(table)]) == {str(table): tuple(str(k) for k in listed)}
    with pytest.raises(PermanentError, match="is not an address lookup table"):
        rpc.get_lookup_tables([str(TOKEN)])
    missing = str(Keypair().pubkey())
    with pytest.raises(PermanentError, match=f"{missing} does not exist"):
        rpc.get_lookup_tables([missing])
    keys = [str(Keypair().pubkey()) for _ in range(150)] + [str(NATIVE_MINT)]
    accounts = rpc.get_multiple_accounts(keys)  # two requests of ≤ 100 keys
    assert accounts[:150] == [None] * 150
    mint = accounts[150]
    assert mint is not None and mint.owner == str(TOKEN) and len(mint.data) == 82
    with pytest.raises(InvalidInput, match="address"):
        rpc.get_wallet_balances("not-an-address")
