"""domain.signing on plain data: the rules the adapter tests exercise on real transactions,
here the corners (defaults, malformed instructions) that real builders never produce."""

from __future__ import annotations

from domain.signing import (
    ASSOCIATED_TOKEN,
    COMPUTE_BUDGET,
    JUPITER,
    SOL_MINT,
    SYSTEM,
    TOKEN,
    Instruction,
    SwapIntent,
    TransactionView,
    priority_fee_lamports,
    refusals,
)

WALLET, MINT, STRANGER = "Wallet1111", "Mint1111", "Stranger1111"
ROUTE = bytes([193, 32, 155, 51, 65, 214, 156, 129, 0])


def ata_of(owner: str, mint: str, program: str) -> str:
    return f"ata:{owner}:{mint}:{program}"


def route(in_amount: int = 100, out: int = 1000, slippage: int = 50) -> Instruction:
    data = ROUTE + in_amount.to_bytes(8, "little") + out.to_bytes(8, "little") \
        + slippage.to_bytes(2, "little") + bytes(1)
    return Instruction(JUPITER, (TOKEN, WALLET, ata_of(WALLET, MINT, TOKEN), MINT), data)


INTENT = SwapIntent(WALLET, SOL_MINT, MINT, 100, 995, 50, max_priority_lamports=10_000)


def judge(*extra: Instruction, signers: tuple[str, ...] = (WALLET,)) -> list[str]:
    return refusals(TransactionView(signers, (route(), *extra)), INTENT, ata_of)


def test_the_bare_route_is_accepted() -> None:
    assert judge() == []


def test_no_signer_at_all_is_refused() -> None:
    assert judge(signers=()) == [f"the fee payer is nobody, not the wallet {WALLET}"]


def test_only_transfers_among_system_instructions() -> None:
    create = Instruction(SYSTEM, (WALLET, STRANGER), (0).to_bytes(4, "little") + bytes(48))
    assert judge(create) == [
        "instruction 1: System instruction 0 is not allowed (only transfers to the wallet)"]
    own = Instruction(SYSTEM, (WALLET, ata_of(WALLET, SOL_MINT, TOKEN)),
                      (2).to_bytes(4, "little") + (5).to_bytes(8, "little"))
    assert judge(own) == []


def test_malformed_instructions_are_refused() -> None:
    assert judge(Instruction(COMPUTE_BUDGET, (), bytes([9]))) == [
        "instruction 1: unknown compute budget instruction"]
    assert judge(Instruction(TOKEN, (), b"")) == [
        "instruction 1: token instruction empty is not allowed"]
    assert judge(Instruction(TOKEN, (WALLET,), bytes([3]))) == [
        "instruction 1: token Transfer to nothing, not an account of the wallet"]
    assert judge(Instruction(ASSOCIATED_TOKEN, (WALLET,), bytes([2]))) == [
        "instruction 1: associated token account instruction is not a create"]
    assert judge(Instruction(JUPITER, (WALLET,), bytes(8))) == [
        "instruction 1: Jupiter instruction 0000000000000000 is not an exact-in route",
        "expected exactly one Jupiter swap instruction, found 2"]


def test_the_priority_fee_defaults_to_200k_units_per_instruction() -> None:
    price = Instruction(COMPUTE_BUDGET, (), bytes([3]) + (30_000).to_bytes(8, "little"))
    view = TransactionView((WALLET,), (price, route(), route()))
    assert priority_fee_lamports(view) == 12_000  # 30 000 µlamports × 400 000 units
    limit = Instruction(COMPUTE_BUDGET, (), bytes([2]) + (3_000_000).to_bytes(4, "little"))
    capped = TransactionView((WALLET,), (limit, price, route()))
    assert priority_fee_lamports(capped) == 42_000  # the limit is capped at 1.4M units
    assert judge(limit, price) == [
        "priority fee 42000 lamports exceeds the maximum 10000"]
