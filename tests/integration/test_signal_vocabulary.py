"""The signal vocabulary and repeated JSON keys where a signal enters, on the real database
and Redis: over HTTP a 400 naming the field (and the accepted types), on the stream a dead
letter saying the same; nothing stored either way. (The tasks: tests/e2e/test_vocabulary.py.)"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any, cast

import pytest
import redis
from sqlalchemy import Engine

from domain.vocabulary import parse_vocabulary
from persistence.unit_of_work import SqlAlchemyUnitOfWork
from tests.fakes import db_deps
from tests.integration.http_support import VALID, count_signals, post
from workers.ingest.dead_letters import DEAD_SIGNALS_STREAM
from workers.ingest.stream import StreamIngestor

TYPOS = ["exit", "hodl", "sel"]
# `sell` then `buy`: json.loads alone would keep the last one and buy
REPEATED = json.dumps({**VALID, "signal_type": "sell"})[:-1] + ', "signal_type": "buy"}'


@pytest.mark.parametrize("typo", TYPOS)
def test_http_refuses_a_type_outside_the_vocabulary(
        make_client: Callable[..., Any], api_key: str, clean_db: Engine, typo: str) -> None:
    client, rt = make_client()
    response = post(client, {**VALID, "signal_type": typo}, api_key)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["field"] == "signal_type"
    assert repr(typo) in body["reason"] and "buy (entry)" in body["reason"]
    assert "sell (exit)" in body["reason"]
    assert count_signals(clean_db) == 0 and rt.committed_at_send == []


def test_http_takes_the_vocabulary_in_any_case(make_client: Callable[..., Any],
                                               api_key: str) -> None:
    client, _ = make_client()
    for kind in ("BUY", "Sell"):
        response = post(client, {**VALID, "signal_type": kind}, api_key)
        assert response.status_code == 201 and response.json()["signal_type"] == kind


def test_http_refuses_a_repeated_key(make_client: Callable[..., Any], api_key: str,
                                     clean_db: Engine) -> None:
    client, _ = make_client()
    response = post(client, REPEATED, api_key)
    assert response.status_code == 400
    assert response.json()["field"] == "signal_type"
    assert "repeated" in response.json()["reason"]
    assert count_signals(clean_db) == 0


def _dead(client: redis.Redis) -> dict[str, dict[str, str]]:
    entries = cast("list[tuple[str, dict[str, str]]]", client.xrange(DEAD_SIGNALS_STREAM))
    return {d["message_id"]: d for _, d in entries}


def test_the_stream_dead_letters_types_outside_the_vocabulary_and_repeated_keys(
        uow_factory: Callable[[], SqlAlchemyUnitOfWork], redis_client: redis.Redis,
        clean_db: Engine) -> None:
    ingestor = StreamIngestor(redis_client, db_deps(uow_factory), "t")
    messages: list[tuple[Any, dict[Any, Any]]] = [
        (f"{i + 1}-0", {"payload": json.dumps({**VALID, "signal_type": typo})})
        for i, typo in enumerate(TYPOS)]
    messages.append(("9-0", {"payload": REPEATED}))
    ingestor.handle(messages)
    dead = _dead(redis_client)
    for i, typo in enumerate(TYPOS):
        entry = dead[f"{i + 1}-0"]
        assert entry["field"] == "signal_type" and repr(typo) in entry["reason"]
        assert "buy (entry)" in entry["reason"] and "sell (exit)" in entry["reason"]
    assert dead["9-0"]["field"] == "signal_type" and "repeated" in dead["9-0"]["reason"]
    assert count_signals(clean_db) == 0


def test_a_deployments_own_vocabulary(uow_factory: Callable[[], SqlAlchemyUnitOfWork],
                                      redis_client: redis.Redis, clean_db: Engine) -> None:
    """`*` entries: a strategy name is an entry; the exit list still exits."""
    deps = replace(db_deps(uow_factory), vocabulary=parse_vocabulary("*", "sell,close"))
    ingestor = StreamIngestor(redis_client, deps, "t")
    ingestor.handle([("1-0", {"payload": json.dumps(
        {**VALID, "signal_type": "Velocity (Dex Boost Detection)"})}),
        ("2-0", {"payload": json.dumps({**VALID, "signal_type": "close"})})])
    assert count_signals(clean_db) == 2 and _dead(redis_client) == {}
