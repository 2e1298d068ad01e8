"""A fake Jupiter Swap API + Solana RPC in one process (``httpx.MockTransport`` handler).

It builds real unsigned v0 transactions for the wallet (solders ``MessageV0``), verifies every
sent transaction's signature against the payer's public key, and moves balances when a
transaction "lands": the buyer pays ``inAmount`` + the network fee in lamports and receives
``outAmount`` token units (and the reverse for a sell), so ``getTransaction`` reports what a
real fill would.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
from solders.hash import Hash
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

SOL = "So11111111111111111111111111111111111111112"
MINT = "7GCihgDB8fe6KNjn2MYtkzZcRjQy3t9GHdC8uHYmW2hr"
JUPITER_URL = "https://jupiter.test/swap/v1"
RPC_URL = "https://rpc.test/"


@dataclass
class Sent:
    raw: bytes
    signature: str
    verified: bool
    payer: str


@dataclass
class FakeChain:
    decimals: int = 6
    lamports_per_unit: Decimal = Decimal(1)  # 1 lamport per unit = 0.001 SOL per token
    sol_lamports: int = 10_000_000_000
    token_units: int = 0
    base_fee: int = 5_000
    priority_fee: int = 10_000
    block_height: int = 1_000
    validity: int = 150
    height_step: int = 0  # added to the block height at every getBlockHeight
    land: bool = True  # a sent transaction lands (confirmed) at once
    onchain_error: Any = None
    impacts: list[str] = field(default_factory=list)  # priceImpactPct per quote, then "0.001"
    failures: dict[str, list[Any]] = field(default_factory=dict)  # op → statuses/exceptions
    calls: dict[str, int] = field(default_factory=dict)
    sent: list[Sent] = field(default_factory=list)
    swaps: dict[str, dict[str, Any]] = field(default_factory=dict)  # blockhash → quote
    landed: dict[str, dict[str, Any]] = field(default_factory=dict)  # signature → meta
    quotes: list[dict[str, str]] = field(default_factory=list)

    @property
    def fee(self) -> int:
        return self.base_fee + self.priority_fee

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handle))

    # -- routing --------------------------------------------------------------------------
    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/quote"):
            return self._guarded("quote", lambda: self._quote(dict(request.url.params)))
        if path.endswith("/swap"):
            return self._guarded("swap", lambda: self._swap(json.loads(request.content)))
        body = json.loads(request.content)
        method = body["method"]
        return self._guarded(method, lambda: self._rpc(body["id"], method, body["params"]))

    def _guarded(self, op: str, answer: Callable[[], Any]) -> httpx.Response:
        self.calls[op] = self.calls.get(op, 0) + 1
        pending = self.failures.get(op)
        if pending:
            failure = pending.pop(0)
            if isinstance(failure, Exception):
                raise failure
            return httpx.Response(failure, json={"error": "fake", "errorCode": "FAKE"})
        return httpx.Response(200, json=answer())

    # -- Jupiter --------------------------------------------------------------------------
    def _quote(self, params: dict[str, str]) -> dict[str, Any]:
        self.quotes.append(params)
        amount = int(params["amount"])
        buy = params["inputMint"] == SOL
        out = int(Decimal(amount) / self.lamports_per_unit) if buy else int(
            Decimal(amount) * self.lamports_per_unit)
        impact = self.impacts.pop(0) if self.impacts else "0.001"
        return {"inputMint": params["inputMint"], "inAmount": str(amount),
                "outputMint": params["outputMint"], "outAmount": str(out),
                "otherAmountThreshold": str(out * 995 // 1000), "swapMode": "ExactIn",
                "slippageBps": int(params["slippageBps"]), "platformFee": None,
                "priceImpactPct": impact, "contextSlot": 1, "timeTaken": 0.01,
                "routePlan": [{"percent": 100, "swapInfo": {
                    "ammKey": "BhQEFZCRnWKQ21LEt4DUby7fKynfmLVJcNjfHNqjEF61",
                    "label": "Fake AMM", "inputMint": params["inputMint"],
                    "outputMint": params["outputMint"], "inAmount": str(amount),
                    "outAmount": str(out)}}]}

    def _swap(self, body: dict[str, Any]) -> dict[str, Any]:
        payer = Pubkey.from_string(body["userPublicKey"])
        blockhash = Hash.new_unique()
        to = Pubkey.from_string(MINT)
        ix = transfer(TransferParams(from_pubkey=payer, to_pubkey=to, lamports=1))
        message = MessageV0.try_compile(payer, [ix], [], blockhash)
        unsigned = VersionedTransaction.populate(message, [Signature.default()])
        self.swaps[str(blockhash)] = body["quoteResponse"]
        return {"swapTransaction": base64.b64encode(bytes(unsigned)).decode(),
                "lastValidBlockHeight": self.block_height + self.validity,
                "prioritizationFeeLamports": self.priority_fee}

    # -- RPC ------------------------------------------------------------------------------
    def _rpc(self, rid: int, method: str, params: list[Any]) -> dict[str, Any]:
        result = getattr(self, "_" + method)(params)
        return {"jsonrpc": "2.0", "id": rid, "result": result}

    def _sendTransaction(self, params: list[Any]) -> str:
        raw = base64.b64decode(params[0])
        tx = VersionedTransaction.from_bytes(raw)
        signature = str(tx.signatures[0])
        payer = str(tx.message.account_keys[0])
        self.sent.append(Sent(raw, signature, all(tx.verify_with_results()), payer))
        if self.land and signature not in self.landed:
            self.land_now(signature)
        return signature

    def land_now(self, signature: str) -> None:
        """Execute the sent transaction with this signature: move the balances."""
        sent = next(s for s in self.sent if s.signature == signature)
        tx = VersionedTransaction.from_bytes(sent.raw)
        quote = self.swaps[str(tx.message.recent_blockhash)]
        pre_sol, pre_tok = self.sol_lamports, self.token_units
        if self.onchain_error is None:
            if quote["inputMint"] == SOL:
                self.sol_lamports -= int(quote["inAmount"])
                self.token_units += int(quote["outAmount"])
            else:
                self.token_units -= int(quote["inAmount"])
                self.sol_lamports += int(quote["outAmount"])
        self.sol_lamports -= self.fee
        self.landed[signature] = {
            "slot": 5_000 + len(self.landed), "payer": sent.payer, "pre_sol": pre_sol,
            "post_sol": self.sol_lamports, "pre_tok": pre_tok, "post_tok": self.token_units,
            "err": self.onchain_error}

    def _getSignatureStatuses(self, params: list[Any]) -> dict[str, Any]:
        landed = self.landed.get(params[0][0])
        value = None if landed is None else {
            "slot": landed["slot"], "confirmations": None, "err": landed["err"],
            "confirmationStatus": "finalized"}
        return {"context": {"slot": 1}, "value": [value]}

    def _getBlockHeight(self, params: list[Any]) -> int:
        self.block_height += self.height_step
        return self.block_height

    def _getTokenSupply(self, params: list[Any]) -> dict[str, Any]:
        return {"context": {"slot": 1}, "value": {"amount": "1", "decimals": self.decimals,
                                                  "uiAmountString": "0.000001"}}

    def _getTransaction(self, params: list[Any]) -> dict[str, Any] | None:
        landed = self.landed.get(params[0])
        if landed is None:
            return None
        return {"slot": landed["slot"], "meta": {
            "err": landed["err"], "fee": self.fee,
            "preBalances": [landed["pre_sol"], 1], "postBalances": [landed["post_sol"], 1],
            "preTokenBalances": [self._token(landed["payer"], landed["pre_tok"])],
            "postTokenBalances": [self._token(landed["payer"], landed["post_tok"])]}}

    def _token(self, owner: str, units: int) -> dict[str, Any]:
        ui = Decimal(units).scaleb(-self.decimals)
        return {"accountIndex": 2, "mint": MINT, "owner": owner,
                "uiTokenAmount": {"amount": str(units), "decimals": self.decimals,
                                  "uiAmountString": str(ui)}}
