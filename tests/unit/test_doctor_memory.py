"""``fleet doctor``'s Redis memory check: what Redis' INFO says, judged (the thresholds; the
check against a real Redis at its limit is in tests/chaos/test_memory_pressure.py)."""

from __future__ import annotations

from typing import Any

import pytest

from workers.bootstrap import ServiceUrls
from workers.doctor import Check, Doctor
from workers.settings import Settings

MB = 2**20


class Info:
    """Only ``INFO memory`` is asked of it."""

    def __init__(self, used: int, limit: int, policy: str = "noeviction") -> None:
        self.memory = {"used_memory": used, "maxmemory": limit, "maxmemory_policy": policy}

    def info(self, section: str) -> dict[str, Any]:
        assert section == "memory"
        return self.memory


def judge(client: Info) -> Check:
    doctor = Doctor(Settings(_env_file=None),  # type: ignore[call-arg]
                    ServiceUrls("postgresql+psycopg://x@/db", "redis://x", "redis://x", False))
    return doctor.memory(client, Check("redis", "OK", "answering PING"))  # type: ignore[arg-type]


@pytest.mark.parametrize(("used", "limit", "status", "words"), [
    (100 * MB, 512 * MB, "OK", "100.0 MB of maxmemory 512.0 MB (20%)"),
    (409 * MB, 512 * MB, "OK", "(80%)"),
    (420 * MB, 512 * MB, "WARN", "above 80%"),
    (512 * MB, 512 * MB, "FAIL", "refuses writes"),
    (30 * MB, 0, "WARN", "no maxmemory"),
])
def test_memory_against_maxmemory(used: int, limit: int, status: str, words: str) -> None:
    check = judge(Info(used, limit))
    assert (check.status, check.name) == (status, "redis memory")
    assert words in check.detail
    assert (check.fix == "") == (status == "OK")


def test_an_evicting_policy_fails() -> None:
    check = judge(Info(10 * MB, 512 * MB, "allkeys-lru"))
    assert check.status == "FAIL" and "noeviction" in check.fix


def test_not_checked_when_redis_is_down() -> None:
    doctor = Doctor(Settings(_env_file=None),  # type: ignore[call-arg]
                    ServiceUrls("postgresql+psycopg://x@/db", "redis://x", "redis://x", False))
    down = Check("redis", "FAIL", "unreachable", "start Redis")
    assert doctor.memory(Info(0, 0), down).status == "FAIL"  # type: ignore[arg-type]
