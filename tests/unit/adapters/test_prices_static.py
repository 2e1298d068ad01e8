"""StaticPriceFeed on fakeredis."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import fakeredis
import pytest
import redis

from domain.errors import InvalidInput, TransientError
from tests.unit.adapters.conftest import BONK, JUP, T0, WIF, FixedClock
from workers.adapters.prices import STATIC_PRICES_KEY, StaticPriceFeed


@pytest.fixture(params=[True, False], ids=["str", "bytes"])
def fake_redis(request: pytest.FixtureRequest) -> Iterator[fakeredis.FakeRedis]:
    client = fakeredis.FakeRedis(decode_responses=request.param)
    yield client
    client.close()


def test_set_and_get(fake_redis: fakeredis.FakeRedis, clock: FixedClock) -> None:
    feed = StaticPriceFeed(fake_redis, clock)
    feed.set_price(JUP, Decimal("0.004"), "0.601")
    feed.set_price(BONK, "0.0000001")
    clock.advance(3600)
    prices = feed.get_prices([JUP, BONK, WIF])
    assert set(prices) == {JUP, BONK}
    assert prices[JUP].price_sol == Decimal("0.004") and prices[JUP].price_usd == Decimal("0.601")
    assert prices[BONK].price_usd is None
    assert prices[JUP].observed_at == clock.now() != T0  # static prices are observed "now"
    assert prices[JUP].source == "static"


def test_redis_layout(fake_redis: fakeredis.FakeRedis, clock: FixedClock) -> None:
    StaticPriceFeed(fake_redis, clock).set_price(JUP, Decimal("0.00400"))
    raw: Any = fake_redis.hget(STATIC_PRICES_KEY, JUP)
    data = json.loads(raw)
    assert data == {"price_sol": "0.00400", "price_usd": None, "set_at": T0.isoformat()}


def test_overwrite_and_clear(fake_redis: fakeredis.FakeRedis, clock: FixedClock) -> None:
    feed = StaticPriceFeed(fake_redis, clock)
    feed.set_price(JUP, "1")
    feed.set_price(JUP, "2")
    assert feed.get_prices([JUP])[JUP].price_sol == 2
    assert feed.clear(JUP) is True and feed.clear(JUP) is False
    assert feed.get_prices([JUP]) == {}
    assert feed.get_prices([]) == {}


def test_all_prices(fake_redis: fakeredis.FakeRedis, clock: FixedClock) -> None:
    feed = StaticPriceFeed(fake_redis, clock)
    feed.set_price(JUP, "0.004")
    feed.set_price(BONK, "0.0000001")
    assert set(feed.all_prices()) == {JUP, BONK}


@pytest.mark.parametrize(("args", "field"), [
    (("not a mint", "1"), "token_address"),
    ((JUP, "0"), "price_sol"),
    ((JUP, "-1"), "price_sol"),
    ((JUP, "abc"), "price_sol"),
    ((JUP, 0.5), "price_sol"),
    ((JUP, "1", "-2"), "price_usd"),
])
def test_set_price_validation(fake_redis: fakeredis.FakeRedis, clock: FixedClock,
                              args: tuple[object, ...], field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        StaticPriceFeed(fake_redis, clock).set_price(*args)  # type: ignore[arg-type]
    assert info.value.field == field
    assert fake_redis.hlen(STATIC_PRICES_KEY) == 0


def test_corrupt_value_is_no_price(fake_redis: fakeredis.FakeRedis, clock: FixedClock) -> None:
    fake_redis.hset(STATIC_PRICES_KEY, JUP, "{not json")
    fake_redis.hset(STATIC_PRICES_KEY, BONK, json.dumps({"price_sol": "-1"}))
    fake_redis.hset(STATIC_PRICES_KEY, WIF, json.dumps(["0.1"]))
    assert StaticPriceFeed(fake_redis, clock).get_prices([JUP, BONK, WIF]) == {}


def test_custom_key(fake_redis: fakeredis.FakeRedis, clock: FixedClock) -> None:
    StaticPriceFeed(fake_redis, clock, key="test:prices").set_price(JUP, "1")
    assert fake_redis.hexists("test:prices", JUP)


def test_redis_down_is_transient(clock: FixedClock) -> None:
    class Down(fakeredis.FakeRedis):
        def hmget(self, *args: object, **kwargs: object) -> list[object]:
            raise redis.ConnectionError("Error 111 connecting to localhost:6379")

    with pytest.raises(TransientError, match="ConnectionError"):
        StaticPriceFeed(Down(), clock).get_prices([JUP])
