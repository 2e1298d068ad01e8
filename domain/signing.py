"""Sign only what was meant (docs/rules.md §12): the rules a swap transaction must
pass before the wallet signs it, as pure functions over plain data.

The adapter decodes the transaction (lookup tables resolved, so every account is an address)
into a :class:`TransactionView` and the quote into a :class:`SwapIntent`; :func:`refusals`
returns every reason to refuse, empty when the transaction does exactly this swap:

- the fee payer is the wallet and the only signer;
- every top-level instruction's program is on the allow-list (Jupiter v6, Compute Budget,
  System, SPL Token, Token-2022, Associated Token Account);
- outside Jupiter's instruction, SOL and tokens move only to accounts of the wallet (its own
  address, its associated token accounts), token accounts are only synced or closed back to
  it, and associated token accounts are created only for it — nothing else (no approvals,
  authority changes, burns);
- exactly one Jupiter exact-in route whose amounts are the quote's (the amount spent, a
  minimum out no lower than the quote's threshold, no more slippage), touching the output
  mint and paying into one of the wallet's accounts;
- the priority fee stays within the maximum the wallet asked Jupiter for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

SYSTEM = "11111111111111111111111111111111"
TOKEN = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
TOKEN_2022 = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"
ASSOCIATED_TOKEN = "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL"
COMPUTE_BUDGET = "ComputeBudget111111111111111111111111111111"
JUPITER = "JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4"
SOL_MINT = "So11111111111111111111111111111111111111112"
ALLOWED_PROGRAMS = frozenset({JUPITER, COMPUTE_BUDGET, SYSTEM, TOKEN, TOKEN_2022,
                              ASSOCIATED_TOKEN})
TOKEN_PROGRAMS = (TOKEN, TOKEN_2022)
# Anchor discriminators (sha256("global:<name>")[:8]) of Jupiter v6's exact-in routes; both
# end with in_amount u64, quoted_out_amount u64, slippage_bps u16, platform_fee_bps u8.
JUPITER_ROUTES = {bytes([229, 23, 203, 151, 122, 227, 173, 42]): "route",
                  bytes([193, 32, 155, 51, 65, 214, 156, 129]): "shared_accounts_route"}
ROUTE_TAIL = 19
TOKEN_INSTRUCTIONS = {3: "Transfer", 4: "Approve", 5: "Revoke", 6: "SetAuthority",
                      7: "MintTo", 8: "Burn", 9: "CloseAccount", 10: "FreezeAccount",
                      12: "TransferChecked", 13: "ApproveChecked", 15: "BurnChecked",
                      17: "SyncNative"}
DEFAULT_UNITS_PER_INSTRUCTION, MAX_UNITS = 200_000, 1_400_000

# owner, mint, token program → the owner's associated token account (derived by the adapter).
AtaOf = Callable[[str, str, str], str]


@dataclass(frozen=True)
class Instruction:
    program: str
    accounts: tuple[str, ...]
    data: bytes


@dataclass(frozen=True)
class TransactionView:
    """A decoded transaction: its required signers (fee payer first) and top-level
    instructions with every account resolved to an address."""

    signers: tuple[str, ...]
    instructions: tuple[Instruction, ...]


@dataclass(frozen=True)
class SwapIntent:
    """What the wallet means to sign: the quote it accepted, in base units."""

    wallet: str
    input_mint: str
    output_mint: str
    in_amount: int
    min_out_amount: int
    slippage_bps: int
    max_priority_lamports: int | None = None


def refusals(tx: TransactionView, intent: SwapIntent, ata_of: AtaOf) -> list[str]:
    """Every reason not to sign ``tx`` for ``intent``; empty when it may be signed."""
    reasons = _signer_reasons(tx, intent.wallet)
    owned = _owned_accounts(intent, ata_of)
    routes = []
    for index, ix in enumerate(tx.instructions):
        if ix.program not in ALLOWED_PROGRAMS:
            reasons.append(f"instruction {index}: program {ix.program} is not on the "
                           "allow-list")
        elif ix.program == JUPITER:
            routes.append(index)
            reasons += [f"instruction {index}: {r}" for r in _route_reasons(ix, intent, ata_of)]
        else:
            reasons += [f"instruction {index}: {r}"
                        for r in _side_reasons(ix, intent.wallet, owned, ata_of)]
    if len(routes) != 1:
        reasons.append(f"expected exactly one Jupiter swap instruction, found {len(routes)}")
    return reasons + _priority_reasons(tx, intent.max_priority_lamports)


def _signer_reasons(tx: TransactionView, wallet: str) -> list[str]:
    if not tx.signers or tx.signers[0] != wallet:
        payer = tx.signers[0] if tx.signers else "nobody"
        return [f"the fee payer is {payer}, not the wallet {wallet}"]
    if len(tx.signers) != 1:
        return [f"{len(tx.signers)} signers are required; only the wallet may sign"]
    return []


def _owned_accounts(intent: SwapIntent, ata_of: AtaOf) -> frozenset[str]:
    mints = {intent.input_mint, intent.output_mint, SOL_MINT}
    return frozenset({intent.wallet} | {ata_of(intent.wallet, mint, program)
                                        for mint in mints for program in TOKEN_PROGRAMS})


def _side_reasons(ix: Instruction, wallet: str, owned: frozenset[str],
                  ata_of: AtaOf) -> list[str]:
    """An instruction outside Jupiter's: it may only move value to the wallet's accounts."""
    if ix.program == COMPUTE_BUDGET:
        known = len(ix.data) > 0 and ix.data[0] in (1, 2, 3, 4)
        return [] if known else ["unknown compute budget instruction"]
    if ix.program == SYSTEM:
        return _system_reasons(ix, owned)
    if ix.program in TOKEN_PROGRAMS:
        return _token_reasons(ix, owned)
    return _ata_reasons(ix, wallet, ata_of)


def _system_reasons(ix: Instruction, owned: frozenset[str]) -> list[str]:
    tag = int.from_bytes(ix.data[:4], "little") if len(ix.data) >= 4 else None
    if tag != 2 or len(ix.data) != 12 or len(ix.accounts) < 2:
        return [f"System instruction {tag} is not allowed (only transfers to the wallet)"]
    lamports = int.from_bytes(ix.data[4:12], "little")
    if ix.accounts[1] not in owned:
        return [f"System transfer of {lamports} lamports to {ix.accounts[1]}, "
                "not an account of the wallet"]
    return []


def _token_reasons(ix: Instruction, owned: frozenset[str]) -> list[str]:
    tag = ix.data[0] if ix.data else None
    name = TOKEN_INSTRUCTIONS.get(tag, f"#{tag}") if tag is not None else "empty"
    destination = {3: 1, 12: 2, 9: 1}.get(tag) if tag is not None else None
    if tag == 17:
        return []  # SyncNative: no value moves
    if destination is None:
        return [f"token instruction {name} is not allowed"]
    if len(ix.accounts) <= destination or ix.accounts[destination] not in owned:
        target = ix.accounts[destination] if len(ix.accounts) > destination else "nothing"
        return [f"token {name} to {target}, not an account of the wallet"]
    return []


def _ata_reasons(ix: Instruction, wallet: str, ata_of: AtaOf) -> list[str]:
    if ix.data not in (b"", b"\x00", b"\x01") or len(ix.accounts) < 6:
        return ["associated token account instruction is not a create"]
    _, account, owner, mint, _, program = ix.accounts[:6]
    if owner != wallet or program not in TOKEN_PROGRAMS or account != ata_of(wallet, mint,
                                                                            program):
        return [f"creates token account {account} for {owner}, not one of the wallet's"]
    return []


def _route_reasons(ix: Instruction, intent: SwapIntent, ata_of: AtaOf) -> list[str]:
    kind = JUPITER_ROUTES.get(ix.data[:8])
    if kind is None or len(ix.data) < 8 + ROUTE_TAIL:
        return [f"Jupiter instruction {ix.data[:8].hex()} is not an exact-in route"]
    tail = ix.data[-ROUTE_TAIL:]
    in_amount = int.from_bytes(tail[0:8], "little")
    quoted_out = int.from_bytes(tail[8:16], "little")
    slippage = int.from_bytes(tail[16:18], "little")
    minimum = quoted_out * (10_000 - min(slippage, 10_000)) // 10_000
    reasons = []
    if in_amount != intent.in_amount:
        reasons.append(f"Jupiter {kind} spends {in_amount}, the quote {intent.in_amount}")
    if slippage > intent.slippage_bps or minimum < intent.min_out_amount:
        reasons.append(f"Jupiter {kind} accepts {minimum} out at {slippage} bps, below the "
                       f"quote's minimum {intent.min_out_amount} at {intent.slippage_bps} bps")
    if intent.output_mint not in ix.accounts:
        reasons.append(f"Jupiter {kind} does not swap into {intent.output_mint}")
    destinations = {ata_of(intent.wallet, intent.output_mint, p) for p in TOKEN_PROGRAMS}
    if intent.wallet not in ix.accounts or not destinations.intersection(ix.accounts):
        reasons.append(f"Jupiter {kind} does not pay into the wallet's "
                       f"{intent.output_mint} account")
    return reasons


def priority_fee_lamports(tx: TransactionView) -> int:
    """Compute unit price × limit (the limit defaults to 200k per other instruction)."""
    price, limit = 0, None
    for ix in tx.instructions:
        if ix.program == COMPUTE_BUDGET and len(ix.data) >= 5 and ix.data[0] == 2:
            limit = int.from_bytes(ix.data[1:5], "little")
        elif ix.program == COMPUTE_BUDGET and len(ix.data) >= 9 and ix.data[0] == 3:
            price = int.from_bytes(ix.data[1:9], "little")
    if limit is None:
        others = sum(ix.program != COMPUTE_BUDGET for ix in tx.instructions)
        limit = min(MAX_UNITS, DEFAULT_UNITS_PER_INSTRUCTION * others)
    return -(-price * min(limit, MAX_UNITS) // 1_000_000)


def _priority_reasons(tx: TransactionView, maximum: int | None) -> list[str]:
    fee = priority_fee_lamports(tx)
    if maximum is not None and fee > maximum:
        return [f"priority fee {fee} lamports exceeds the maximum {maximum}"]
    return []
