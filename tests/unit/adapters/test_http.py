"""The shared retry helper: what is retried, how long it waits, what the caller sees."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from structlog.testing import capture_logs

from domain.errors import PermanentError, TransientError
from tests.unit.adapters.conftest import Sleeps, mock_client
from workers.adapters.http import (
    HttpStatusError,
    RetryingHttp,
    RetryPolicy,
    dumps_json,
    loads_json,
    parse_retry_after,
    to_decimal,
    to_int,
)

URL = "https://rpc.example.com/?api-key=SECRET-IN-URL"


def scripted(*steps: object) -> tuple[httpx.Client, list[httpx.Request]]:
    """A client answering each request with the next step (a Response or an exception)."""
    seen: list[httpx.Request] = []
    queue = list(steps)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        step = queue.pop(0)
        if isinstance(step, Exception):
            raise step
        assert isinstance(step, httpx.Response)
        return step

    return mock_client(handler), seen


def test_success_first_try(policy: RetryPolicy, sleeps: Sleeps) -> None:
    client, seen = scripted(httpx.Response(200, json={"ok": True}))
    body = RetryingHttp(client, "svc", policy).get_json(URL, operation="op")
    assert body == {"ok": True}
    assert len(seen) == 1 and sleeps == []


def test_429_honours_retry_after(policy: RetryPolicy, sleeps: Sleeps) -> None:
    client, seen = scripted(httpx.Response(429, headers={"Retry-After": "3"}),
                            httpx.Response(200, json={"ok": 1}))
    assert RetryingHttp(client, "svc", policy).get_json(URL, operation="op") == {"ok": 1}
    assert len(seen) == 2 and sleeps == [3.0]


def test_retry_after_is_capped(policy: RetryPolicy, sleeps: Sleeps) -> None:
    client, _ = scripted(httpx.Response(429, headers={"Retry-After": "3600"}),
                         httpx.Response(200, json={}))
    RetryingHttp(client, "svc", policy).get_json(URL, operation="op")
    assert sleeps == [10.0]


def test_429_without_retry_after_uses_backoff(policy: RetryPolicy, sleeps: Sleeps) -> None:
    client, _ = scripted(httpx.Response(429), httpx.Response(429), httpx.Response(200, json={}))
    RetryingHttp(client, "svc", policy).get_json(URL, operation="op")
    assert sleeps == [0.25, 0.5]  # rand 0.5 × min(4, 0.5 × 2^(n-1))


def test_5xx_retried_then_transient(policy: RetryPolicy, sleeps: Sleeps) -> None:
    client, seen = scripted(*[httpx.Response(503) for _ in range(4)])
    with pytest.raises(TransientError, match="gave up after 4 attempts") as info:
        RetryingHttp(client, "svc", policy).get_json(URL, operation="op")
    assert "HTTP 503" in str(info.value)
    assert len(seen) == 4 and len(sleeps) == 3


def test_5xx_then_success(policy: RetryPolicy) -> None:
    client, seen = scripted(httpx.Response(500), httpx.Response(502), httpx.Response(200, json=1))
    assert RetryingHttp(client, "svc", policy).get_json(URL, operation="op") == 1
    assert len(seen) == 3


@pytest.mark.parametrize("error", [httpx.ReadTimeout("slow"), httpx.ConnectTimeout("slow"),
                                   httpx.ConnectError("refused"), httpx.ReadError("reset"),
                                   httpx.RemoteProtocolError("eof")])
def test_transport_errors_retried(policy: RetryPolicy, sleeps: Sleeps, error: Exception) -> None:
    client, seen = scripted(error, httpx.Response(200, json={"ok": True}))
    assert RetryingHttp(client, "svc", policy).get_json(URL, operation="op") == {"ok": True}
    assert len(seen) == 2 and len(sleeps) == 1


def test_timeouts_exhausted_are_transient_and_not_httpx(policy: RetryPolicy) -> None:
    client, _ = scripted(*[httpx.ReadTimeout("slow") for _ in range(4)])
    with pytest.raises(TransientError, match="ReadTimeout") as info:
        RetryingHttp(client, "svc", policy).get_json(URL, operation="op")
    assert not isinstance(info.value, httpx.HTTPError)
    assert info.value.__cause__ is None and info.value.__context__ is None


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_other_4xx_not_retried(policy: RetryPolicy, sleeps: Sleeps, status: int) -> None:
    client, seen = scripted(httpx.Response(status, json={"errorCode": "BAD_THING"}))
    with pytest.raises(HttpStatusError, match=f"HTTP {status} \\(BAD_THING\\)") as info:
        RetryingHttp(client, "svc", policy).get_json(URL, operation="op")
    assert isinstance(info.value, PermanentError) and info.value.status == status
    assert len(seen) == 1 and sleeps == []


def test_error_code_free_text_is_not_echoed(policy: RetryPolicy) -> None:
    client, _ = scripted(httpx.Response(401, json={"error": "key sk-123 is invalid"}))
    with pytest.raises(HttpStatusError) as info:
        RetryingHttp(client, "svc", policy).get_json(URL, operation="op")
    assert "sk-123" not in str(info.value)


def test_unsupported_protocol_is_permanent(policy: RetryPolicy) -> None:
    client, _ = scripted(httpx.UnsupportedProtocol("nope"))
    with pytest.raises(PermanentError, match="UnsupportedProtocol") as info:
        RetryingHttp(client, "svc", policy).get_json(URL, operation="op")
    assert info.value.__context__ is None  # the httpx error (and its URL) is not chained


def test_not_json_is_transient(policy: RetryPolicy) -> None:
    client, _ = scripted(httpx.Response(200, text="<html>bad gateway</html>"))
    with pytest.raises(TransientError, match="not valid JSON"):
        RetryingHttp(client, "svc", policy).get_json(URL, operation="op")


def test_retry_log_lines_carry_no_url_or_headers(policy: RetryPolicy) -> None:
    client, _ = scripted(httpx.Response(503), httpx.Response(200, json={}))
    with capture_logs() as logs:
        RetryingHttp(client, "svc", policy).get_json(
            URL, operation="op", headers={"x-api-key": "HEADER-SECRET"})
    assert [entry["event"] for entry in logs] == ["http.retry"]
    assert logs[0]["attempt"] == 1 and logs[0]["reason"] == "HTTP 503"
    assert "SECRET" not in repr(logs)


def test_errors_carry_no_url(policy: RetryPolicy) -> None:
    client, _ = scripted(*[httpx.ConnectError("refused") for _ in range(4)])
    with pytest.raises(TransientError) as info:
        RetryingHttp(client, "svc", policy).get_json(URL, operation="op")
    assert "SECRET" not in str(info.value)


def test_post_body_keeps_decimals_exact(policy: RetryPolicy) -> None:
    client, seen = scripted(httpx.Response(200, json={}))
    RetryingHttp(client, "svc", policy).post_json(
        URL, {"a": Decimal("0.015257836"), "b": [1, "x", None, True]}, operation="op")
    assert seen[0].content == b'{"a":0.015257836,"b":[1,"x",null,true]}'
    assert seen[0].headers["content-type"] == "application/json"


def test_backoff_is_full_jitter_and_capped() -> None:
    policy = RetryPolicy(base_delay_s=1.0, max_delay_s=5.0, rand=lambda: 0.999)
    assert [round(policy.backoff(n), 3) for n in (1, 2, 3, 4, 5)] == [0.999, 1.998, 3.996,
                                                                      4.995, 4.995]
    assert RetryPolicy(rand=lambda: 0.0).backoff(3) == 0.0


def test_parse_retry_after() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("nan") is None


def test_json_helpers() -> None:
    data = loads_json('{"p": 0.1, "n": NaN, "i": 3}')
    assert data["p"] == Decimal("0.1") and isinstance(data["p"], Decimal)
    assert to_decimal(data["n"]) is None and data["i"] == 3
    assert to_decimal("1.50") == Decimal("1.50")
    assert to_decimal(True) is None and to_decimal(1.5) is None and to_decimal("abc") is None
    assert to_int("123") == 123 and to_int(7) == 7 and to_int("1.5") is None
    assert to_int(False) is None
    assert dumps_json({"d": Decimal("1E-9")}) == '{"d":1E-9}'
    with pytest.raises(ValueError):
        dumps_json(Decimal("NaN"))


def test_policy_validation() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(timeout_s=0)


def test_timeout_from_policy_or_client_default(sleeps: Sleeps) -> None:
    timeouts: list[object] = []

    def handler(request: httpx.Request) -> httpx.Response:
        timeouts.append(request.extensions["timeout"])
        return httpx.Response(200, json={})

    client = httpx.Client(transport=httpx.MockTransport(handler), timeout=7.0)
    RetryingHttp(client, "svc", RetryPolicy(sleep=sleeps)).get_json(URL, operation="op")
    RetryingHttp(client, "svc", RetryPolicy(timeout_s=2.0)).get_json(URL, operation="op")
    assert [t["read"] for t in timeouts] == [7.0, 2.0]  # type: ignore[index]


class Trickle(httpx.SyncByteStream):
    """A body sent a few bytes at a time, each within the read timeout."""

    def __init__(self, body: bytes, pause_s: float) -> None:
        self.body, self.pause_s = body, pause_s

    def __iter__(self):  # type: ignore[no-untyped-def]
        import time

        for i in range(0, len(self.body), 2):
            time.sleep(self.pause_s)
            yield self.body[i:i + 2]


def test_a_trickling_body_is_cut_off_at_the_attempt_timeout(sleeps: Sleeps) -> None:
    import time

    client, seen = scripted(*[httpx.Response(200, stream=Trickle(b'{"a": "1"}' * 20, 0.01))
                              for _ in range(3)])
    http = RetryingHttp(client, "svc", RetryPolicy(max_attempts=3, timeout_s=0.1, sleep=sleeps))
    started = time.monotonic()
    with pytest.raises(TransientError, match=r"gave up after 3 attempts \(ReadTimeout"):
        http.get_json(URL, operation="op")
    assert len(seen) == 3
    assert time.monotonic() - started < 3 * 0.1 + 0.3  # not 3 × 100 reads × 10 ms


def test_a_body_in_time_is_read_whole_and_decoded_once(policy: RetryPolicy) -> None:
    import gzip

    body = b'{"price": 0.000012345678901234567890}'
    client, _ = scripted(httpx.Response(200, headers={"content-encoding": "gzip"},
                                        content=gzip.compress(body)))
    got = RetryingHttp(client, "svc", policy).get_json(URL, operation="op")
    assert got == {"price": Decimal("0.000012345678901234567890")}


def test_an_oversized_body_is_refused(sleeps: Sleeps) -> None:
    client, seen = scripted(httpx.Response(200, content=b"[" + b"1," * 600 + b"1]"))
    policy = RetryPolicy(max_attempts=3, max_body_bytes=1000, sleep=sleeps)
    with pytest.raises(PermanentError, match="over 1000 bytes"):
        RetryingHttp(client, "svc", policy).get_json(URL, operation="op")
    assert len(seen) == 1


class Gate:
    """An in-memory Cooldown: what RedisCooldown shares between processes."""

    def __init__(self) -> None:
        self.until: dict[str, float] = {}
        self.held: list[tuple[str, float]] = []

    def remaining_s(self, service: str) -> float:
        return self.until.get(service, 0.0)

    def hold(self, service: str, seconds: float) -> None:
        self.held.append((service, seconds))
        self.until[service] = seconds


def test_a_429_holds_every_caller_of_the_service(sleeps: Sleeps) -> None:
    gate = Gate()
    client, seen = scripted(httpx.Response(429, headers={"retry-after": "30"}),
                            httpx.Response(200, json={"ok": True}))
    policy = RetryPolicy(max_attempts=3, cooldown=gate, sleep=sleeps)
    with pytest.raises(TransientError, match="cooling down after HTTP 429"):
        RetryingHttp(client, "svc", policy).get_json(URL, operation="op")
    assert gate.held == [("svc", 30.0)]  # the service's own figure, uncapped, for everyone
    assert len(seen) == 1  # the next attempts waited instead of asking again
    assert sleeps == [10.0, 10.0]  # each wait capped at max_retry_after_s
    other, other_seen = scripted(httpx.Response(200, json={}))
    with pytest.raises(TransientError):  # another caller of the same service asks nothing
        RetryingHttp(other, "svc", policy).get_json(URL, operation="op")
    assert other_seen == []
    gate.until["svc"] = 0.0  # the hold over: calls go out again
    assert RetryingHttp(client, "svc", policy).get_json(URL, operation="op") == {"ok": True}


def test_the_redis_cooldown_expires_and_fails_open() -> None:
    import fakeredis
    import redis as redis_lib

    from workers.adapters.http import RedisCooldown

    gate = RedisCooldown(fakeredis.FakeRedis())
    assert gate.remaining_s("svc") == 0.0
    gate.hold("svc", 2.5)
    assert 2.0 < gate.remaining_s("svc") <= 2.5
    assert gate.remaining_s("other") == 0.0
    gate.hold("svc", 10_000)
    assert gate.remaining_s("svc") <= RedisCooldown.MAX_HOLD_S
    down = RedisCooldown(redis_lib.Redis(port=1, socket_connect_timeout=0.1))
    assert down.remaining_s("svc") == 0.0  # Redis down: nobody waits
    down.hold("svc", 1.0)  # and nothing raises
