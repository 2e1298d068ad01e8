"""The dashboard's health page for a key without ``admin``: the checks whose details name
every user's agents or positions keep only their verdict and count."""

from __future__ import annotations

from workers.doctor import Check
from workers.http.dashboard_data import for_user

CHECKS = [
    Check("workers", "OK", "1 answering: worker@host"),
    Check("configs", "FAIL", "1 agents with an invalid stored config, their positions not "
          "swept: bob-agent (0b6c…): take_profit.levels: too many", "give each a valid config"),
    Check("positions", "WARN", "1 open positions whose tokens left the wallet: 9f1e… (Dez…): "
          "5 left, 0 held", "check the wallet's history"),
    Check("prices", "OK", "2 held tokens priced within 30s"),
]


def test_another_users_agents_and_positions_are_not_named() -> None:
    shown = {c.name: c for c in for_user(CHECKS, admin=False)}
    assert shown["configs"].detail == ("1 agents with an invalid stored config, their "
                                       "positions not swept")
    assert shown["positions"].detail == "1 open positions whose tokens left the wallet"
    assert shown["configs"].status == "FAIL" and shown["positions"].status == "WARN"
    assert shown["configs"].fix == "give each a valid config"
    assert shown["workers"] == CHECKS[0] and shown["prices"] == CHECKS[3]  # fleet-wide: kept
    assert for_user(CHECKS, admin=True) == CHECKS


def test_a_check_not_run_keeps_its_reason() -> None:
    skipped = Check("positions", "FAIL", "not checked: the database check failed", "fix it")
    assert for_user([skipped], admin=False) == [skipped]
