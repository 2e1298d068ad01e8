#!/usr/bin/env bash
# Start the local PostgreSQL and Redis when they are installed and nothing listens.
# Where neither is installed, signalfleet starts its embedded servers by itself. Test
# sessions use the machine's PostgreSQL (their own database) when it listens, else start
# one of their own; they always start a Redis of their own (tests/services.py).
set -u
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if listening 5432; then
  echo "postgresql: listening on 5432"
elif command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start \
    && echo "postgresql: started" || echo "postgresql: could not start; tests start their own"
else
  echo "postgresql: not installed; tests start their own"
fi

if listening 6379; then
  echo "redis: listening on 6379"
elif command -v redis-server >/dev/null 2>&1; then
  mkdir -p /tmp/signalfleet-redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /tmp/signalfleet-redis --logfile /tmp/signalfleet-redis/redis.log \
    && echo "redis: started" || echo "redis: could not start (tests start their own)"
else
  echo "redis: not installed (tests start their own)"
fi
exit 0
