"""HTTP ingest while Redis refuses writes or is unreachable: 503 with ``Retry-After`` (the
provider sends the signal again; nothing was stored), one log line per outage."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse

from persistence.redis_outage import outage, process_episode

RETRY_AFTER_SECONDS = 5


async def redis_unavailable(_: Request, exc: Exception) -> JSONResponse:
    found = outage(exc)
    process_episode("http-ingest").failed(exc)
    reason = found[0] if found else "error"
    return JSONResponse({"detail": f"Redis is unavailable ({reason}); nothing was stored, "
                                   f"retry in {RETRY_AFTER_SECONDS}s"}, 503,
                        headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
