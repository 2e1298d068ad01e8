"""The chaos suite's own Redis and PostgreSQL: the session's server classes
(tests/services.py), started here on their own tmp dirs so that restarting, flushing or
crashing them never disturbs the machine's shared servers or the session's other Redis."""

from __future__ import annotations

from tests.services import PostgresServer, RedisServer, free_port, redis_binary

__all__ = ["PostgresServer", "RedisServer", "free_port", "redis_binary"]
