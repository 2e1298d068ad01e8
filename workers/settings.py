"""Process settings (pydantic-settings, prefix ``SIGNALFLEET_``), read once per process.

Entry points call :func:`get_settings` and pass the result down; nothing else reads the
environment (a listing reads where the database is by the same rules without this module:
workers/environment.py). Secrets are ``SecretStr`` so they never show in reprs or logs.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal, Self

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.errors import InvalidInput
from domain.vocabulary import Vocabulary, parse_vocabulary
from workers.passwords import PASSWORD_FIX, weak_password, weak_url_password


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SIGNALFLEET_", env_file=".env", extra="ignore")

    # Services. Empty URLs mean: start the embedded PostgreSQL/Redis under var_dir.
    database_url: SecretStr | None = None
    redis_url: SecretStr | None = None
    broker_url: SecretStr | None = None  # defaults to redis_url
    var_dir: Path = Path("var")

    # Database pool (max = pool_size + max_overflow).
    db_pool_size: int = Field(10, ge=1)
    db_max_overflow: int = Field(20, ge=0)
    db_pool_timeout: float = Field(30.0, gt=0)

    # Logging.
    log_format: Literal["console", "json"] = "console"
    log_level: str = "INFO"

    # Flower.
    flower_user: str | None = None
    flower_password: SecretStr | None = None
    flower_port: int = 5555
    flower_allow_no_auth: bool = False

    # Price feeds and chain.
    price_feed: Literal["static", "replay", "jupiter", "dexscreener"] = "static"
    replay_file: Path | None = None
    replay_speed: Decimal = Decimal(1)
    jupiter_api_key: SecretStr | None = None
    jupiter_price_url: str = "https://api.jup.ag/price/v3"
    jupiter_swap_url: str = "https://api.jup.ag/swap/v1"
    dexscreener_url: str = "https://api.dexscreener.com"
    rpc_url: str = "https://api.mainnet-beta.solana.com"
    http_timeout_seconds: float = Field(5.0, gt=0)
    http_max_attempts: int = Field(4, ge=1)
    # Market data: eligibility metrics and simulated price impact (auto: Jupiter when an API
    # key is set; see workers/adapters/market_data.py and price_impact.py).
    metrics_source: Literal["auto", "jupiter", "dexscreener", "none"] = "auto"
    jupiter_tokens_url: str = "https://api.jup.ag/tokens/v2"
    price_impact_source: Literal["auto", "jupiter", "dexscreener", "none"] = "auto"
    market_data_ttl_seconds: float = Field(30.0, gt=0)
    slippage_bps: int = Field(50, ge=0, le=10_000)
    max_priority_fee_lamports: int = Field(1_000_000, ge=0)

    # Live swaps (docs/rules.md §12): confirm window of live.execute, then the reconciler's turn.
    live_confirm_timeout_seconds: float = Field(30.0, gt=0)
    live_poll_seconds: float = Field(1.0, gt=0)
    live_resend_seconds: float = Field(2.0, gt=0)
    live_reconcile_seconds: float = Field(15.0, gt=0)
    live_submitted_idle_seconds: float = Field(60.0, ge=0)
    live_intent_grace_seconds: float = Field(120.0, ge=0)
    # Balances from the chain (beat wallets.sync): how often, and how long after a live swap
    # of the agent changed a wallet is left alone (the RPC node and the ledger settle).
    wallet_sync_seconds: float = Field(300.0, gt=0)
    wallet_sync_settle_seconds: float = Field(60.0, ge=0)

    # Simulated fills.
    paper_slippage_bps: int = Field(0, ge=0, le=10_000)
    paper_protocol_fee_bps: int = Field(0, ge=0, le=10_000)
    paper_network_fee_sol: Decimal = Decimal("0.000005")

    # Pipeline.
    fanout_chunk_size: int = Field(100, ge=1)
    # The stream ingestor executes a signal reaching at most this many agents itself, with no
    # Celery hop (0: every fan-out goes to the workers); its row-lock waits give up after
    # ingest_lock_timeout_ms and hand the signal to the workers.
    inline_fanout_agents: int = Field(10, ge=0, le=1000)
    ingest_lock_timeout_ms: int = Field(2000, ge=1)
    max_open_positions: int = Field(25, ge=1)
    pending_grace_seconds: int = Field(30, ge=1)
    # A signal's agent waiting for its turn FAILs this long after receipt (docs/rules.md §3).
    signal_max_wait_seconds: int = Field(300, ge=1)
    price_freshness_seconds: int = Field(30, ge=1)

    # Beat intervals.
    prices_refresh_seconds: float = Field(2.0, gt=0)
    positions_sweep_seconds: float = Field(2.0, gt=0)
    requeue_stale_seconds: float = Field(10.0, gt=0)
    price_downsample_seconds: float = Field(600.0, gt=0)

    # Price history: raw rows for this window, 1-minute bars after it (README).
    price_history_raw_hours: float = Field(24.0, gt=0)

    # Celery.
    # How long the messages of a worker that died wait before another takes them: live
    # workers renew the lease of what they hold (workers/broker.py), so neither a task's time
    # limits nor a retry's countdown need to fit inside it.
    visibility_timeout_seconds: int = Field(30, ge=10)
    task_soft_time_limit_seconds: int = Field(60, ge=1)
    task_time_limit_seconds: int = Field(90, ge=1)
    task_max_retries: int = Field(8, ge=0)  # backoff 1 s doubling to 60 s: ~3 min
    worker_concurrency: int = Field(2, ge=1)

    # The signal vocabulary (comma-separated, any case; `*` as the entry list: every type that
    # is not an exit). Other types are refused where a signal enters (domain/vocabulary.py).
    entry_signal_types: str = "buy"
    exit_signal_types: str = "sell"

    # HTTP ingest and its dashboard (fleet http-ingest; `fleet run` serves it on this port).
    http_port: int = Field(8000, ge=1, le=65535)
    http_rate_limit_per_minute: int = Field(600, ge=1)
    http_max_body_bytes: int = Field(65_536, ge=1024)


    @model_validator(mode="after")
    def _vocabulary_parses(self) -> Self:
        try:
            parse_vocabulary(self.entry_signal_types, self.exit_signal_types)
        except InvalidInput as exc:
            raise ValueError(f"{exc.field}: {exc.reason}") from None
        return self

    @property
    def vocabulary(self) -> Vocabulary:
        return parse_vocabulary(self.entry_signal_types, self.exit_signal_types)


def weak_secrets(settings: Settings) -> list[str]:
    """One line per weak password: Flower's always; a password in a service URL when the
    service is on another host (a database on this machine's loopback may keep a short one,
    never an example)."""
    found: list[str] = []
    if settings.flower_password is not None:
        why = weak_password(settings.flower_password.get_secret_value())
        if why:
            found.append(f"SIGNALFLEET_FLOWER_PASSWORD {why}: {PASSWORD_FIX}")
    for name in ("database_url", "redis_url", "broker_url"):
        value: SecretStr | None = getattr(settings, name)
        why = weak_url_password(name, value.get_secret_value()) if value is not None else None
        if why:
            found.append(why)
    return found


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read from the environment once. A setting that does not
    parse, or a weak or example password, stops the process with one line saying which
    and how to fix it (never a traceback)."""
    try:
        settings = Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        name = f"SIGNALFLEET_{where.upper()}: " if where else ""
        raise SystemExit(f"error: {name}{first['msg'].removeprefix('Value error, ')}") from None
    weak = weak_secrets(settings)
    if weak:
        raise SystemExit(f"error: {weak[0]}")
    return settings
