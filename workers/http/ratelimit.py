"""A per-key rate limit in Redis: a fixed one-minute window (INCR + EXPIRE in one round trip).

Shared by every ingest process; a burst of at most twice the limit can straddle a window edge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import redis

from persistence.redis_outage import process_episode

RATE_KEY = "sf:ratelimit:{}:{}"


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    retry_after: int  # seconds until the window resets


@dataclass(frozen=True)
class RateLimiter:
    redis: redis.Redis
    limit: int
    window_seconds: int = 60

    def hit(self, subject: str, now: float) -> Verdict:
        """Count one request by ``subject`` at ``now`` (epoch seconds)."""
        window = int(now // self.window_seconds)
        key = RATE_KEY.format(subject, window)
        pipe = self.redis.pipeline(transaction=True)
        pipe.incr(key)
        pipe.expire(key, self.window_seconds + 1)
        count = int(pipe.execute()[0])
        process_episode().recovered()  # a write went through: any Redis outage is over
        reset = (window + 1) * self.window_seconds - now
        return Verdict(allowed=count <= self.limit, limit=self.limit,
                       remaining=max(0, self.limit - count),
                       retry_after=max(1, math.ceil(reset)))
