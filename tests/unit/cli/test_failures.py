"""Every failure to reach PostgreSQL, Redis, the broker or a port reads as one line naming
what failed and the fix, with exit code 4."""

from __future__ import annotations

import errno
import socket

import kombu.exceptions
import psycopg
import pytest
import redis
import sqlalchemy.exc

from domain.errors import InvalidInput
from persistence.schema import SchemaNotAtHead
from workers.cli import failures
from workers.embedded import EmbeddedStopped

PG_REFUSED = ('connection failed: connection to server at "127.0.0.1", port 1 failed: '
              "Connection refused\n\tIs the server running on that host and accepting TCP/IP "
              "connections?")


@pytest.mark.parametrize(("exc", "names", "code"), [
    (sqlalchemy.exc.OperationalError("SELECT 1", {}, psycopg.OperationalError(PG_REFUSED)),
     ("PostgreSQL unreachable", 'port 1 failed: Connection refused',
      "SIGNALFLEET_DATABASE_URL"), 4),
    (psycopg.OperationalError(PG_REFUSED), ("PostgreSQL unreachable",), 4),
    (redis.ConnectionError("Error 111 connecting to 127.0.0.1:1. Connection refused."),
     ("Redis unreachable", "127.0.0.1:1", "SIGNALFLEET_REDIS_URL"), 4),
    (redis.TimeoutError("Timeout reading from socket"), ("Redis unreachable",), 4),
    (kombu.exceptions.OperationalError("Error 111 connecting to 127.0.0.1:1."),
     ("broker is unreachable", "SIGNALFLEET_BROKER_URL"), 4),
    (OSError(errno.EADDRINUSE, "Address already in use"), ("port is already in use",), 4),
    (EmbeddedStopped("the embedded PostgreSQL and Redis are stopped (`fleet services stop`):"
                     " start them with `fleet services up`"), ("fleet services up",), 4),
    (SchemaNotAtHead("the database schema is at 0002, the code expects 0003: run `fleet db "
                     "upgrade`"), ("fleet db upgrade",), 3),
    (InvalidInput("name", "taken"), ("name: taken",), 2),
    (ValueError("something\nelse"), ("ValueError: something else", "--debug"), 1),
])
def test_each_failure_is_one_line_naming_what_and_the_fix(exc: BaseException,
                                                          names: tuple[str, ...],
                                                          code: int) -> None:
    failure = failures.explain(exc)
    assert "\n" not in failure.message and len(failure.message) < 400
    for name in names:
        assert name in failure.message
    assert failure.code == code


def test_a_password_in_a_message_is_masked() -> None:
    exc = redis.ConnectionError("cannot reach redis://user:s3cret-pass@10.0.0.1:6379/0")
    assert "s3cret-pass" not in failures.explain(exc).message


def test_a_listening_port_is_in_use_and_port_zero_never_is() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert failures.port_in_use("127.0.0.1", port)
    assert not failures.port_in_use("127.0.0.1", port)
    assert not failures.port_in_use("127.0.0.1", 0)

