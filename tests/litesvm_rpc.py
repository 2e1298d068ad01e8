"""A Solana JSON-RPC node over :class:`tests.litesvm_chain.SolanaRuntime`, served on a loopback
HTTP port, so ``workers.adapters.solana_rpc.SolanaRpc`` talks to a real SVM exactly as it
talks to a cluster: the same methods, parameters, result shapes and error codes.

Methods: sendTransaction, getSignatureStatuses, getTransaction (json), getBlockHeight,
getLatestBlockhash, getBalance, getTokenAccountsByOwner (jsonParsed), getTokenSupply,
getAccountInfo and getMultipleAccounts (base64).
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

from solders.account import Account
from solders.pubkey import Pubkey
from solders.transaction import Legacy, VersionedTransaction

from tests.litesvm_chain import TOKEN, TOKEN_2022, Landed, SolanaRuntime, encode_message

INVALID_PARAMS, SIGNATURE_FAILURE, UNSUPPORTED_VERSION = -32602, -32003, -32015


class RpcError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _pubkey(value: object) -> Pubkey:
    try:
        return Pubkey.from_string(cast(str, value))
    except (ValueError, TypeError):
        raise RpcError(INVALID_PARAMS, f"Invalid param: {value!r} is not a pubkey") from None


def _options(params: list[Any], index: int) -> dict[str, Any]:
    value = params[index] if len(params) > index else None
    return value if isinstance(value, dict) else {}


def _encode_account(account: Account | None) -> dict[str, Any] | None:
    if account is None:
        return None
    return {"data": [base64.b64encode(bytes(account.data)).decode(), "base64"],
            "executable": account.executable, "lamports": account.lamports,
            "owner": str(account.owner), "rentEpoch": account.rent_epoch,
            "space": len(account.data)}


@dataclass
class RpcNode:
    """The JSON-RPC methods. ``height_step`` moves the chain at every ``getBlockHeight``
    (a cluster that keeps producing blocks while the client waits)."""

    runtime: SolanaRuntime
    height_step: int = 0
    sent: list[bytes] = field(default_factory=list)

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        rid = body.get("id")
        method = getattr(self, f"_{body.get('method')}", None)
        params = body.get("params") or []
        if method is None or not isinstance(params, list):
            return {"jsonrpc": "2.0", "id": rid,
                    "error": {"code": -32601, "message": "Method not found"}}
        try:
            return {"jsonrpc": "2.0", "id": rid, "result": method(params)}
        except RpcError as exc:
            return {"jsonrpc": "2.0", "id": rid,
                    "error": {"code": exc.code, "message": exc.message}}

    def context(self) -> dict[str, Any]:
        return {"apiVersion": "2.2.0", "slot": self.runtime.block_height}

    # -- transactions ------------------------------------------------------------------
    def _sendTransaction(self, params: list[Any]) -> str:
        if _options(params, 1).get("encoding") != "base64":
            raise RpcError(INVALID_PARAMS, "the fake node accepts base64 only")
        try:
            raw = base64.b64decode(params[0], validate=True)
            tx = VersionedTransaction.from_bytes(raw)
        except (binascii.Error, ValueError, TypeError, IndexError):
            raise RpcError(INVALID_PARAMS, "failed to deserialize transaction") from None
        self.sent.append(raw)
        if not all(tx.verify_with_results()):
            raise RpcError(SIGNATURE_FAILURE, "Transaction signature verification failure")
        return self.runtime.submit(raw)

    def _getSignatureStatuses(self, params: list[Any]) -> dict[str, Any]:
        values = []
        for signature in params[0]:
            landed = self.runtime.landed.get(signature)
            values.append(None if landed is None else {
                "slot": landed.slot, "confirmations": None, "err": landed.err,
                "status": {"Ok": None} if landed.err is None else {"Err": landed.err},
                "confirmationStatus": "finalized"})
        return {"context": self.context(), "value": values}

    def _getTransaction(self, params: list[Any]) -> dict[str, Any] | None:
        options = _options(params, 1)
        if options.get("encoding", "json") != "json":
            raise RpcError(INVALID_PARAMS, "the fake node encodes json only")
        landed = self.runtime.landed.get(params[0])
        if landed is None:
            return None
        tx = VersionedTransaction.from_bytes(landed.raw)
        legacy = tx.version() == Legacy.Legacy
        if not legacy and options.get("maxSupportedTransactionVersion") is None:
            raise RpcError(UNSUPPORTED_VERSION, "Transaction version (0) is not supported by "
                           "the requesting client. Please try the request again with the "
                           "following configuration parameter: "
                           '"maxSupportedTransactionVersion": 0')
        return {"slot": landed.slot, "blockTime": None,
                "version": "legacy" if legacy else 0,
                "transaction": {"signatures": [str(s) for s in tx.signatures],
                                "message": encode_message(tx.message)},
                "meta": _meta(landed)}

    # -- chain -------------------------------------------------------------------------
    def _getBlockHeight(self, params: list[Any]) -> int:
        if self.height_step:
            self.runtime.block_height += self.height_step
        return self.runtime.block_height

    def _getLatestBlockhash(self, params: list[Any]) -> dict[str, Any]:
        blockhash, last_valid = self.runtime.latest_blockhash()
        return {"context": self.context(),
                "value": {"blockhash": blockhash, "lastValidBlockHeight": last_valid}}

    # -- accounts ----------------------------------------------------------------------
    def _getBalance(self, params: list[Any]) -> dict[str, Any]:
        return {"context": self.context(),
                "value": self.runtime.lamports(_pubkey(params[0] if params else None))}

    def _getAccountInfo(self, params: list[Any]) -> dict[str, Any]:
        self._base64(params)
        return {"context": self.context(),
                "value": _encode_account(self.runtime.account(_pubkey(params[0])))}

    def _getMultipleAccounts(self, params: list[Any]) -> dict[str, Any]:
        self._base64(params)
        keys = params[0] if params and isinstance(params[0], list) else None
        if keys is None or len(keys) > 100:
            raise RpcError(INVALID_PARAMS, "Invalid params: expected at most 100 pubkeys")
        return {"context": self.context(),
                "value": [_encode_account(self.runtime.account(_pubkey(k))) for k in keys]}

    def _getTokenSupply(self, params: list[Any]) -> dict[str, Any]:
        mint = _pubkey(params[0] if params else None)
        decimals = self.runtime.mint_decimals(mint)
        if decimals is None:
            raise RpcError(INVALID_PARAMS, "Invalid param: not a Token mint")
        supply = 10**18
        return {"context": self.context(),
                "value": {"amount": str(supply), "decimals": decimals, "uiAmount": None,
                          "uiAmountString": str(supply // 10**decimals)}}

    def _getTokenAccountsByOwner(self, params: list[Any]) -> dict[str, Any]:
        owner = _pubkey(params[0] if params else None)
        selector = _options(params, 1)
        if _options(params, 2).get("encoding") != "jsonParsed":
            raise RpcError(INVALID_PARAMS, "the fake node encodes jsonParsed only")
        if "programId" in selector:
            program = _pubkey(selector["programId"])
            if program not in (TOKEN, TOKEN_2022):
                raise RpcError(INVALID_PARAMS, "Invalid param: unrecognized Token program id")
            found = self.runtime.token_accounts(owner, program)
        elif "mint" in selector:
            mint = _pubkey(selector["mint"])
            found = [(k, s) for p in (TOKEN, TOKEN_2022)
                     for k, s in self.runtime.token_accounts(owner, p) if s.mint == str(mint)]
        else:
            raise RpcError(INVALID_PARAMS, "Invalid params: expected a mint or programId")
        value = []
        for key, state in found:
            account = self.runtime.account(key)
            assert account is not None
            parsed = {"program": "spl-token" if state.program == str(TOKEN) else "spl-token-2022",
                      "parsed": {"type": "account", "info": {
                          "isNative": state.mint == "So11111111111111111111111111111111111111112",
                          "mint": state.mint, "owner": state.owner, "state": "initialized",
                          "tokenAmount": state.rpc_amount()}},
                      "space": len(account.data)}
            value.append({"pubkey": str(key), "account": {
                "data": parsed, "executable": False, "lamports": account.lamports,
                "owner": state.program, "rentEpoch": account.rent_epoch,
                "space": len(account.data)}})
        return {"context": self.context(), "value": value}

    @staticmethod
    def _base64(params: list[Any]) -> None:
        if _options(params, 1).get("encoding", "base64") != "base64":
            raise RpcError(INVALID_PARAMS, "the fake node encodes base64 only")


def _meta(landed: Landed) -> dict[str, Any]:
    def token_balances(snapshots: list[Any]) -> list[dict[str, Any]]:
        return [{"accountIndex": i, "mint": s.token.mint, "owner": s.token.owner,
                 "programId": s.token.program, "uiTokenAmount": s.token.rpc_amount()}
                for i, s in enumerate(snapshots) if s.token is not None]

    meta = landed.meta
    writable, readonly = landed.loaded
    return {"err": landed.err,
            "status": {"Ok": None} if landed.err is None else {"Err": landed.err},
            "fee": meta.fee(), "preBalances": [s.lamports for s in landed.pre],
            "postBalances": [s.lamports for s in landed.post],
            "preTokenBalances": token_balances(landed.pre),
            "postTokenBalances": token_balances(landed.post),
            "innerInstructions": [], "logMessages": list(meta.logs()), "rewards": [],
            "loadedAddresses": {"writable": writable, "readonly": readonly},
            "computeUnitsConsumed": meta.compute_units_consumed()}


Route = Callable[[str, str, bytes], tuple[int, bytes]]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real nodes
    disable_nagle_algorithm = True  # headers and body go out at once (no 40 ms ACK stall)

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def _answer(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        status, content = cast(Any, self.server).route(self.command, self.path, body)
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def log_message(self, *args: object) -> None:
        pass


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1 (a free port) answering with ``route``."""

    def __init__(self, route: Route) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.route = route  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> LoopbackServer:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def rpc_route(node: RpcNode) -> Route:
    """Every POST is a JSON-RPC request to ``node``."""

    def route(method: str, path: str, body: bytes) -> tuple[int, bytes]:
        if method != "POST":
            return 405, b'{"error": "POST only"}'
        try:
            request = json.loads(body)
        except ValueError:
            return 200, json.dumps({"jsonrpc": "2.0", "id": None, "error": {
                "code": -32700, "message": "Parse error"}}).encode()
        return 200, json.dumps(node.answer(request)).encode()

    return route
