"""A fake Jupiter Swap API whose transactions execute on a real SVM, and that SVM's Solana
JSON-RPC node, served together on one loopback port (``tests.litesvm_rpc``).

``/swap`` builds the transaction Jupiter would for the wallet (``wrapAndUnwrapSol``): compute
budget, the wallet's wrapped-SOL account created idempotently, SOL wrapped into it (a buy),
the output token account created idempotently, Jupiter's ``shared_accounts_route`` with the
quote's amounts, and the wrapped-SOL account closed back to the wallet. The Jupiter program is
a stub on the SVM: it succeeds, or fails with ``Custom(onchain_error)`` (6001 is Jupiter's
slippage error). The route's effect — what the pools would do — is the test's outcome, applied
after a successful execution: a buy takes ``inAmount`` lamports and credits ``outAmount`` to
the wallet's token account, a sell takes ``inAmount`` tokens (failing ``Custom(1)`` when the
wallet holds fewer, as the token program would) and credits ``outAmount`` lamports. Fees,
signatures, blockhash expiry, rent and every other account change are the SVM's own.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.token.associated import get_associated_token_address
from solders.transaction import VersionedTransaction

from tests.litesvm_chain import (
    ATA_PROGRAM,
    NATIVE_MINT,
    SYSTEM,
    TOKEN,
    TOKEN_2022,
    Hook,
    SolanaRuntime,
)
from tests.litesvm_rpc import LoopbackServer, RpcNode, rpc_route

SOL = str(NATIVE_MINT)
MINT = "7GCihgDB8fe6KNjn2MYtkzZcRjQy3t9GHdC8uHYmW2hr"
JUPITER = Pubkey.from_string("JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4")
JUPITER_EVENT_AUTHORITY = Pubkey.from_string("D8cy77BBepLMngZx6ZukaTff5hCt1HrWyKk3Hnd9oitf")
SHARED_ACCOUNTS_ROUTE = hashlib.sha256(b"global:shared_accounts_route").digest()[:8]
CU_LIMIT = 200_000
INSUFFICIENT_FUNDS = 1  # spl-token's TokenError::InsufficientFunds


@dataclass(frozen=True)
class Sent:
    raw: bytes
    signature: str
    verified: bool
    payer: str


def create_idempotent(payer: Pubkey, owner: Pubkey, mint: Pubkey, program: Pubkey,
                      ata: Pubkey) -> Instruction:
    return Instruction(ATA_PROGRAM, bytes([1]), [
        AccountMeta(payer, True, True), AccountMeta(ata, False, True),
        AccountMeta(owner, False, False), AccountMeta(mint, False, False),
        AccountMeta(SYSTEM, False, False), AccountMeta(program, False, False)])


def sync_native(account: Pubkey) -> Instruction:
    return Instruction(TOKEN, bytes([17]), [AccountMeta(account, False, True)])


def close_account(account: Pubkey, destination: Pubkey, owner: Pubkey) -> Instruction:
    return Instruction(TOKEN, bytes([9]), [AccountMeta(account, False, True),
                                           AccountMeta(destination, False, True),
                                           AccountMeta(owner, True, False)])


def route_data(in_amount: int, quoted_out: int, slippage_bps: int, route_id: int = 0) -> bytes:
    """``shared_accounts_route(id, route_plan, in_amount, quoted_out_amount, slippage_bps,
    platform_fee_bps)``, one route step (a unit ``Swap`` variant, 100 %, 0 → 1)."""
    plan = struct.pack("<I", 1) + bytes([0, 100, 0, 1])
    return (SHARED_ACCOUNTS_ROUTE + bytes([route_id]) + plan
            + struct.pack("<QQHB", in_amount, quoted_out, slippage_bps, 0))


def jupiter_instructions(payer: Pubkey, quote: dict[str, Any],
                         mint_program: Callable[[Pubkey], Pubkey], *, priority_fee: int,
                         authority: Pubkey) -> list[Instruction]:
    """What Jupiter's ``/swap`` returns for ``quote`` (``wrapAndUnwrapSol``)."""
    in_mint, out_mint = (Pubkey.from_string(quote[k]) for k in ("inputMint", "outputMint"))
    in_amount, out_amount = int(quote["inAmount"]), int(quote["outAmount"])

    def ata(mint: Pubkey) -> Pubkey:
        return get_associated_token_address(payer, mint, mint_program(mint))

    wsol, source, destination = ata(NATIVE_MINT), ata(in_mint), ata(out_mint)
    ixs = [set_compute_unit_limit(CU_LIMIT),
           set_compute_unit_price(priority_fee * 1_000_000 // CU_LIMIT),
           create_idempotent(payer, payer, NATIVE_MINT, TOKEN, wsol)]
    if in_mint == NATIVE_MINT:
        ixs += [transfer(TransferParams(from_pubkey=payer, to_pubkey=wsol, lamports=in_amount)),
                sync_native(wsol)]
    if out_mint != NATIVE_MINT:
        ixs.append(create_idempotent(payer, payer, out_mint, mint_program(out_mint),
                                     destination))
    # The program's own accounts: fresh per swap, so every swap is a distinct message.
    pool_in, pool_out = Keypair().pubkey(), Keypair().pubkey()
    accounts = [(TOKEN, False), (authority, False), (payer, False), (source, True),
                (pool_in, True), (pool_out, True), (destination, True), (in_mint, False),
                (out_mint, False), (JUPITER, False), (TOKEN_2022, False),
                (JUPITER_EVENT_AUTHORITY, False), (JUPITER, False)]
    metas = [AccountMeta(key, key == payer, writable) for key, writable in accounts]
    ixs.append(Instruction(JUPITER, route_data(in_amount, out_amount, int(quote["slippageBps"])),
                           metas))
    ixs.append(close_account(wsol, payer, payer))
    return ixs


class LiveChain:
    """The SVM, its RPC node and the fake Jupiter, with the knobs the live tests turn."""

    def __init__(self, *, decimals: int = 6, token_program: Pubkey = TOKEN,
                 lamports_per_unit: Decimal = Decimal(1), priority_fee: int = 10_000,
                 validity: int = 150, land: bool = True, lookup_table: bool = True) -> None:
        self.runtime = SolanaRuntime(validity=validity, land=land)
        self.node = RpcNode(self.runtime)
        self.lamports_per_unit = lamports_per_unit
        self.priority_fee = priority_fee
        self.base_fee = 5_000
        self.onchain_error: int | None = None  # Jupiter's program fails with Custom(code)
        self.impacts: list[str] = []  # priceImpactPct per quote, then "0.001"
        self.failures: dict[str, list[Any]] = {}  # op → HTTP statuses / exceptions to raise
        self.calls: dict[str, int] = {}
        self.quotes: list[dict[str, str]] = []
        # Turn the fake into a rogue Jupiter: rewrite a quote, or a swap's instructions.
        self.tamper_quote: Callable[[dict[str, Any]], dict[str, Any]] | None = None
        self.tamper: Callable[[list[Instruction], Pubkey], list[Instruction]] | None = None
        self._lock = threading.Lock()
        self.runtime.deploy_stub(JUPITER)
        self.runtime.create_mint(Pubkey.from_string(MINT), decimals, token_program)
        self.program_authority = Keypair().pubkey()
        self.table = self.runtime.create_lookup_table(
            [JUPITER_EVENT_AUTHORITY, self.program_authority, NATIVE_MINT,
             Pubkey.from_string(MINT), TOKEN_2022]) if lookup_table else None
        self._rpc = rpc_route(self.node)
        self.server = LoopbackServer(self.route)

    # -- set-up and knobs ----------------------------------------------------------------
    def fund(self, wallet: str, lamports: int = 10_000_000_000, *, tokens: int | None = 0,
             mint: str = MINT) -> None:
        """Airdrop SOL; ``tokens`` not None also gives the wallet its token account."""
        owner = Pubkey.from_string(wallet)
        self.runtime.airdrop(owner, lamports)
        if tokens is not None:
            self.runtime.set_token_balance(owner, Pubkey.from_string(mint), tokens)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def jupiter_url(self) -> str:
        return f"{self.url}/swap/v1"

    @property
    def rpc_url(self) -> str:
        return f"{self.url}/rpc"

    @property
    def fee(self) -> int:
        return self.base_fee + self.priority_fee

    @property
    def land(self) -> bool:
        return self.runtime.land

    @land.setter
    def land(self, value: bool) -> None:
        self.runtime.land = value

    @property
    def validity(self) -> int:
        return self.runtime.validity

    @property
    def block_height(self) -> int:
        return self.runtime.block_height

    @block_height.setter
    def block_height(self, height: int) -> None:
        self.runtime.block_height = height

    @property
    def height_step(self) -> int:
        return self.node.height_step

    @height_step.setter
    def height_step(self, step: int) -> None:
        self.node.height_step = step

    @property
    def sent(self) -> list[Sent]:
        """Every transaction sent to the node, as received."""
        result = []
        for raw in list(self.node.sent):
            tx = VersionedTransaction.from_bytes(raw)
            result.append(Sent(raw, str(tx.signatures[0]), all(tx.verify_with_results()),
                               str(tx.message.account_keys[0])))
        return result

    def land_now(self, signature: str) -> None:
        """A transaction held in flight lands now (if its blockhash is still valid)."""
        self.runtime.land_now(signature)

    def lamports(self, wallet: str) -> int:
        return self.runtime.lamports(Pubkey.from_string(wallet))

    def token_units(self, wallet: str, mint: str = MINT) -> int:
        state = self.runtime.token_state(
            self.runtime.token_account(Pubkey.from_string(wallet), Pubkey.from_string(mint)))
        return 0 if state is None else state.amount

    def client(self) -> httpx.Client:
        """An HTTP client to the loopback server that raises the exceptions queued in
        ``failures`` (a timeout cannot be answered by a server); statuses are served."""
        return httpx.Client(transport=_Faults(self, httpx.HTTPTransport()), timeout=5)

    def close(self) -> None:
        self.server.close()

    # -- HTTP ----------------------------------------------------------------------------
    def count(self, op: str) -> Any:
        """Count one request for ``op``; return the failure queued for it, if any."""
        with self._lock:
            self.calls[op] = self.calls.get(op, 0) + 1
            pending = self.failures.get(op)
            return pending.pop(0) if pending else None

    def peek_failure(self, op: str) -> Any:
        with self._lock:
            pending = self.failures.get(op)
            return pending[0] if pending else None

    def route(self, method: str, target: str, body: bytes) -> tuple[int, bytes]:
        url = urlsplit(target)
        op = _op(url.path, body)
        failure = self.count(op)
        if failure is not None:
            return int(failure), json.dumps({"error": "fake", "errorCode": "FAKE"}).encode()
        if url.path.endswith("/quote"):
            params = {k: v[0] for k, v in parse_qs(url.query).items()}
            quote = self._quote(params)
            if self.tamper_quote is not None:
                quote = self.tamper_quote(quote)
            return 200, json.dumps(quote).encode()
        if url.path.endswith("/swap"):
            return 200, json.dumps(self._swap(json.loads(body))).encode()
        return self._rpc(method, target, body)

    # -- Jupiter -------------------------------------------------------------------------
    def _quote(self, params: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            self.quotes.append(params)
            impact = self.impacts.pop(0) if self.impacts else "0.001"
        amount = int(params["amount"])
        buy = params["inputMint"] == SOL
        out = int(Decimal(amount) / self.lamports_per_unit) if buy else int(
            Decimal(amount) * self.lamports_per_unit)
        return {"inputMint": params["inputMint"], "inAmount": str(amount),
                "outputMint": params["outputMint"], "outAmount": str(out),
                "otherAmountThreshold": str(out * 995 // 1000), "swapMode": "ExactIn",
                "slippageBps": int(params["slippageBps"]), "platformFee": None,
                "priceImpactPct": impact, "contextSlot": self.block_height, "timeTaken": 0.01,
                "routePlan": [{"percent": 100, "swapInfo": {
                    "ammKey": "BhQEFZCRnWKQ21LEt4DUby7fKynfmLVJcNjfHNqjEF61",
                    "label": "Fake AMM", "inputMint": params["inputMint"],
                    "outputMint": params["outputMint"], "inAmount": str(amount),
                    "outAmount": str(out)}}]}

    def _swap(self, body: dict[str, Any]) -> dict[str, Any]:
        payer = Pubkey.from_string(body["userPublicKey"])
        quote = body["quoteResponse"]
        ixs = self.swap_instructions(payer, quote)
        if self.tamper is not None:
            ixs = self.tamper(ixs, payer)
        blockhash, last_valid = self.runtime.latest_blockhash()
        tables = [] if self.table is None else [
            AddressLookupTableAccount(self.table, self.runtime.lookup_table(self.table))]
        message = MessageV0.try_compile(payer, ixs, tables, Hash.from_string(blockhash))
        self.runtime.hooks[bytes(message)] = self._outcome(payer, quote)
        unsigned = VersionedTransaction.populate(message, [Signature.default()])
        return {"swapTransaction": base64.b64encode(bytes(unsigned)).decode(),
                "lastValidBlockHeight": last_valid,
                "prioritizationFeeLamports": self.priority_fee}

    def swap_instructions(self, payer: Pubkey, quote: dict[str, Any]) -> list[Instruction]:
        return jupiter_instructions(payer, quote, self.runtime.mint_program,
                                    priority_fee=self.priority_fee,
                                    authority=self.program_authority)

    def _outcome(self, payer: Pubkey, quote: dict[str, Any]) -> Hook:
        rt = self.runtime
        in_mint, out_mint = (Pubkey.from_string(quote[k]) for k in ("inputMint", "outputMint"))
        in_amount, out_amount = int(quote["inAmount"]), int(quote["outAmount"])

        def before() -> None:
            code = self.onchain_error or 0
            if in_mint != NATIVE_MINT:
                held = rt.token_state(rt.token_account(payer, in_mint))
                if held is None or held.amount < in_amount:
                    code = code or INSUFFICIENT_FUNDS
            rt.deploy_stub(JUPITER, code)

        def after() -> None:
            if in_mint == NATIVE_MINT:
                rt.set_lamports(payer, rt.lamports(payer) - in_amount)
            else:
                rt.add_tokens(rt.token_account(payer, in_mint), -in_amount)
            if out_mint == NATIVE_MINT:
                rt.set_lamports(payer, rt.lamports(payer) + out_amount)
            else:
                rt.add_tokens(rt.token_account(payer, out_mint), out_amount)

        return Hook(before, after)


def _op(path: str, body: bytes) -> str:
    if path.endswith("/quote"):
        return "quote"
    if path.endswith("/swap"):
        return "swap"
    try:
        return str(json.loads(body).get("method"))
    except (ValueError, AttributeError):
        return "rpc"


class _Faults(httpx.BaseTransport):
    """Raises a queued exception for an operation before the request leaves the client."""

    def __init__(self, chain: LiveChain, inner: httpx.BaseTransport) -> None:
        self._chain = chain
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        op = _op(request.url.path, request.content)
        if isinstance(self._chain.peek_failure(op), Exception):
            raise self._chain.count(op)
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()
