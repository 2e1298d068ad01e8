"""A Jupiter Price v3 impersonator of the chaos tests' own: a stdlib HTTP server on a free
loopback port whose answers the test switches at runtime (good prices with the JSON number
text it chooses, 429 with and without ``Retry-After``, 503, 500, hanging, trickling, garbage)
and which counts what it was asked."""

from __future__ import annotations

import itertools
import select
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

from workers.adapters.http import SOL_MINT

RETRY_AFTER_S = 1
HOLD_CAP_S = 15.0  # a hanging answer waits this long for the client to hang up
GARBAGE = (b"<html><body>502 Bad Gateway</body></html>", b'{"So1111', b"", b"[]", b"null",
           b'"rate limited"')


def entry(usd: str) -> str:
    """A Jupiter v3 entry (INTEGRATIONS.md) with ``usd`` as the raw JSON of ``usdPrice``."""
    return (f'{{"usdPrice": {usd}, "blockId": 348004026, "decimals": 6, '
            f'"priceChange24h": -1.25, "liquidity": 250000.5, '
            f'"createdAt": "2024-06-05T08:55:25.527Z"}}')


def prices(sol_usd: str, **usd: str) -> dict[str, str]:
    return {SOL_MINT: entry(sol_usd), **{t: entry(p) for t, p in usd.items()}}


@dataclass(frozen=True)
class Hit:
    at: float
    mode: str


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    feed: FakeJupiter


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real API

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        feed = cast(_Server, self.server).feed
        url = urlsplit(self.path)
        ids = tuple(parse_qs(url.query).get("ids", [""])[0].split(","))
        mode = feed.arrive()
        try:
            if url.path != "/price/v3":
                self._send(404, b'{"error": "not found"}')
            elif mode == "prices":
                self._send(200, feed.body(ids))
            elif mode == "429":
                self._send(429, b'{"message": "Too Many Requests"}',
                           {"Retry-After": str(RETRY_AFTER_S)})
            elif mode == "429-bare":
                self._send(429, b'{"message": "Too Many Requests"}')
            elif mode in ("500", "503"):
                self._send(int(mode), b"<html>upstream unavailable</html>")
            elif mode == "hang":
                self._hang(feed)
            elif mode == "trickle":
                self._trickle(feed, feed.body(ids))
            else:
                self._send(200, feed.garbage())
        finally:
            feed.leave()

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _hang(self, feed: FakeJupiter) -> None:
        """Answer nothing until the client hangs up (its timeout), or HOLD_CAP_S pass."""
        started = time.monotonic()
        while time.monotonic() - started < HOLD_CAP_S:
            readable, _, _ = select.select([self.connection], [], [], 0.02)
            if readable:
                try:
                    gone = not self.connection.recv(1, socket.MSG_PEEK)
                except OSError:
                    gone = True
                if gone:
                    feed.abandoned.append(time.monotonic() - started)
                    self.close_connection = True
                    return
        feed.held_to_cap += 1
        self._send(503, b"{}")

    def _trickle(self, feed: FakeJupiter, body: bytes) -> None:
        """A good answer, one byte every 0.3 s: no single read ever waits a full timeout."""
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        for i in range(len(body)):
            if feed.stop.wait(0.3):
                self.close_connection = True
                return
            self.wfile.write(body[i:i + 1])
            self.wfile.flush()


class FakeJupiter:
    """``GET /price/v3?ids=a,b`` answered as Jupiter does, in the mode the test sets."""

    def __init__(self) -> None:
        self.mode = "prices"
        self.entries: dict[str, str] = {}  # mint → raw JSON of its entry (absent: no price)
        self.hits: list[Hit] = []
        self.switches: list[tuple[str, float]] = []
        self.abandoned: list[float] = []  # how long each hanging answer waited for a hang-up
        self.held_to_cap = 0
        self.in_flight = self.max_in_flight = 0
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._garbage = itertools.cycle(GARBAGE)
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.feed = self
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/price/v3"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FakeJupiter:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def serve(self, mode: str, **entries: str) -> float:
        """Switch the mode (and the prices, when given); returns the switch time."""
        with self._lock:
            self.mode = mode
            if entries:
                self.entries = dict(entries)
            self.switches.append((mode, time.monotonic()))
            return self.switches[-1][1]

    def arrive(self) -> str:
        with self._lock:
            self.hits.append(Hit(time.monotonic(), self.mode))
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            return self.mode

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def body(self, ids: tuple[str, ...]) -> bytes:
        with self._lock:
            found = [f'"{i}": {self.entries[i]}' for i in ids if i in self.entries]
        return ("{" + ", ".join(found) + "}").encode()

    def garbage(self) -> bytes:
        with self._lock:
            return next(self._garbage)

    def count(self, *modes: str) -> int:
        with self._lock:
            return sum(h.mode in modes for h in self.hits)

    def span(self, mode: str) -> float:
        """How long ``mode`` was served (from its switch to the next one)."""
        times = [t for _, t in self.switches]
        i = [name for name, _ in self.switches].index(mode)
        return times[i + 1] - times[i]
