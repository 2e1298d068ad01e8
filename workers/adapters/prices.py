"""Price feeds (``domain.ports.PriceFeed``): Jupiter Price v3, DexScreener, static, replay.

A token without a reliable price is **absent** from the result, never zero. Entry-level garbage
(non-numeric or non-positive prices, malformed entries) means "no price" for that token and is
logged; a response body that is not JSON, or not the expected top-level shape, raises
``TransientError`` (an upstream glitch worth retrying). Prices are SOL per token, Decimal.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal, localcontext
from os import PathLike
from pathlib import Path
from typing import Any

import httpx
import redis
import structlog
from pydantic import SecretStr

from domain.agents import TokenMetrics
from domain.errors import InvalidInput, TransientError
from domain.money import CONTEXT
from domain.ports import Clock, PriceQuote
from workers.adapters.http import (
    SOL_MINT,
    RetryingHttp,
    RetryPolicy,
    api_key_headers,
    as_secret,
    chunks,
    is_address,
    loads_json,
    positive_decimal,
    to_decimal,
    unique_addresses,
)

log = structlog.get_logger(__name__)

STATIC_PRICES_KEY = "signalfleet:prices:static"


def _divide(numerator: Decimal, denominator: Decimal) -> Decimal:
    with localcontext(CONTEXT):
        return numerator / denominator


# ---------------------------------------------------------------------------- Jupiter
class JupiterPriceFeed:
    """Jupiter Price API v3: ``GET {url}?ids=a,b,…`` (``url`` ends in ``/price/v3``).

    price_sol = usdPrice(token) / usdPrice(SOL); SOL is requested in every batch (≤ 50 ids).
    """

    source = "jupiter"

    def __init__(self, client: httpx.Client, clock: Clock, *,
                 url: str = "https://api.jup.ag/price/v3",
                 api_key: SecretStr | str | None = None,
                 policy: RetryPolicy | None = None, batch_size: int = 50) -> None:
        if not 2 <= batch_size <= 50:
            raise ValueError("batch_size must be within 2..50")
        self._http = RetryingHttp(client, "jupiter.price", policy)
        self._clock = clock
        self._url = url
        self._api_key = as_secret(api_key)
        self._batch_size = batch_size

    def __repr__(self) -> str:
        return "JupiterPriceFeed()"

    def get_prices(self, token_addresses: Sequence[str]) -> dict[str, PriceQuote]:
        mints = unique_addresses(token_addresses, self.source)
        if not mints:
            return {}
        others = [m for m in mints if m != SOL_MINT]
        result: dict[str, PriceQuote] = {}
        for batch in list(chunks(others, self._batch_size - 1)) or [[]]:
            result.update(self._fetch(batch, include_sol=SOL_MINT in mints))
        return result

    def _fetch(self, batch: list[str], *, include_sol: bool) -> dict[str, PriceQuote]:
        body = self._http.get_json(self._url, operation="price.v3",
                                   params={"ids": ",".join([*batch, SOL_MINT])},
                                   headers=api_key_headers(self._api_key))
        if not isinstance(body, dict):
            raise TransientError("jupiter.price price.v3: unexpected response shape")
        sol_usd = self._usd_price(body, SOL_MINT)
        if sol_usd is None:
            log.warning("prices.sol_price_missing", source=self.source)
            return {}
        now = self._clock.now()
        result = {}
        for mint in [*batch, SOL_MINT] if include_sol else batch:
            usd = self._usd_price(body, mint)
            if usd is not None:
                result[mint] = PriceQuote(mint, _divide(usd, sol_usd), now, self.source, usd)
        return result

    def _usd_price(self, body: Mapping[str, Any], mint: str) -> Decimal | None:
        entry = body.get(mint)
        if entry is None:
            return None  # absent: Jupiter has no reliable price
        raw = entry.get("usdPrice") if isinstance(entry, dict) else None
        price = positive_decimal(raw)
        if price is None:
            log.warning("prices.invalid_price", source=self.source, token=mint,
                        value=str(raw)[:40])
        return price


# ---------------------------------------------------------------------------- DexScreener
def _nested(pair: Mapping[str, Any], outer: str, inner: str) -> Any:
    value = pair.get(outer)
    return value.get(inner) if isinstance(value, dict) else None


def _liquidity_key(pair: Mapping[str, Any]) -> tuple[bool, Decimal]:
    liquidity = to_decimal(_nested(pair, "liquidity", "usd"))
    return (liquidity is not None, liquidity if liquidity is not None else Decimal(0))


class DexScreenerPriceFeed:
    """DexScreener tokens API: ``GET {base_url}/tokens/v1/solana/a,b,…`` (≤ 30 per request).

    A mint's price is the ``priceNative`` of its SOL-quoted pair with the highest
    ``liquidity.usd``; no such pair means no price.
    """

    source = "dexscreener"

    def __init__(self, client: httpx.Client, clock: Clock, *,
                 base_url: str = "https://api.dexscreener.com",
                 policy: RetryPolicy | None = None, batch_size: int = 30) -> None:
        if not 1 <= batch_size <= 30:
            raise ValueError("batch_size must be within 1..30")
        self._http = RetryingHttp(client, "dexscreener", policy)
        self._clock = clock
        self._base_url = base_url.rstrip("/")
        self._batch_size = batch_size

    def __repr__(self) -> str:
        return "DexScreenerPriceFeed()"

    def get_prices(self, token_addresses: Sequence[str]) -> dict[str, PriceQuote]:
        pairs = self._pairs_by_mint(token_addresses)
        now = self._clock.now()
        result = {}
        for mint, candidates in pairs.items():
            priced = [(p, price) for p in candidates
                      if _nested(p, "quoteToken", "address") == SOL_MINT
                      and (price := self._native_price(mint, p)) is not None]
            if priced:
                best, price = max(priced, key=lambda item: _liquidity_key(item[0]))
                usd = positive_decimal(best.get("priceUsd"))
                result[mint] = PriceQuote(mint, price, now, self.source, usd)
        return result

    def get_metrics(self, token_addresses: Sequence[str]) -> dict[str, TokenMetrics]:
        """Market cap and liquidity (USD) of each mint's most liquid pair (any quote token);
        DexScreener has no holder count (always None). A mint without pairs is absent."""
        result = {}
        for mint, candidates in self._pairs_by_mint(token_addresses).items():
            if candidates:
                best = max(candidates, key=_liquidity_key)
                result[mint] = TokenMetrics(
                    market_cap=positive_decimal(best.get("marketCap")),
                    liquidity=to_decimal(_nested(best, "liquidity", "usd")))
        return result

    def sol_reserves(self, token_addresses: Sequence[str]) -> dict[str, Decimal]:
        """The SOL side (``liquidity.quote``) of each mint's most liquid SOL-quoted pair that
        reports one; a mint without such a pair is absent (its depth is unknown)."""
        result = {}
        for mint, candidates in self._pairs_by_mint(token_addresses).items():
            pools = [(p, reserve) for p in candidates
                     if _nested(p, "quoteToken", "address") == SOL_MINT
                     and (reserve := positive_decimal(_nested(p, "liquidity", "quote")))]
            if pools:
                result[mint] = max(pools, key=lambda item: _liquidity_key(item[0]))[1]
        return result

    def _native_price(self, mint: str, pair: Mapping[str, Any]) -> Decimal | None:
        price = positive_decimal(pair.get("priceNative"))
        if price is None:
            log.warning("prices.invalid_price", source=self.source, token=mint,
                        pair=str(pair.get("pairAddress"))[:64],
                        value=str(pair.get("priceNative"))[:40])
        return price

    def _pairs_by_mint(self, token_addresses: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        mints = unique_addresses(token_addresses, self.source)
        found: dict[str, list[dict[str, Any]]] = {m: [] for m in mints}
        for batch in chunks(mints, self._batch_size):
            url = f"{self._base_url}/tokens/v1/solana/{','.join(batch)}"
            body = self._http.get_json(url, operation="tokens.v1")
            if not isinstance(body, list):
                raise TransientError("dexscreener tokens.v1: unexpected response shape")
            for pair in body:
                base = _nested(pair, "baseToken", "address") if isinstance(pair, dict) else None
                if base in found:
                    found[base].append(pair)
        return found


# ---------------------------------------------------------------------------- static
def _price_arg(name: str, value: Decimal | str | int) -> Decimal:
    if isinstance(value, float):
        raise InvalidInput(name, "must be a decimal string or Decimal, not a float")
    price = positive_decimal(value)
    if price is None:
        raise InvalidInput(name, "must be a positive decimal")
    return price


class StaticPriceFeed:
    """Operator-set prices in the Redis hash ``signalfleet:prices:static``.

    Field = mint, value = JSON ``{"price_sol": "0.001", "price_usd": "0.15" | null,
    "set_at": ISO-8601}``. A static price holds until changed, so it is observed "now".
    """

    source = "static"

    def __init__(self, redis_client: redis.Redis, clock: Clock, *,
                 key: str = STATIC_PRICES_KEY) -> None:
        self._redis = redis_client
        self._clock = clock
        self._key = key

    def set_price(self, token_address: str, price_sol: Decimal | str | int,
                  price_usd: Decimal | str | int | None = None) -> PriceQuote:
        if not is_address(token_address):
            raise InvalidInput("token_address", "not a base58 Solana address")
        sol = _price_arg("price_sol", price_sol)
        usd = None if price_usd is None else _price_arg("price_usd", price_usd)
        now = self._clock.now()
        value = json.dumps({"price_sol": str(sol), "price_usd": None if usd is None else str(usd),
                            "set_at": now.isoformat()})
        self._call(lambda: self._redis.hset(self._key, token_address, value))
        return PriceQuote(token_address, sol, now, self.source, usd)

    def clear(self, token_address: str) -> bool:
        """Remove a static price; True when one was set."""
        return bool(self._call(lambda: self._redis.hdel(self._key, token_address)))

    def get_prices(self, token_addresses: Sequence[str]) -> dict[str, PriceQuote]:
        mints = list(dict.fromkeys(token_addresses))
        if not mints:
            return {}
        values = self._call(lambda: self._redis.hmget(self._key, mints))
        return self._parse(zip(mints, values, strict=True))

    def all_prices(self) -> dict[str, PriceQuote]:
        """Every static price (for listings)."""
        items = self._call(lambda: self._redis.hgetall(self._key))
        return self._parse((_text(k), v) for k, v in items.items())

    def _parse(self, items: Iterable[tuple[str, Any]]) -> dict[str, PriceQuote]:
        now = self._clock.now()
        result = {}
        for mint, raw in items:
            if raw is None:
                continue
            try:
                data = loads_json(_text(raw))
                sol, usd = positive_decimal(data["price_sol"]), data.get("price_usd")
            except (ValueError, TypeError, KeyError, AttributeError):
                sol = usd = None
            if sol is None:
                log.warning("prices.invalid_price", source=self.source, token=mint)
                continue
            result[mint] = PriceQuote(mint, sol, now, self.source, positive_decimal(usd))
        return result

    @staticmethod
    def _call(operation: Any) -> Any:
        try:
            return operation()
        except redis.RedisError as exc:
            failure = type(exc).__name__
        raise TransientError(f"static prices: redis {failure}")  # no chained URL/host


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


# ---------------------------------------------------------------------------- replay
@dataclass(frozen=True)
class Tick:
    offset_s: Decimal
    token: str
    price_sol: Decimal
    price_usd: Decimal | None


_TICK_FIELDS = {"offset_s", "token", "price_sol", "price_usd"}


def parse_tick(line_no: int, line: str) -> Tick:
    """One JSONL tick; InvalidInput names ``line N.field``."""
    try:
        data = loads_json(line)
    except (ValueError, RecursionError):
        raise InvalidInput(f"line {line_no}", "not valid JSON") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"line {line_no}", "must be a JSON object")
    unknown = sorted(set(data) - _TICK_FIELDS)
    if unknown:
        raise InvalidInput(f"line {line_no}.{unknown[0]}", "unknown field")
    offset = to_decimal(data.get("offset_s"))
    if offset is None or offset < 0:
        raise InvalidInput(f"line {line_no}.offset_s", "must be a number ≥ 0")
    if not is_address(data.get("token")):
        raise InvalidInput(f"line {line_no}.token", "must be a base58 Solana address")
    price_sol = positive_decimal(data.get("price_sol"))
    if price_sol is None:
        raise InvalidInput(f"line {line_no}.price_sol", "must be a positive decimal")
    price_usd = positive_decimal(data.get("price_usd"))
    if data.get("price_usd") is not None and price_usd is None:
        raise InvalidInput(f"line {line_no}.price_usd", "must be a positive decimal or null")
    return Tick(offset, data["token"], price_sol, price_usd)


def _seconds(delta: timedelta) -> Decimal:
    return Decimal(delta.days * 86_400 + delta.seconds) + Decimal(delta.microseconds) / 10**6


class ReplayPriceFeed:
    """Plays a JSONL file of timed ticks against the clock.

    Each line: ``{"offset_s": 12.5, "token": MINT, "price_sol": "0.001", "price_usd": …}``
    (blank lines ignored). At time ``now`` the feed position is ``(now − start) × speed``;
    each token's price is its latest tick with ``offset_s ≤ position`` (a later line wins at an
    equal offset), observed at ``start + offset_s / speed``.
    """

    source = "replay"

    def __init__(self, source: str | PathLike[str] | Iterable[str], clock: Clock,
                 start: datetime, speed: Decimal | int = 1) -> None:
        speed = Decimal(speed)
        if not speed.is_finite() or speed <= 0:
            raise InvalidInput("speed", "must be a positive number")
        lines = (Path(source).read_text().splitlines()
                 if isinstance(source, str | PathLike) else list(source))
        ticks = [parse_tick(n, line) for n, line in enumerate(lines, start=1) if line.strip()]
        self._ticks: dict[str, list[Tick]] = {}
        for tick in sorted(ticks, key=lambda t: t.offset_s):  # stable: file order at ties
            self._ticks.setdefault(tick.token, []).append(tick)
        self._offsets = {m: [t.offset_s for t in ts] for m, ts in self._ticks.items()}
        self._clock = clock
        self._start = start
        self._speed = speed
        self._last_offset = max((t.offset_s for t in ticks), default=Decimal(0))

    @property
    def duration(self) -> timedelta:
        """Wall-clock time from ``start`` to the last tick (``last offset / speed``)."""
        return self._wall(self._last_offset)

    def get_prices(self, token_addresses: Sequence[str]) -> dict[str, PriceQuote]:
        position = _seconds(self._clock.now() - self._start) * self._speed
        result = {}
        for mint in dict.fromkeys(token_addresses):
            tick = self._latest(mint, position)
            if tick is not None:
                result[mint] = PriceQuote(mint, tick.price_sol,
                                          self._start + self._wall(tick.offset_s),
                                          self.source, tick.price_usd)
        return result

    def _latest(self, mint: str, position: Decimal) -> Tick | None:
        index = bisect_right(self._offsets.get(mint, []), position) - 1
        return self._ticks[mint][index] if index >= 0 else None

    def _wall(self, offset: Decimal) -> timedelta:
        with localcontext(CONTEXT):
            micros = (offset / self._speed * 10**6).to_integral_value(ROUND_FLOOR)
        return timedelta(microseconds=int(micros))
