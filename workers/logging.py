"""structlog, configured once per process: JSON in production, console in development.

Celery's, uvicorn's, SQLAlchemy's and Alembic's stdlib logs go through the same processors,
and a redaction processor removes secrets from every event: API keys (in query strings,
``X-API-Key``/``Authorization`` headers, this system's ``sf_…`` keys), passwords in URLs and
``password=`` fields, Solana secret keys (base58 of a 64-byte keypair, 64-byte JSON arrays)
and the registered wallet secrets. tests/integration/test_secret_scan.py proves it on every sink.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
import warnings
from collections.abc import Iterable, Mapping, MutableMapping
from types import TracebackType
from typing import IO, Any

import structlog

from domain.base58 import b58decode

# Event keys whose value is a secret whatever it looks like.
_SECRET_KEYS = re.compile(
    r"(secret|password|passwd|api[-_]?key|token_secret|private|seed|authorization|cookie)",
    re.IGNORECASE)
_REDACTED = "**redacted**"
_B58 = "1-9A-HJ-NP-Za-km-z"
# Secrets in free text (messages, exception text, access-log lines, reprs of headers):
_TEXT_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # a password in any URL: redis://:pw@, rediss://u:pw@, postgresql+psycopg://, amqp://
    (re.compile(r"(?P<keep>\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/@]*:)[^\s/]*@"
                r"(?=[^\s@/]*(?:[/?#\s\"'>,;)\]}]|$))"), rf"\g<keep>{_REDACTED}@"),
    # an API key or a password in a query string: ?api_key= &api-key= &apikey= &password=
    (re.compile(r"(?P<keep>[?&;](?:api[-_]?key|access[-_]?token|password|secret)=)"
                r"[^&\s#\"'<>]+", re.IGNORECASE), rf"\g<keep>{_REDACTED}"),
    # a header or a field: "x-api-key: …", "'Authorization': 'Bearer …'", password=…
    (re.compile(r"(?P<keep>\b(?:x-api-key|api[-_]?key|(?:proxy-)?authorization|password|passwd)"
                r"['\"]?\s*[:=]\s*['\"]?)(?:(?:bearer|basic|token|apikey)\s+)?"
                r"[^'\"\s,;&}\]]+", re.IGNORECASE), rf"\g<keep>{_REDACTED}"),
    # this system's own API keys, wherever they appear
    (re.compile(r"\bsf_[A-Za-z0-9_\-]{20,}"), _REDACTED),
    # a keypair as a JSON array of 64 byte values (Solana CLI's id.json)
    (re.compile(r"\[\s*(?:\d{1,3}\s*,\s*){63}\d{1,3}\s*\]"), _REDACTED),
)
# A base58 text of a 64-byte Solana secret key (an address is 32 bytes; a signature is 64
# bytes too, but not a keypair).
_BASE58_RUN = re.compile(rf"(?<![{_B58}])[{_B58}]{{64,88}}(?![{_B58}])")
_extra_secrets: set[str] = set()


def register_secrets(values: Iterable[str]) -> None:
    """Add literal strings (e.g. wallet secrets) that must never reach a log line."""
    _extra_secrets.update(v for v in values if v and len(v) >= 8)


def _keypair(match: re.Match[str]) -> str:
    """A Solana secret key (64 bytes: a seed and the public key it derives) is redacted; a
    transaction signature, also 64 bytes of base58, stays readable."""
    from solders.keypair import Keypair

    try:
        raw = b58decode(match.group())
        if len(raw) == 64:
            Keypair.from_bytes(raw)  # raises unless the halves are one keypair
            return _REDACTED
    except ValueError:
        pass
    return match.group()


def scrub(text: str) -> str:
    """``text`` with every secret form above, and every registered secret, replaced."""
    for pattern, replacement in _TEXT_RULES:
        text = pattern.sub(replacement, text)
    text = _BASE58_RUN.sub(_keypair, text)
    for secret in _extra_secrets:
        if secret in text:
            text = text.replace(secret, _REDACTED)
    return text


def _redacted(key: object, value: Any) -> Any:
    if isinstance(key, str) and _SECRET_KEYS.search(key) and value is not None:
        return _REDACTED
    if isinstance(value, str):
        return scrub(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {str(k): _redacted(k, v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_redacted(None, v) for v in value]
    return scrub(str(value))


def redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """The structlog processor: secret keys blanked, secret forms scrubbed from every value
    (nested mappings and sequences included, exception text included)."""
    for key, value in list(event.items()):
        if not key.startswith("_"):  # _record, _from_structlog: the formatter's own
            event[key] = _redacted(key, value)
    return event


def _excepthook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    """An uncaught exception's text, scrubbed like every log line."""
    sys.stderr.write(scrub("".join(traceback.format_exception(kind, exc, tb))))


def configure_logging(log_format: str = "console", level: str = "INFO",
                      stream: IO[str] | None = None) -> None:
    """Every log record of the process (structlog's, and the stdlib's: Celery, uvicorn's
    access and error logs, SQLAlchemy, Alembic) goes through one handler on ``stream``
    (stderr) whose processors end with ``redact``; uncaught exceptions are scrubbed too."""
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
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared, processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer]))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("sqlalchemy.engine", "pgserver", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    warnings.showwarning = _warning_as_one_line
    for own_handlers in ("uvicorn", "uvicorn.access", "uvicorn.error"):
        # uvicorn's default config gives these their own handlers; here they propagate to
        # the root's, so the access log (its query strings) is scrubbed like the rest
        logging.getLogger(own_handlers).handlers[:] = []
        logging.getLogger(own_handlers).propagate = True
    sys.excepthook = _excepthook


def _warning_as_one_line(message: Warning | str, category: type[Warning], filename: str,
                         lineno: int, file: IO[str] | None = None,
                         line: str | None = None) -> None:
    """A Python warning (Celery's superuser SecurityWarning, a deprecation) is one log record
    like any other, redacted and in the process's format, not several raw lines on stderr."""
    structlog.get_logger("py.warnings").warning(
        "python.warning", category=category.__name__, where=f"{filename}:{lineno}",
        message=" ".join(str(message).split()))
