"""``fleet doctor``: is every part of the deployment up, and if not, what to do about it.

Each check answers OK, WARN or FAIL with a detail and, unless OK, the fix. Checks that need a
service another check found down are reported as FAIL without waiting on it again. Every
network call has a short timeout, so a dead service never hangs the doctor.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

import redis
import sqlalchemy as sa
from celery import Celery
from kombu import Connection
from redis import Redis
from sqlalchemy.pool import NullPool

from domain.config import parse_config
from domain.errors import InvalidConfig
from persistence import models as m
from persistence import schema
from persistence.cache import PRICES_KEY
from persistence.repositories.agents import CONFIG_TEXT, stored_config
from workers.bootstrap import ServiceUrls, celery_broker_url
from workers.ingest.stream import HEARTBEAT_KEY as INGESTOR_HEARTBEAT_KEY
from workers.metrics_state import queue_depths
from workers.settings import Settings

BEAT_HEARTBEAT_KEY = "sf:beat:heartbeat"
TIMEOUT = 2.0
MEMORY_WARN_SHARE = 0.8


def beat_period(settings: Settings) -> float:
    """How often beat publishes at least: the shortest interval of its schedule."""
    from workers.schedule import beat_schedule

    return min(float(entry["schedule"]) for entry in beat_schedule(settings).values()
               if isinstance(entry["schedule"], int | float))


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # OK, WARN, FAIL
    detail: str
    fix: str = ""

    @property
    def failed(self) -> bool:
        return self.status == "FAIL"


def _ok(name: str, detail: str) -> Check:
    return Check(name, "OK", detail)


def _fail(name: str, detail: str, fix: str) -> Check:
    return Check(name, "FAIL", detail, fix)


def _config_error(stored: object) -> str | None:
    """The first problem of a stored config (and how many more), or None when it is valid."""
    if isinstance(stored, InvalidConfig):
        errors = stored.errors
    else:
        try:
            parse_config(stored)  # type: ignore[arg-type]
            return None
        except InvalidConfig as exc:
            errors = exc.errors
    path, message = errors[0]
    return f"{path}: {message}" + (f" (+{len(errors) - 1} more)" if len(errors) > 1 else "")


def _mb(n: int) -> str:
    return f"{n / 2**20:.1f} MB"


def _error(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:160]}" if text else type(exc).__name__


@dataclass
class Doctor:
    settings: Settings
    urls: ServiceUrls
    now: Callable[[], float] = time.time

    def run(self) -> list[Check]:
        engine = sa.create_engine(self.urls.database_url, poolclass=NullPool,
                                  connect_args={"connect_timeout": int(TIMEOUT) + 1})
        client = redis.Redis.from_url(self.urls.redis_url, socket_timeout=TIMEOUT,
                                      socket_connect_timeout=TIMEOUT, decode_responses=True)
        try:
            database = self.database(engine)
            cache = self.redis(client)
            broker = self.broker()
            workers, ingestors = self.workers(broker), self.ingestors(client, cache)
            return [database, cache, self.memory(client, cache), broker, workers,
                    self.queues(client, broker, workers, ingestors), self.beat(client, cache),
                    ingestors, self.prices(engine, client, database, cache),
                    self.configs(engine, database), self.tokens_left(engine, database)]
        finally:
            client.close()
            engine.dispose()

    def database(self, engine: sa.Engine) -> Check:
        try:
            current = schema.current_revision(engine)
        except Exception as exc:
            return _fail("database", f"unreachable ({_error(exc)})",
                         "start PostgreSQL or fix SIGNALFLEET_DATABASE_URL")
        head = schema.head_revision()
        if current != head:
            return _fail("database", f"schema at {current or 'an empty state'}, code expects "
                         f"{head}", "run `fleet db upgrade` (or `make migrate`)")
        return _ok("database", f"reachable, schema at head ({head})")

    def redis(self, client: Redis) -> Check:
        try:
            client.ping()
        except redis.RedisError as exc:
            return _fail("redis", f"unreachable ({_error(exc)})",
                         "start Redis or fix SIGNALFLEET_REDIS_URL")
        return _ok("redis", "answering PING")

    def memory(self, client: Redis, cache: Check) -> Check:
        """Redis at ``maxmemory`` refuses writes (``noeviction``): ingestion pauses and tasks
        wait until memory is freed. Warn before that, at 80 %."""
        name = "redis memory"
        if cache.failed:
            return _fail(name, "not checked: Redis is down", "fix Redis first")
        try:
            info = cast(dict[str, object], client.info("memory"))
        except redis.RedisError as exc:
            return _fail(name, f"cannot read INFO ({_error(exc)})", "check Redis")
        used, limit = int(str(info["used_memory"])), int(str(info.get("maxmemory", 0)))
        policy = str(info.get("maxmemory_policy", "noeviction"))
        if policy != "noeviction":
            return _fail(name, f"maxmemory-policy is {policy}: Redis may evict queued tasks",
                         "set maxmemory-policy noeviction (compose.yaml does)")
        if not limit:
            return Check(name, "WARN", f"{_mb(used)} used, no maxmemory: Redis grows until "
                         "the machine runs out", "set maxmemory (compose.yaml sets 512mb)")
        share = used / limit
        detail = f"{_mb(used)} of maxmemory {_mb(limit)} ({share:.0%})"
        if share >= 1:
            return _fail(name, f"{detail}: Redis refuses writes; ingestion and tasks wait",
                         "free memory in Redis or raise its maxmemory")
        if share > MEMORY_WARN_SHARE:
            return Check(name, "WARN", f"{detail}: above {MEMORY_WARN_SHARE:.0%}",
                         "raise maxmemory or find what grows (`redis-cli --bigkeys`)")
        return _ok(name, detail)

    def broker(self) -> Check:
        try:
            with Connection(celery_broker_url(self.urls.broker_url),
                            connect_timeout=TIMEOUT) as conn:
                conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0,
                                       timeout=TIMEOUT)
        except Exception as exc:
            return _fail("broker", f"unreachable ({_error(exc)})",
                         "start the broker's Redis or fix SIGNALFLEET_BROKER_URL")
        return _ok("broker", "accepting connections")

    def workers(self, broker: Check) -> Check:
        if broker.failed:
            return _fail("workers", "not checked: the broker is down", "fix the broker first")
        app = Celery("signalfleet-doctor", broker=celery_broker_url(self.urls.broker_url),
                     set_as_current=False)
        try:
            replies = app.control.inspect(timeout=1.0).ping() or {}
        except Exception as exc:
            return _fail("workers", f"cannot ask ({_error(exc)})", "check the broker")
        finally:
            app.close()
        if not replies:
            return _fail("workers", "no worker answered a ping within 1s",
                         "start one: `fleet worker` (or `fleet run`)")
        return _ok("workers", f"{len(replies)} answering: {', '.join(sorted(replies))}")

    def beat(self, client: Redis, cache: Check) -> Check:
        """Beat refreshes its heartbeat on every publish, so at least once per period (its
        schedule's shortest interval); a heartbeat older than two periods means stopped."""
        if cache.failed:
            return _fail("beat", "not checked: Redis is down", "fix Redis first")
        raw = client.get(BEAT_HEARTBEAT_KEY)
        period = beat_period(self.settings)
        fix = "start exactly one `fleet beat` (or `fleet run`)"
        if raw is None:
            return _fail("beat", "stopped: no heartbeat recorded", fix)
        age = self.now() - float(str(raw))
        if age > 2 * period:
            return _fail("beat", f"stopped: last heartbeat {age:.0f}s ago, more than two "
                         f"periods ({period:g}s each)", fix)
        return _ok("beat", f"heartbeat {max(age, 0):.0f}s ago (every {period:g}s)")

    def ingestors(self, client: Redis, cache: Check) -> Check:
        if cache.failed:
            return _fail("ingestors", "not checked: Redis is down", "fix Redis first")
        alive = list(client.scan_iter(INGESTOR_HEARTBEAT_KEY.format("*"), count=1000))
        if not alive:
            return Check("ingestors", "WARN", "no stream ingestor polling",
                         "start `fleet ingest` unless providers only use HTTP ingest")
        return _ok("ingestors", f"{len(alive)} polling the stream")

    def queues(self, client: Redis, broker: Check, workers: Check, ingestors: Check) -> Check:
        """What waits in each Celery queue and in the signals stream; a warning when messages
        wait and nothing is there to take them."""
        if broker.failed:
            return _fail("queues", "not checked: the broker is down", "fix the broker first")
        try:
            depths = queue_depths(self.urls.broker_url, client)
        except redis.RedisError as exc:
            return _fail("queues", f"cannot read ({_error(exc)})", "check the broker and Redis")
        detail = "waiting: " + ", ".join(f"{name} {n}" for name, n in depths.items())
        stream = depths.pop("stream")
        if sum(depths.values()) and workers.failed:
            return Check("queues", "WARN", f"{detail}, and no worker answers",
                         "start a worker: `fleet worker` (or `fleet run`)")
        if stream and ingestors.status != "OK":
            return Check("queues", "WARN", f"{detail}, and no stream ingestor polls",
                         "start `fleet ingest` (or `fleet run`)")
        return _ok("queues", detail)

    def prices(self, engine: sa.Engine, client: Redis, database: Check,
               cache: Check) -> Check:
        if database.failed or cache.failed:
            return _fail("prices", "not checked: the database or Redis check failed",
                         "fix them first")
        with engine.connect() as conn:
            tokens = list(conn.execute(
                sa.select(m.AgentPosition.token_address).distinct()).scalars())
        if not tokens:
            return _ok("prices", "no open positions, nothing needs a price")
        ages = self._ages(client, tokens)
        limit = self.settings.price_freshness_seconds
        stale = [t for t in tokens if ages.get(t) is None or ages[t] > limit]
        if stale:
            worst = max((ages[t] for t in stale if ages.get(t) is not None), default=None)
            oldest = "never priced" if worst is None else f"oldest {worst:.0f}s"
            return _fail("prices", f"{len(stale)} of {len(tokens)} held tokens stale "
                         f"(limit {limit}s, {oldest})",
                         f"check the `{self.settings.price_feed}` feed "
                         "(SIGNALFLEET_PRICE_FEED) and that worker and beat run prices.refresh")
        return _ok("prices", f"{len(tokens)} held tokens priced within {limit}s")

    def configs(self, engine: sa.Engine, database: Check) -> Check:
        """Agents whose stored trading config no longer validates (written before a bound
        existed, or by hand): the sweep skips their positions, so nothing protects them."""
        if database.failed:
            return _fail("configs", "not checked: the database check failed", "fix it first")
        with engine.connect() as conn:
            rows = conn.execute(sa.select(m.Agent.id, m.Agent.name, CONFIG_TEXT)
                                .order_by(m.Agent.name)).all()
        bad = [(row, error) for row in rows
               if (error := _config_error(stored_config(row.config_text))) is not None]
        if not bad:
            return _ok("configs", f"{len(rows)} agents' trading configs valid")
        listed = "; ".join(f"{row.name} ({row.id}): {error}" for row, error in bad[:10])
        more = f"; and {len(bad) - 10} more" if len(bad) > 10 else ""
        return _fail("configs", f"{len(bad)} agents with an invalid stored config, their "
                     f"positions not swept: {listed}{more}",
                     "give each a valid config: `fleet agents config AGENT_ID --set FILE`")

    def tokens_left(self, engine: sa.Engine, database: Check) -> Check:
        """Open positions whose tokens left the wallet without a swap (the wallet sync found
        them, docs/rules.md §12): the position holds less than was bought, or nothing."""
        if database.failed:
            return _fail("positions", "not checked: the database check failed", "fix it first")
        p = m.AgentPosition
        with engine.connect() as conn:
            rows = conn.execute(sa.select(p.id, p.token_address, p.tokens_left,
                                          sa.func.coalesce(p.remaining_amount,
                                                           p.purchase_amount).label("holding"))
                                .where(p.tokens_left.is_not(None))
                                .order_by(p.created_at)).all()
        if not rows:
            return _ok("positions", "no open position lost tokens outside a swap")
        listed = "; ".join(f"{row.id} ({row.token_address}): {row.tokens_left.normalize():f} "
                           f"left, {row.holding.normalize():f} held" for row in rows[:10])
        more = f"; and {len(rows) - 10} more" if len(rows) > 10 else ""
        return Check("positions", "WARN", f"{len(rows)} open positions whose tokens left the "
                     f"wallet: {listed}{more}",
                     "check the wallet's history; `fleet positions write-off ID` closes one "
                     "that holds nothing (or `fleet positions close ID` sells what is left)")

    def _ages(self, client: Redis, tokens: list[str]) -> dict[str, float]:
        raw = cast(list[str | None], client.hmget(PRICES_KEY, tokens))
        out: dict[str, float] = {}
        for token, value in zip(tokens, raw, strict=True):
            if value is not None:
                observed = datetime.fromisoformat(json.loads(value)["observed_at"])
                out[token] = self.now() - observed.astimezone(UTC).timestamp()
        return out
