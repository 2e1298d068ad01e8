"""Shared plumbing for the HTTP adapters: retries with backoff + full jitter, Decimal JSON.

Rules every adapter follows through this module:

- 429, 408, 5xx, timeouts and network errors are retried up to ``RetryPolicy.max_attempts``
  (``Retry-After`` honoured, capped); when the attempts run out the caller gets
  ``TransientError``. Any other non-2xx status raises ``HttpStatusError`` (a
  ``PermanentError``) at once, naming the status.
- Callers never see httpx exceptions, and no error or log line carries a URL, a header or a
  query string (RPC URLs often embed API keys): only the service and operation names.
- An attempt as a whole (status line, headers and body) ends within its timeout: httpx's
  timeouts bound each socket read, so a server that trickles a byte at a time would
  otherwise hold a worker for as long as it likes. Bodies over ``max_body_bytes`` are
  refused.
- A 429 is shared: with a ``Cooldown`` in the policy (``RedisCooldown`` in the workers),
  every process of the fleet waits out the service's ``Retry-After`` instead of each
  spending its own request to learn it.
- JSON is parsed with ``parse_float=Decimal``; ``NaN``/``Infinity`` arrive as text so the field
  fails validation instead of turning into a float.
"""

from __future__ import annotations

import json
import math
import random
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any, Protocol, TypeVar

import httpx
import redis
import structlog
from pydantic import SecretStr

from domain.base58 import is_public_key
from domain.errors import PermanentError, TransientError
from domain.json_text import loads_exact

log = structlog.get_logger(__name__)

SOL_MINT = "So11111111111111111111111111111111111111112"
_RETRY_EXCEPTIONS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError,
                     httpx.ProxyError)
_T = TypeVar("_T")


class Cooldown(Protocol):
    """Seconds a service asked every caller to wait (after a 429), shared between them."""

    def remaining_s(self, service: str) -> float: ...

    def hold(self, service: str, seconds: float) -> None: ...


class RedisCooldown:
    """A :class:`Cooldown` in Redis, so one worker's 429 pauses the whole fleet's calls.
    Advisory: when Redis does not answer, nobody waits (the call itself will tell)."""

    KEY = "sf:http:cooldown:{}"
    MAX_HOLD_S = 120.0

    def __init__(self, client: redis.Redis) -> None:
        self._r = client

    def remaining_s(self, service: str) -> float:
        try:
            ms: int = self._r.pttl(self.KEY.format(service))  # type: ignore[assignment]
        except (redis.RedisError, OSError):
            return 0.0
        return ms / 1000 if ms > 0 else 0.0

    def hold(self, service: str, seconds: float) -> None:
        ms = int(min(seconds, self.MAX_HOLD_S) * 1000)
        if ms <= 0:
            return
        try:
            self._r.set(self.KEY.format(service), "1", px=ms)
        except (redis.RedisError, OSError):
            log.warning("http.cooldown_unavailable", service=service)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try one call. ``sleep`` and ``rand`` are injectable for tests."""

    max_attempts: int = 4
    timeout_s: float | None = None  # None: the httpx.Client's own timeout
    base_delay_s: float = 0.25
    max_delay_s: float = 4.0
    max_retry_after_s: float = 10.0
    max_body_bytes: int = 16 * 1024 * 1024
    cooldown: Cooldown | None = None
    sleep: Callable[[float], None] = time.sleep
    rand: Callable[[], float] = random.random

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.timeout_s is not None and self.timeout_s <= 0:
            raise ValueError("timeout_s must be positive")

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(max_delay, base × 2^(attempt − 1)))."""
        ceiling: float = min(self.max_delay_s, self.base_delay_s * 2.0 ** (attempt - 1))
        return self.rand() * ceiling


class HttpStatusError(PermanentError):
    """A non-retryable HTTP status (4xx other than 408/429, or 3xx)."""

    def __init__(self, service: str, operation: str, status: int, code: str | None = None):
        detail = f" ({code})" if code else ""
        super().__init__(f"{service} {operation}: HTTP {status}{detail}")
        self.status = status
        self.code = code


class RetryingHttp:
    """An ``httpx.Client`` wrapper that applies :class:`RetryPolicy` to every request."""

    def __init__(self, client: httpx.Client, service: str,
                 policy: RetryPolicy | None = None) -> None:
        self._client = client
        self.service = service
        self.policy = policy or RetryPolicy()

    def __repr__(self) -> str:
        return f"RetryingHttp(service={self.service!r})"

    def request(self, method: str, url: str, *, operation: str,
                params: Mapping[str, str] | None = None,
                headers: Mapping[str, str] | None = None, body: Any = None) -> httpx.Response:
        """Send with retries; return the 2xx response or raise a domain error."""
        content = None if body is None else dumps_json(body).encode()
        sent_headers = dict(headers or {})
        if content is not None:
            sent_headers["content-type"] = "application/json"
        reason = "no attempt"
        for attempt in range(1, self.policy.max_attempts + 1):
            wait = self._cooling_down()
            if wait > 0:  # another caller met a 429: no request until the service allows
                response, reason = None, "cooling down after HTTP 429"
                delay = min(wait, self.policy.max_retry_after_s)
            else:
                response, reason, delay = self._attempt(
                    method, url, operation, attempt,
                    {"params": params, "headers": sent_headers, "content": content})
            if response is not None:
                return response
            if attempt < self.policy.max_attempts:
                log.warning("http.retry", service=self.service, operation=operation,
                            attempt=attempt, max_attempts=self.policy.max_attempts,
                            reason=reason, delay_s=round(delay, 3))
                self.policy.sleep(delay)
        raise TransientError(f"{self.service} {operation}: gave up after "
                             f"{self.policy.max_attempts} attempts ({reason})")

    def get_json(self, url: str, *, operation: str, params: Mapping[str, str] | None = None,
                 headers: Mapping[str, str] | None = None) -> Any:
        response = self.request("GET", url, operation=operation, params=params, headers=headers)
        return decode_json(response, service=self.service, operation=operation)

    def post_json(self, url: str, body: Any, *, operation: str,
                  headers: Mapping[str, str] | None = None) -> Any:
        response = self.request("POST", url, operation=operation, headers=headers, body=body)
        return decode_json(response, service=self.service, operation=operation)

    def _attempt(self, method: str, url: str, operation: str, attempt: int,
                 kwargs: dict[str, Any]) -> tuple[httpx.Response | None, str, float]:
        """One try: (response, _, _) on 2xx, (None, reason, delay) when worth retrying."""
        try:
            response = self._read(method, url, kwargs)
        except _RETRY_EXCEPTIONS as exc:
            return None, type(exc).__name__, self.policy.backoff(attempt)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            failure = type(exc).__name__
        else:
            return self._classify(response, operation, attempt)
        # Raised outside the except block: no chained httpx error (it carries the URL).
        raise PermanentError(f"{self.service} {operation}: {failure}")

    def _cooling_down(self) -> float:
        gate = self.policy.cooldown
        return 0.0 if gate is None else gate.remaining_s(self.service)

    def _timeout(self) -> Any:
        timeout = self.policy.timeout_s
        return httpx.USE_CLIENT_DEFAULT if timeout is None else timeout

    def _deadline_s(self) -> float:
        """The whole attempt's budget: the policy's timeout, else the client's read timeout."""
        if self.policy.timeout_s is not None:
            return self.policy.timeout_s
        read = self._client.timeout.read
        return 30.0 if read is None else float(read)

    def _read(self, method: str, url: str, kwargs: dict[str, Any]) -> httpx.Response:
        """Send and read the whole body by a deadline; the body is returned decoded."""
        deadline = time.monotonic() + self._deadline_s()
        parts: list[bytes] = []
        size = 0
        with self._client.stream(method, url, timeout=self._timeout(), **kwargs) as response:
            for part in response.iter_bytes():
                size += len(part)
                if size > self.policy.max_body_bytes:
                    raise PermanentError(f"{self.service}: response body over "
                                         f"{self.policy.max_body_bytes} bytes")
                if time.monotonic() > deadline:
                    raise httpx.ReadTimeout("the response outlasted its timeout")
                parts.append(part)
            if time.monotonic() > deadline:
                raise httpx.ReadTimeout("the response outlasted its timeout")
        headers = [(k, v) for k, v in response.headers.multi_items()
                   if k.lower() not in ("content-encoding", "content-length",
                                        "transfer-encoding")]
        return httpx.Response(response.status_code, headers=headers, content=b"".join(parts),
                              request=response.request)

    def _classify(self, response: httpx.Response, operation: str,
                  attempt: int) -> tuple[httpx.Response | None, str, float]:
        status = response.status_code
        if 200 <= status < 300:
            return response, "", 0.0
        if status in (408, 429) or status >= 500:
            asked = parse_retry_after(response.headers.get("retry-after"))
            delay = self.policy.backoff(attempt) if asked is None else min(
                asked, self.policy.max_retry_after_s)
            if status == 429 and self.policy.cooldown is not None:
                self.policy.cooldown.hold(self.service, delay if asked is None else asked)
            return None, f"HTTP {status}", delay
        raise HttpStatusError(self.service, operation, status, _error_code(response))


def parse_retry_after(header: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or HTTP date)."""
    if not header:
        return None
    try:
        seconds = float(header.strip())
    except ValueError:
        try:
            when = parsedate_to_datetime(header)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _error_code(response: httpx.Response) -> str | None:
    """A short machine code from an error body (``errorCode``/``code``), never free text."""
    try:
        body = loads_json(response.content)
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    code = body.get("errorCode", body.get("code"))
    if isinstance(code, str | int) and not isinstance(code, bool):
        text = str(code)
        return text if re.fullmatch(r"[A-Za-z0-9_.\-]{1,64}", text) else None
    return None


def decode_json(response: httpx.Response, *, service: str, operation: str) -> Any:
    """The body as JSON with Decimal numbers; a body that is not JSON is transient."""
    try:
        return loads_json(response.content)
    except ValueError:
        pass
    raise TransientError(f"{service} {operation}: response is not valid JSON")


def loads_json(text: str | bytes) -> Any:
    """``json.loads`` with Decimal floats; NaN/Infinity stay text (and fail validation)."""
    return loads_exact(text, constants_as_text=True)


def dumps_json(value: Any) -> str:
    """Serialise JSON keeping Decimals exact (written as JSON numbers, never via float)."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("a non-finite Decimal cannot be written as JSON")
        return str(value)
    if isinstance(value, Mapping):
        items = (f"{json.dumps(str(k))}:{dumps_json(v)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps_json(v) for v in value) + "]"
    return json.dumps(value, allow_nan=False)


def to_decimal(value: object) -> Decimal | None:
    """A finite Decimal from a JSON Decimal, int or decimal string; anything else is None."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        return None
    try:
        result = Decimal(value.strip() if isinstance(value, str) else value)
    except (InvalidOperation, ValueError):
        return None
    return result if result.is_finite() else None


def positive_decimal(value: object) -> Decimal | None:
    result = to_decimal(value)
    return result if result is not None and result > 0 else None


def to_int(value: object) -> int | None:
    """An int from a JSON int or a string of digits (base units arrive as strings)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,40}", value.strip()):
        return int(value)
    return None


def is_address(value: object) -> bool:
    """A base58 Solana address (32 bytes); no curve check, mints need not be on-curve."""
    return is_public_key(value)


def unique_addresses(addresses: Sequence[str], source: str) -> list[str]:
    """Distinct, well-formed addresses in input order; malformed ones are logged and dropped."""
    seen: dict[str, None] = {}
    for address in addresses:
        if is_address(address):
            seen.setdefault(address, None)
        else:
            log.warning("prices.bad_address", source=source, token=str(address)[:64])
    return list(seen)


def chunks(items: Sequence[_T], size: int) -> Iterator[list[_T]]:
    for start in range(0, len(items), size):
        yield list(items[start:start + size])


def as_secret(value: SecretStr | str | None) -> SecretStr | None:
    """Keep API keys wrapped so reprs of the adapters never show them."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    return SecretStr(value) if value else None


def api_key_headers(api_key: SecretStr | None) -> dict[str, str]:
    return {} if api_key is None else {"x-api-key": api_key.get_secret_value()}
