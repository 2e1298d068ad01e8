"""The fleet's state as Prometheus gauges, read at scrape time from PostgreSQL and Redis:
open positions and exposure in SOL, price age per feed, queue depths, live swaps by state,
the reconciler's and the outbox's backlogs. Nothing is kept between scrapes; a backing
service that does not answer sets ``signalfleet_state_up`` to 0 instead of failing the
scrape (the event series stay readable)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import redis
import structlog
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from persistence import metrics_queries as q
from persistence.cache import Cache
from workers.ingest.stream import GROUP, SIGNALS_STREAM

log = structlog.get_logger(__name__)
QUEUES = ("signals", "sweeps", "maintenance", "live")
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")  # kombu's Redis priorities


class FleetState:
    """A prometheus_client collector over the runtime's database and Redis."""

    def __init__(self, runtime: Any) -> None:
        self.rt = runtime

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("signalfleet_state_up",
                               "1 when the database and Redis answered this scrape")
        try:
            families = list(self._families())
        except Exception as exc:  # any backing failure: report it, keep the scrape alive
            log.warning("metrics.state_unavailable", error=type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _families(self) -> Iterator[Metric]:
        rt, now = self.rt, datetime.now(UTC)
        s = rt.settings
        with rt.session_factory() as session:
            holdings = q.holdings(session)
            swaps = q.swaps_by_state(session)
            backlog = q.reconciler_backlog(
                session, now, timedelta(seconds=s.live_submitted_idle_seconds),
                timedelta(seconds=s.live_intent_grace_seconds))
            outbox = q.unfinished_signals(session, now, timedelta(seconds=s.pending_grace_seconds))
        quotes = Cache(rt.redis).latest_prices({h.token_address for h in holdings})
        yield from _positions(holdings, quotes)
        yield from _price_ages(holdings, quotes, now)
        yield _gauge("signalfleet_live_swaps", "Live swap submissions by state", "state",
                     {state: swaps.get(state, 0) for state in
                      ("intent", "submitted", "confirmed", "failed", "expired")})
        yield _gauge("signalfleet_reconciler_backlog",
                     "Live swaps waiting for the reconciler (idle past its wait)", None,
                     {"": backlog})
        yield _gauge("signalfleet_signals_unfinished",
                     "Signals still pending or dispatched after the grace period", None,
                     {"": outbox})
        yield _gauge("signalfleet_queue_depth",
                     "Messages waiting: Celery queues and the ingest stream", "queue",
                     queue_depths(self.rt.urls.broker_url, self.rt.redis))


def queue_depths(broker_url: str, client: redis.Redis) -> dict[str, int]:
    """Messages waiting in each Celery queue (every priority) on the broker, and the signals
    stream's backlog on ``client`` (``stream``). Shared with ``fleet doctor``."""
    broker = redis.Redis.from_url(broker_url, socket_timeout=2, socket_connect_timeout=2)
    try:
        pipe = broker.pipeline(transaction=False)
        for queue in QUEUES:
            for suffix in _PRIORITY_SUFFIXES:
                pipe.llen(queue + suffix)
        counts = pipe.execute()
    finally:
        broker.close()
    n = len(_PRIORITY_SUFFIXES)
    depths = {queue: sum(counts[i * n:(i + 1) * n]) for i, queue in enumerate(QUEUES)}
    depths["stream"] = _stream_backlog(client)
    return depths


def _stream_backlog(client: redis.Redis) -> int:
    """Stream messages not yet read by the ingestors' group, plus read but unacked."""
    try:
        groups = cast(list[dict[str, Any]], client.xinfo_groups(SIGNALS_STREAM))
    except redis.ResponseError:  # no stream yet
        return 0
    for group in groups:
        name = group.get("name")
        if (name.decode() if isinstance(name, bytes) else name) == GROUP:
            return int(group.get("lag") or 0) + int(group.get("pending") or 0)
    return cast(int, client.xlen(SIGNALS_STREAM))


def _gauge(name: str, doc: str, label: str | None, values: Mapping[str, float]) -> Metric:
    family = GaugeMetricFamily(name, doc, labels=[label] if label else None)
    for key, value in values.items():
        family.add_metric([key] if label else [], value)
    return family


def _positions(holdings: list[q.Holding], quotes: dict[str, Any]) -> Iterator[Metric]:
    count: dict[str, int] = defaultdict(int)
    cost: dict[str, Decimal] = defaultdict(Decimal)
    market: dict[str, Decimal] = defaultdict(Decimal)
    for h in holdings:
        count[h.wallet_type] += h.positions
        cost[h.wallet_type] += h.cost_sol
        if h.token_address in quotes:
            market[h.wallet_type] += h.tokens * quotes[h.token_address].price_sol
    modes = ("simulation", "live")
    yield _gauge("signalfleet_open_positions", "Open positions by wallet type", "mode",
                 {mode: count[mode] for mode in modes})
    exposure = GaugeMetricFamily(
        "signalfleet_exposure_sol", "SOL in open positions: cost basis of what is held, and "
        "its market value at the latest prices (priced tokens only)", labels=["mode", "basis"])
    for mode in modes:
        exposure.add_metric([mode, "cost"], float(cost[mode]))
        exposure.add_metric([mode, "market"], float(market[mode]))
    yield exposure


def _price_ages(holdings: list[q.Holding], quotes: dict[str, Any],
                now: datetime) -> Iterator[Metric]:
    """Per feed, the age of the stalest latest price among the held tokens; and how many
    held tokens have no price at all."""
    ages: dict[str, float] = {}
    for token in {h.token_address for h in holdings}:
        quote = quotes.get(token)
        if quote is not None:
            age = max(0.0, (now - quote.observed_at).total_seconds())
            ages[quote.source] = max(age, ages.get(quote.source, 0.0))
    yield _gauge("signalfleet_price_age_seconds",
                 "Age of the stalest latest price of a held token, per feed", "feed", ages)
    unpriced = len({h.token_address for h in holdings} - set(quotes))
    yield _gauge("signalfleet_held_tokens_unpriced", "Held tokens without any cached price",
                 None, {"": unpriced})
