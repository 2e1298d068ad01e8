"""structlog, configured once per process: JSON in production, console in development.

Celery's, SQLAlchemy's and Alembic's stdlib logs go through the same processors, and a
redaction processor removes secrets (wallet keys, API keys, passwords) from every event.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any

import structlog

_SECRET_KEYS = re.compile(r"(secret|password|passwd|api_key|apikey|token_secret|private|seed)",
                          re.IGNORECASE)
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-z+]+://[^:/@\s]+:)[^@\s]+@")
_REDACTED = "**redacted**"
_extra_secrets: set[str] = set()


def register_secrets(values: Iterable[str]) -> None:
    """Add literal strings (e.g. wallet secrets) that must never reach a log line."""
    _extra_secrets.update(v for v in values if v and len(v) >= 8)


def _scrub(text: str) -> str:
    text = _URL_PASSWORD.sub(r"\g<scheme>" + _REDACTED + "@", text)
    for secret in _extra_secrets:
        if secret in text:
            text = text.replace(secret, _REDACTED)
    return text


def redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in list(event.items()):
        if _SECRET_KEYS.search(key) and value is not None:
            event[key] = _REDACTED
        elif isinstance(value, str):
            event[key] = _scrub(value)
        elif not isinstance(value, int | float | bool) and value is not None:
            event[key] = _scrub(str(value))
    return event


def configure_logging(log_format: str = "console", level: str = "INFO") -> None:
    from workers.metrics import metrics_tap

    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        metrics_tap,  # counts the outcome events (workers/metrics.py); changes nothing
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redact,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared, processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer]))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("sqlalchemy.engine", "pgserver", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
