"""redis-py and kombu spell a unix-socket Redis differently; the database number survives."""

from __future__ import annotations

import pytest

from workers.bootstrap import celery_broker_url


@pytest.mark.parametrize(("url", "broker"), [
    ("unix:///tmp/r/redis.sock?db=3", "redis+socket:///tmp/r/redis.sock?virtual_host=3"),
    ("unix:///tmp/r/redis.sock", "redis+socket:///tmp/r/redis.sock"),
    ("unix:///tmp/r.sock?db=2&socket_timeout=5",
     "redis+socket:///tmp/r.sock?virtual_host=2&socket_timeout=5"),
    ("redis://127.0.0.1:6380/4", "redis://127.0.0.1:6380/4"),
])
def test_the_broker_url_keeps_the_database(url: str, broker: str) -> None:
    assert celery_broker_url(url) == broker


def test_kombu_reads_the_database_from_the_socket_url() -> None:
    from kombu import Connection
    from kombu.transport.redis import Channel

    class Probe(Channel):  # only the URL-to-parameters step, no connection
        def __init__(self, connection: object) -> None:
            self.connection = connection
            self.max_connections, self.health_check_interval = 10, 25
            self.socket_timeout = self.socket_connect_timeout = None
            self.socket_keepalive = self.socket_keepalive_options = None
            self.retry_on_timeout, self.client_name = False, None
            import redis
            self.connection_class = redis.Connection

    params = Probe(Connection(celery_broker_url("unix:///tmp/r/redis.sock?db=3")).transport
                   )._connparams()
    assert (params["db"], params["path"]) == (3, "/tmp/r/redis.sock")
