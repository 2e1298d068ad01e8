"""The live venue port (``domain.ports.LiveVenue``) over Jupiter's swap API, the Solana
RPC and the wallets loaded from ``WALLET_n``: the handlers get domain values back (a
``SwapQuote``, a ``SignedSwap``, a ``SwapStatus``, a ``Fill``), never adapter types."""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_UP, Decimal

from domain.errors import PermanentError
from domain.ledger import SOL_MINT
from domain.money import CONTEXT, SOL_SCALE
from domain.ports import Fill, SignedSwap, SwapQuote, SwapStatus
from domain.submissions import SwapSubmission
from domain.wallet_sync import ChainBalances
from workers.adapters.jupiter import JupiterClient, JupiterQuote
from workers.adapters.live_fills import fill_from_meta, jsonable, token_decimals
from workers.adapters.solana_rpc import SolanaRpc
from workers.adapters.wallets import WalletRegistry


class ChainVenue:
    """``announced`` says whether a live worker holds a wallet's key: a process without keys
    (signals, sweeps) records intents for it; only the live worker signs (docs/rules.md §12)."""

    def __init__(self, jupiter: JupiterClient, rpc: SolanaRpc, wallets: WalletRegistry,
                 announced: Callable[[str], bool] | None = None) -> None:
        self._jupiter, self._rpc, self._wallets = jupiter, rpc, wallets
        self._announced = announced
        # The Jupiter quote behind the last SwapQuote, sent back to /swap exactly as received.
        self._quotes: dict[tuple[str, str, int, int], JupiterQuote] = {}

    def __repr__(self) -> str:
        return f"ChainVenue(wallets={len(self._wallets)})"

    def has_key(self, wallet_address: str) -> bool:
        """The key is here, or a worker serving the live queue holds it."""
        if wallet_address in self._wallets:
            return True
        return self._announced is not None and self._announced(wallet_address)

    def quote(self, input_mint: str, output_mint: str, amount_base_units: int,
              slippage_bps: int) -> SwapQuote:
        found = self._jupiter.quote(input_mint, output_mint, amount_base_units, slippage_bps)
        self._quotes = {_key(found): found}  # only the latest is ever signed
        return SwapQuote(found.input_mint, found.output_mint, found.in_amount, found.out_amount,
                         found.price_impact, jsonable(found.raw))

    def sign_swap(self, quote: SwapQuote, wallet_address: str,
                  max_priority_lamports: int) -> SignedSwap:
        """Build the swap for the quote just taken and sign it with the wallet's key; raises
        ``NotFound`` when the key is not loaded, ``PermanentError`` when refused."""
        wallet = self._wallets.get(wallet_address)
        jupiter_quote = self._quotes.pop(_key(quote), None)
        if jupiter_quote is None:
            raise PermanentError("sign_swap takes the quote this venue returned last")
        swap = self._jupiter.swap_transaction(jupiter_quote, wallet.address,
                                              max_priority_lamports)
        signed = wallet.sign_transaction(swap.swap_transaction_b64)
        return SignedSwap(signed.signature, signed.raw, swap.last_valid_block_height)

    def token_decimals(self, mint: str) -> int:
        return token_decimals(self._rpc, mint)

    def send(self, raw: bytes) -> None:
        self._rpc.send_transaction(raw)

    def block_height(self) -> int:
        return self._rpc.get_block_height()

    def status(self, signature: str) -> SwapStatus | None:
        found = self._rpc.get_signature_status(signature)
        if found is None:
            return None
        error = None if found.err is None else str(found.err)
        return SwapStatus(landed=found.landed, failed=found.failed, error=error)

    def network_fee(self, signature: str) -> Decimal | None:
        meta = self._rpc.get_transaction(signature)
        if meta is None:
            return None
        return meta.fee_sol.quantize(SOL_SCALE, rounding=ROUND_UP, context=CONTEXT)

    def fill(self, sub: SwapSubmission) -> Fill | None:
        assert sub.signature is not None
        meta = self._rpc.get_transaction(sub.signature)
        if meta is None:
            return None
        stored = (sub.quote or {}).get("jupiter")
        quote = stored if isinstance(stored, dict) else None
        return fill_from_meta(sub.side, meta, sub.wallet_address, sub.token_address,
                              sub.signature, quote)

    def wallet_balances(self, wallet_address: str) -> ChainBalances:
        found = self._rpc.get_wallet_balances(wallet_address)
        return ChainBalances(wallet_address, found.slot, found.sol, {
            mint: held.amount for mint, held in found.tokens.items() if mint != SOL_MINT})


def _key(quote: SwapQuote | JupiterQuote) -> tuple[str, str, int, int]:
    return (quote.input_mint, quote.output_mint, quote.in_amount, quote.out_amount)
