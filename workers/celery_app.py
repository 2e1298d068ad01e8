"""The Celery application (docs/architecture.md). Configured lazily from settings on first use, so
importing this module starts nothing and connects to nothing."""

from __future__ import annotations

import contextlib
from typing import Any

from celery import Celery
from celery.signals import worker_init, worker_process_init
from kombu import Queue

from workers.bootstrap import (
    celery_broker_url,
    container,
    preload,
    reset,
    resolve_urls,
    use_sender,
)
from workers.broker import fleet_broker_url
from workers.ingest import task_json
from workers.schedule import beat_schedule
from workers.settings import get_settings

QUEUES = ("signals", "sweeps", "maintenance", "live")
ROUTES = {
    "signals.*": {"queue": "signals"},
    "positions.*": {"queue": "sweeps"},
    "prices.*": {"queue": "sweeps"},
    "balances.*": {"queue": "maintenance"},
    # Live swaps sign with WALLET_n: only workers holding every assigned key consume this
    # queue (workers/live_worker.py); it also keeps 30 s confirmations off `signals`.
    "live.*": {"queue": "live"},
    # The reconciler signs nothing (it re-sends stored bytes, resolves by signature status and
    # fails intents never signed): any worker runs it, and a deployment without a live worker
    # does not pile one message per run onto a queue nothing serves.
    "live.reconcile": {"queue": "maintenance"},
    "wallets.*": {"queue": "maintenance"},
    "ops.*": {"queue": "maintenance"},
}

app = Celery("signalfleet", include=["workers.tasks", "workers.metrics_celery"])
task_json.install()  # a repeated key in a task's JSON is dead-lettered, not lost


def _send(name: str, args: list[object], countdown: float | None = None) -> None:
    app.send_task(name, args=args, countdown=countdown)


use_sender(_send)  # how the composition root's TaskQueue reaches the workers
preload()  # the pool's children inherit every adapter imported, as a worker always did


def celery_config() -> dict[str, Any]:
    settings = get_settings()
    broker = fleet_broker_url(celery_broker_url(resolve_urls(settings).broker_url))
    visibility = settings.visibility_timeout_seconds
    return {
        # workers.broker: leases renewed by live workers, so the visibility timeout is how long
        # a dead worker's messages wait (not the longest task); Redis outages are waited out.
        "broker_url": broker,
        # kombu scans for messages a dead worker left unacknowledged only every interval ×
        # throttle seconds (10 × 10 by default): scan every visibility/10 s (1..10) instead.
        "broker_transport_options": {"visibility_timeout": visibility,
                                     "unacked_restore_interval": max(1, min(10, visibility // 10)),
                                     "unacked_restore_throttle": 1},
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,  # Redis unreachable: wait, never exit
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "task_ignore_result": True,
        "result_backend": None,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_acks_on_failure": True,
        "task_acks_on_timeout": False,  # the hard time limit requeues: retried, not dropped
        "worker_prefetch_multiplier": 1,
        "task_soft_time_limit": settings.task_soft_time_limit_seconds,
        "task_time_limit": settings.task_time_limit_seconds,
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "worker_soft_shutdown_timeout": 10.0,
        "worker_enable_soft_shutdown_on_idle": True,
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        "worker_hijack_root_logger": False,
        # structlog writes to sys.stderr; redirected in pool children, every task log line
        # was swallowed by the redirect's recursion guard (nothing a task logged was seen)
        "worker_redirect_stdouts": False,
        "task_default_queue": "signals",
        "task_queues": [Queue(name) for name in QUEUES],
        "task_routes": ROUTES,
        "timezone": "UTC",
        "enable_utc": True,
        "beat_max_loop_interval": 1.0,
        "beat_scheduler": "workers.beat_scheduler:Scheduler",  # rides out Redis outages
    }


# Read lazily, when the configuration is first used (not at import).
app.add_defaults(celery_config)


def _schedule(sender: Celery, **_: Any) -> None:
    # After configuring: a crontab looks up the current app's conf when it is built.
    sender.conf.beat_schedule = beat_schedule(get_settings())


def _refuse_stale_schema(**_: Any) -> None:
    """Workers refuse to start on a database that is not at head."""
    container().require_schema_at_head()


def _refuse_live_without_keys(sender: Any = None, **_: Any) -> None:
    """A worker consuming the live queue refuses to start without every assigned key."""
    from workers.live_worker import LIVE_QUEUE, require_live_keys

    consumed = getattr(getattr(sender, "app", app).amqp.queues, "consume_from", None) or {}
    if LIVE_QUEUE in consumed:
        require_live_keys(container())


def _load_before_fork(**_: Any) -> None:
    """Build the wiring once in the main process so the modules it imports lazily are loaded
    before the pool forks: httpx's client imports httpcore (and with it trio), which took
    ~1.4 s on a busy machine inside each pool child's first task — the first signal a
    worker executed waited for it. The children still build their own container. A wiring
    that cannot be built stops no worker here: each task reports it, as before."""
    with contextlib.suppress(Exception):  # the tasks raise it again, with their context
        container().deps  # noqa: B018


def _after_fork(**_: Any) -> None:
    reset()


# Celery's signal decorators are untyped: connect the typed functions by call.
app.on_after_configure.connect(_schedule)
worker_init.connect(_refuse_stale_schema)
worker_init.connect(_refuse_live_without_keys)
worker_init.connect(_load_before_fork)
worker_process_init.connect(_after_fork)
