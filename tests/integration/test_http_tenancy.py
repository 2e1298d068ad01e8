"""Who may signal whom over HTTP: a signal belongs to its API key's user and reaches only that
user's agents; another user's id answers 403 (nothing stored) unless the key has ``admin``;
scopes ``signals``, ``read`` and ``admin``; ``require_scope`` guards any route."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy import Engine, text

from persistence.unit_of_work import SqlAlchemyUnitOfWork
from tests.fakes import RecordingQueue, Store, make_deps
from tests.integration.http_support import VALID, FixedClock, count_signals, post
from workers.handlers.operators.agents import NewAgent, create_agent
from workers.handlers.operators.keys import Principal, create_key
from workers.handlers.signals.fan_out import fan_out
from workers.http.auth import require_scope

Uows = Callable[[], SqlAlchemyUnitOfWork]


def _key(uows: Uows, email: str, *scopes: str) -> str:
    return create_key(uows(), FixedClock(), user_email=email, scopes=list(scopes)).key


def _user(uows: Uows, email: str) -> uuid.UUID:
    with uows() as uow:
        user_id = uow.users.find(email)
    assert user_id is not None
    return user_id


def _reached(uows: Uows, signal_id: int) -> set[uuid.UUID]:
    """The agents the signal's fan-out reaches (the real handler: the first chunk runs
    inline and leaves an execution row per agent, the others are queued)."""
    queue = RecordingQueue()
    deps = replace(make_deps(Store({}, []), now=datetime.now(UTC)), uow=uows, queue=queue)
    fan_out(signal_id, deps)
    with uows() as uow:
        executed = {e.agent_id for e in uow.executions.for_signal(signal_id)}
    return executed | {a for _, ids in queue.executes for a in ids}


def test_a_key_reaches_only_its_own_users_agents(make_client: Callable[..., Any],
                                                 uow_factory: Uows, clean_db: Engine) -> None:
    mine = create_agent(uow_factory(), FixedClock(), NewAgent(name="alice-1",
                                                              user_email="a@example.com"))
    create_agent(uow_factory(), FixedClock(), NewAgent(name="bob-1", user_email="b@example.com"))
    key = _key(uow_factory, "a@example.com", "signals")
    client, _ = make_client()
    response = post(client, VALID, key)  # no user_id: the key's user, never "everyone"
    assert response.status_code == 201, response.text
    assert response.json()["user_id"] == str(_user(uow_factory, "a@example.com"))
    assert _reached(uow_factory, response.json()["id"]) == {mine}


def test_another_users_id_is_403_and_stores_nothing(make_client: Callable[..., Any],
                                                    uow_factory: Uows, clean_db: Engine) -> None:
    create_agent(uow_factory(), FixedClock(), NewAgent(name="bob-1", user_email="b@example.com"))
    key = _key(uow_factory, "a@example.com", "signals", "read")
    client, rt = make_client()
    for target in (str(_user(uow_factory, "b@example.com")), str(uuid.uuid4())):
        response = post(client, {**VALID, "user_id": target}, key)
        assert response.status_code == 403, response.text
        assert "user_id" in response.json()["detail"] and "admin" in response.json()["detail"]
    assert count_signals(clean_db) == 0 and rt.committed_at_send == []


def test_naming_ones_own_user_is_allowed(make_client: Callable[..., Any],
                                         uow_factory: Uows) -> None:
    key = _key(uow_factory, "a@example.com", "signals")
    me = str(_user(uow_factory, "a@example.com"))
    client, _ = make_client()
    response = post(client, {**VALID, "user_id": me}, key)
    assert response.status_code == 201 and response.json()["user_id"] == me


def test_an_admin_key_may_signal_an_existing_user(make_client: Callable[..., Any],
                                                  uow_factory: Uows, clean_db: Engine) -> None:
    theirs = create_agent(uow_factory(), FixedClock(), NewAgent(name="bob-1",
                                                                user_email="b@example.com"))
    create_agent(uow_factory(), FixedClock(), NewAgent(name="carol-1", user_email="c@example.com"))
    key = _key(uow_factory, "ops@example.com", "admin")  # admin holds every scope
    bob = str(_user(uow_factory, "b@example.com"))
    client, _ = make_client()
    response = post(client, {**VALID, "user_id": bob}, key)
    assert response.status_code == 201, response.text
    assert response.json()["user_id"] == bob
    assert _reached(uow_factory, response.json()["id"]) == {theirs}
    nobody = post(client, {**VALID, "user_id": str(uuid.uuid4())}, key)
    assert nobody.status_code == 400 and nobody.json()["field"] == "user_id"
    assert count_signals(clean_db) == 1


def test_a_read_only_key_cannot_push(make_client: Callable[..., Any], uow_factory: Uows,
                                     clean_db: Engine) -> None:
    key = _key(uow_factory, "reader@example.com", "read")
    client, _ = make_client()
    response = post(client, VALID, key)
    assert response.status_code == 403 and "`signals`" in response.json()["detail"]
    assert count_signals(clean_db) == 0


def test_require_scope_guards_any_route(make_client: Callable[..., Any],
                                        uow_factory: Uows) -> None:
    """The dependency another router uses: 401 without a key, 403 without the scope, the
    principal otherwise (``admin`` holds every scope)."""
    client, _ = make_client()

    @client.app.get("/v1/test-read")  # type: ignore[attr-defined]
    def read(who: Annotated[Principal, Depends(require_scope("read"))]) -> dict[str, str]:
        return {"user_id": str(who.user_id)}

    reader = _key(uow_factory, "reader@example.com", "read")
    pusher = _key(uow_factory, "pusher@example.com", "signals")
    admin = _key(uow_factory, "ops@example.com", "admin")
    assert client.get("/v1/test-read").status_code == 401
    assert client.get("/v1/test-read", headers={"X-API-Key": pusher}).status_code == 403
    got = client.get("/v1/test-read", headers={"X-API-Key": reader})
    assert got.status_code == 200
    assert got.json() == {"user_id": str(_user(uow_factory, "reader@example.com"))}
    assert client.get("/v1/test-read", headers={"X-API-Key": admin}).status_code == 200


def test_the_stored_row_carries_the_keys_user(make_client: Callable[..., Any],
                                              uow_factory: Uows, clean_db: Engine) -> None:
    key = _key(uow_factory, "a@example.com", "signals")
    client, _ = make_client()
    signal_id = post(client, VALID, key).json()["id"]
    with clean_db.connect() as conn:
        stored = conn.execute(text("SELECT user_id FROM trading_signals WHERE id = :id"),
                              {"id": signal_id}).scalar_one()
    assert stored == _user(uow_factory, "a@example.com")
