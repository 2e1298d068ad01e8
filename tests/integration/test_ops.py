"""API keys never stored nor logged (real processes), and ``fleet doctor`` finding a stopped
Redis and a database behind head."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy import Engine, create_engine, text

from domain.errors import InvalidInput
from domain.ports import PriceQuote
from domain.positions import Position
from persistence.cache import Cache
from persistence.db import make_session_factory
from persistence.unit_of_work import SqlAlchemyUnitOfWork
from tests.integration.test_repositories import MINT, NOW, buy_tx, make_agent
from tests.services import create_database, drop_database
from workers.bootstrap import ServiceUrls
from workers.doctor import BEAT_HEARTBEAT_KEY, Check, Doctor
from workers.handlers.operators.keys import create_key
from workers.settings import Settings
from workers.tasks.heartbeat import beat_heartbeat

ROOT = Path(__file__).resolve().parents[2]
BONK = "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263"


class Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fleet_env(database_url: str, redis_url: str, tmp_path: Path) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("SIGNALFLEET_")},
            "SIGNALFLEET_DATABASE_URL": database_url, "SIGNALFLEET_REDIS_URL": redis_url,
            "SIGNALFLEET_LOG_LEVEL": "DEBUG", "SIGNALFLEET_LOG_FORMAT": "json",
            "SIGNALFLEET_VAR_DIR": str(tmp_path)}


def fleet(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "workers.cli", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


# --- API keys ----------------------------------------------------------------------------

def test_a_new_key_is_returned_once_and_only_its_hash_is_stored(clean_db: Engine) -> None:
    uow = SqlAlchemyUnitOfWork(make_session_factory(clean_db))
    new = create_key(uow, Clock(), user_email="p@example.com", scopes=["signals"], name="ci")
    assert new.key.startswith("sf_") and len(new.key) >= 40 and new.prefix == new.key[:8]
    with clean_db.connect() as conn:
        row = conn.execute(text("SELECT key_hash, key_prefix, CAST(api_keys AS text) AS whole "
                                "FROM api_keys")).one()
    assert row.key_hash == hashlib.sha256(new.key.encode()).hexdigest()
    assert row.key_prefix == new.key[:8]
    assert new.key not in row.whole and new.key[8:] not in row.whole


@pytest.fixture
def http_ingest(database_url: str, redis_url: str, clean_db: Engine,
                redis_client: redis.Redis, tmp_path: Path) -> Iterator[tuple[str, Path, dict]]:
    env = fleet_env(database_url, redis_url, tmp_path)
    port, log = free_port(), tmp_path / "http.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "workers.cli", "http-ingest", "--port",
                                 str(port)], env=env, cwd=ROOT, stdout=out,
                                stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"{base}/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        assert proc.poll() is None, log.read_text()
        yield base, log, env
    finally:
        proc.terminate()
        proc.wait(20)


def test_the_key_is_printed_once_and_never_logged(http_ingest: tuple[str, Path, dict]) -> None:
    base, log, env = http_ingest
    created = fleet(env, "keys", "create", "--user", "prov@example.com", "--scope", "signals")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("sf_") and key not in created.stderr
    body = {"token_address": BONK, "signal_type": "buy", "signal_strength": 70}
    accepted = httpx.post(f"{base}/v1/signals", json=body, headers={"X-API-Key": key})
    assert accepted.status_code == 201, accepted.text
    # a provider that puts its key in the query string: uvicorn's access log scrubs it
    in_query = httpx.post(f"{base}/v1/signals?api_key={key}", json=body)
    assert in_query.status_code == 401
    listed = fleet(env, "keys", "list", "--json")
    [row] = json.loads(listed.stdout)
    assert row["prefix"] == key[:8] and row["user"] == "prov@example.com"
    assert row["last_used_at"] is not None and row["revoked_at"] is None
    assert fleet(env, "keys", "revoke", row["id"]).returncode == 0
    refused = httpx.post(f"{base}/v1/signals", json=body, headers={"X-API-Key": key})
    assert refused.status_code == 401
    everything = log.read_text() + listed.stdout + listed.stderr + created.stderr
    assert "http.signal_stored" in everything  # the log was written ...
    assert "uvicorn.access" in everything and "api_key=**redacted**" in everything
    assert key not in everything and key[8:] not in everything  # ... without the key


def test_fleet_keys_create_takes_every_scope(database_url: str, redis_url: str,
                                            clean_db: Engine, tmp_path: Path) -> None:
    env = fleet_env(database_url, redis_url, tmp_path)
    made = fleet(env, "keys", "create", "--user", "ops@example.com", "--scope", "signals",
                 "--scope", "read", "--scope", "admin", "--json")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["scopes"] == ["signals", "read", "admin"]
    refused = fleet(env, "keys", "create", "--user", "ops@example.com", "--scope", "root")
    assert refused.returncode == 2 and "scope: unknown root" in refused.stderr
    assert "known: signals, read, admin" in refused.stderr


def test_fleet_signals_push_refuses_a_type_outside_the_vocabulary(
        database_url: str, redis_url: str, clean_db: Engine, redis_client: redis.Redis,
        tmp_path: Path) -> None:
    env = fleet_env(database_url, redis_url, tmp_path)
    for typo in ("exit", "hodl", "sel"):
        refused = fleet(env, "signals", "push", "--token", BONK, "--type", typo,
                        "--strength", "50")
        assert refused.returncode == 2, refused.stderr
        assert "signal_type" in refused.stderr and "buy (entry)" in refused.stderr
    assert redis_client.xlen("signalfleet:signals") == 0  # nothing pushed


def test_an_unknown_scope_is_refused_and_nothing_stored(clean_db: Engine) -> None:
    uow = SqlAlchemyUnitOfWork(make_session_factory(clean_db))
    with pytest.raises(InvalidInput) as refused:
        create_key(uow, Clock(), user_email="p@example.com", scopes=["signals", "superuser"])
    assert refused.value.field == "scope" and "superuser" in refused.value.reason
    with clean_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM api_keys")).scalar_one() == 0


# --- fleet doctor ------------------------------------------------------------------------

def test_doctor_reports_a_stopped_redis(database_url: str, tmp_path: Path) -> None:
    stopped = f"redis://127.0.0.1:{free_port()}/0"
    result = fleet(fleet_env(database_url, stopped, tmp_path), "doctor", "--json")
    assert result.returncode == 1
    checks = {c["name"]: c for c in json.loads(result.stdout)}
    assert checks["database"]["status"] == "OK"
    assert checks["redis"]["status"] == "FAIL" and "SIGNALFLEET_REDIS_URL" in checks["redis"]["fix"]
    assert checks["broker"]["status"] == "FAIL"
    assert {checks[n]["status"] for n in ("workers", "beat")} == {"FAIL"}


def test_doctor_reports_a_database_behind_head(servers, redis_url: str,  # type: ignore[no-untyped-def]
                                               redis_client: redis.Redis) -> None:
    empty = create_database(servers.admin_database_url, prefix="sf_doctor")
    try:
        doctor = Doctor(Settings(_env_file=None),  # type: ignore[call-arg]
                        ServiceUrls(empty, redis_url, redis_url, False))
        checks = {c.name: c for c in doctor.run()}
    finally:
        drop_database(servers.admin_database_url, empty)
    assert checks["database"].failed and "fleet db upgrade" in checks["database"].fix
    assert checks["redis"].status == "OK" and checks["broker"].status == "OK"


def test_doctor_reports_beat_stopped_after_two_periods(database_url: str, redis_url: str,
                                                      redis_client: redis.Redis) -> None:
    """Beat publishes at least every period (its shortest interval, 5 s here), refreshing its
    heartbeat; one older than two periods is a stopped beat."""
    settings = Settings(_env_file=None, prices_refresh_seconds=5,  # type: ignore[call-arg]
                        positions_sweep_seconds=7, requeue_stale_seconds=10,
                        live_reconcile_seconds=15)
    now = time.time()
    doctor = Doctor(settings, ServiceUrls(database_url, redis_url, redis_url, False),
                    now=lambda: now)
    redis_ok = doctor.redis(redis_client)
    never = doctor.beat(redis_client, redis_ok)
    assert never.failed and "stopped" in never.detail and "fleet beat" in never.fix
    beat_heartbeat(redis_client)
    assert doctor.beat(redis_client, redis_ok).status == "OK"
    redis_client.set(BEAT_HEARTBEAT_KEY, str(now - 9.5))  # under two periods: still beating
    assert doctor.beat(redis_client, redis_ok).status == "OK"
    redis_client.set(BEAT_HEARTBEAT_KEY, str(now - 10.5))
    stopped = doctor.beat(redis_client, redis_ok)
    assert stopped.failed and stopped.detail.startswith("stopped: last heartbeat 10s ago")


def test_doctor_counts_what_waits_in_the_queues(servers) -> None:  # type: ignore[no-untyped-def]
    """Every Celery queue (all priorities) and the signals stream's backlog; a warning when
    messages wait and no worker (or, for the stream, no ingestor) is there to take them."""
    # A database of its own for the queues and the stream: an e2e worker or stream ingestor
    # still running in this session must not take what the test counts.
    quiet_url = servers.redis.url_for(7)
    quiet = redis.Redis.from_url(quiet_url)
    quiet.flushdb()
    doctor = Doctor(Settings(_env_file=None),  # type: ignore[call-arg]
                    ServiceUrls("postgresql://unused/x", quiet_url, quiet_url, False))
    ok, down = Check("x", "OK", ""), Check("x", "FAIL", "", "fix")
    try:
        idle = doctor.queues(quiet, ok, ok, ok)
        assert idle.status == "OK"
        assert idle.detail == ("waiting: signals 0, sweeps 0, maintenance 0, live 0, stream 0")
        quiet.rpush("signals", "m1", "m2")
        quiet.rpush("sweeps\x06\x163", "m3")  # a priority queue counts for its queue
        quiet.xadd("signalfleet:signals", {"payload": "{}"})
        waiting = doctor.queues(quiet, ok, ok, ok)
        assert waiting.status == "OK" and "signals 2, sweeps 1," in waiting.detail
        assert waiting.detail.endswith("stream 1")
        stuck = doctor.queues(quiet, ok, down, ok)
        assert stuck.status == "WARN" and "no worker answers" in stuck.detail
        assert "fleet worker" in stuck.fix
        unread = doctor.queues(quiet, ok, ok, Check("ingestors", "WARN", "", "start"))
        assert unread.status == "WARN" and "fleet ingest" in unread.fix
        assert doctor.queues(quiet, down, ok, ok).failed  # the broker is down
    finally:
        quiet.flushdb()
        quiet.close()


def test_doctor_checks_the_prices_of_held_tokens(uow: SqlAlchemyUnitOfWork, database_url: str,
                                                redis_url: str,
                                                redis_client: redis.Redis) -> None:
    doctor = Doctor(Settings(_env_file=None, price_freshness_seconds=30),  # type: ignore[call-arg]
                    ServiceUrls(database_url, redis_url, redis_url, False))
    ok = Check("x", "OK", "")
    engine = create_engine(database_url)
    try:
        assert doctor.prices(engine, redis_client, ok, ok).status == "OK"  # nothing held
        with uow:
            agent, wallet = make_agent(uow)
            tx = buy_tx(agent, wallet, Decimal("1"), Decimal("1000"))
            uow.transactions.add(tx)
            uow.positions.add(Position(
                id=uuid.uuid4(), agent_id=agent.id, wallet_address=wallet.wallet_address,
                token_address=MINT, token_symbol="T", purchase_transaction_id=tx.id,
                purchase_price=Decimal("0.001"), purchase_amount=Decimal("1000"),
                total_invested_sol=Decimal("1"), created_at=NOW, updated_at=NOW))
            uow.commit()
        never = doctor.prices(engine, redis_client, ok, ok)
        assert never.failed and "never priced" in never.detail
        cache = Cache(redis_client)
        cache.write_prices([PriceQuote(MINT, Decimal("0.002"), datetime.now(UTC), "static")])
        assert doctor.prices(engine, redis_client, ok, ok).status == "OK"
        old = datetime.now(UTC) - timedelta(seconds=300)
        cache.write_prices([PriceQuote(MINT, Decimal("0.002"), old, "static")])
        stale = doctor.prices(engine, redis_client, ok, ok)
        assert stale.failed and "1 of 1" in stale.detail and "prices.refresh" in stale.fix
    finally:
        engine.dispose()
