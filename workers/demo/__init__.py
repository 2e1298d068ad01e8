"""The first-run demo of ``fleet run``: a funded simulation agent, a replayed sample market
(``market.jsonl``) and sample signals (``signals.jsonl``) pushed onto the stream as a
provider would, so a newcomer sees an open, a DCA, take-profit sales, a stop-loss exit and a
sell signal within about a minute. The market stays flat for its first 25 s so the opens
fill at the same prices however long the processes take to start."""

from __future__ import annotations

import json
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import redis

from workers.handlers.operators.agents import NewAgent, create_agent
from workers.ingest.stream import SIGNALS_STREAM

DEMO_DIR = Path(__file__).resolve().parent
MARKET = DEMO_DIR / "market.jsonl"
SIGNALS = DEMO_DIR / "signals.jsonl"
REPLAY_START_KEY = "sf:replay:start"
DEMO_CONFIG: dict[str, Any] = {
    "positionCalculator": {"randomization": {"enabled": False}},
    "stopLoss": {"mode": "fixed", "defaultPercentage": -20},
    "dca": {"enabled": True, "mode": "custom", "maxDCACount": 1, "cooldownSeconds": 10,
            "levels": [{"dropPercent": -10, "buyPercent": 50}]},
    "takeProfit": {"enabled": True, "mode": "custom",
                   "levels": [{"targetPercent": 30, "sellPercent": 40},
                              {"targetPercent": 60, "sellPercent": 30}],
                   "moonBag": {"enabled": True, "triggerPercent": 60, "retainPercent": 10}},
    "staleTrade": {"enabled": False},
}


def demo_env() -> dict[str, str]:
    """Settings the demo's processes run with: the replayed market, brisk sweeps."""
    return {"SIGNALFLEET_PRICE_FEED": "replay", "SIGNALFLEET_REPLAY_FILE": str(MARKET),
            "SIGNALFLEET_PRICES_REFRESH_SECONDS": "1",
            "SIGNALFLEET_POSITIONS_SWEEP_SECONDS": "1"}


def seed(runtime: Any) -> bool:
    """On an empty database: the demo agent, and the market's clock restarted. Returns
    whether it seeded (a second run resumes on the same data)."""
    with runtime.uow() as uow:
        if uow.agents.all():
            return False
    create_agent(runtime.uow(), runtime.clock, NewAgent(name="demo", deposit_sol=Decimal(20),
                                                        config=DEMO_CONFIG))
    runtime.redis.set(REPLAY_START_KEY, runtime.clock.now().isoformat())
    return True


def play_signals(client: redis.Redis, stop: threading.Event, speed: float = 1.0) -> None:
    """Push the sample signals at their offsets from now (a provider in a thread)."""
    started = time.monotonic()
    for line in SIGNALS.read_text().splitlines():
        entry = json.loads(line)
        if stop.wait(max(0.0, started + float(entry["offset_s"]) / speed - time.monotonic())):
            return
        client.xadd(SIGNALS_STREAM, {"payload": json.dumps(entry["payload"])})
