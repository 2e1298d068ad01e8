"""The dashboard's sessions over HTTP, on the real app, PostgreSQL and Redis: a sign-in or a
logout without the CSRF token it was given (missing, wrong, or the sign-in cookie absent as
in a cross-site post) is refused and changes nothing; revoking the key ends its sessions —
the pages send the browser back to the sign-in form, the session's record leaves Redis, and
an open event stream says ``signed_out`` and ends."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

import httpx
import redis
from fastapi.testclient import TestClient

from persistence.unit_of_work import SqlAlchemyUnitOfWork
from tests.integration.http_support import FixedClock
from workers.handlers.operators.keys import NewKey, create_key, revoke_key
from workers.http import web_session

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
SESSIONS = "sf:dashboard:session:*"


def read_key(uow_factory: Callable[[], SqlAlchemyUnitOfWork], email: str) -> NewKey:
    return create_key(uow_factory(), FixedClock(), user_email=email, scopes=["read"])


def login_form(client: TestClient) -> str:
    """Open the sign-in form: its token (the same one rides in the sign-in cookie)."""
    answer = client.get("/dashboard/login")
    assert answer.status_code == 200
    match = TOKEN.search(answer.text)
    assert match and client.cookies.get(web_session.LOGIN_CSRF_COOKIE) == match.group(1)
    return match.group(1)


def sign_in(client: TestClient, key: str, token: str | None) -> httpx.Response:
    form = {"api_key": key, **({"csrf_token": token} if token is not None else {})}
    return client.post("/dashboard/login", data=form, follow_redirects=False)


def signed_in(client: TestClient) -> bool:
    answer = client.get("/dashboard", follow_redirects=False)
    if answer.status_code == 303:
        assert answer.headers["location"] == "/dashboard/login"
        return False
    assert answer.status_code == 200, answer.text
    return True


def page_token(client: TestClient) -> str:
    match = TOKEN.search(client.get("/dashboard").text)  # the logout form's token
    assert match
    return match.group(1)


def test_sign_in_without_its_csrf_token_is_refused(
        make_client: Callable[..., tuple[TestClient, object]],
        uow_factory: Callable[[], SqlAlchemyUnitOfWork], redis_client: redis.Redis) -> None:
    client, _ = make_client()
    key = read_key(uow_factory, "reader@example.com").key
    token = login_form(client)
    for presented in (None, "", "x" * 43, token[:-1] + ("A" if token[-1] != "A" else "B")):
        answer = sign_in(client, key, presented)
        assert answer.status_code == 400, presented
        assert "The form expired" in answer.text
        assert web_session.COOKIE not in client.cookies
    client.cookies.delete(web_session.LOGIN_CSRF_COOKIE, path="/dashboard")
    assert sign_in(client, key, token).status_code == 400
    assert web_session.COOKIE not in client.cookies  # a cross-site post has no cookie
    assert not list(redis_client.scan_iter(SESSIONS)) and not signed_in(client)

    token = login_form(client)
    answer = sign_in(client, key, token)  # the token it was given: signed in
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard"
    assert signed_in(client) and len(list(redis_client.scan_iter(SESSIONS))) == 1


def test_logout_without_the_sessions_csrf_token_is_refused(
        make_client: Callable[..., tuple[TestClient, object]],
        uow_factory: Callable[[], SqlAlchemyUnitOfWork], redis_client: redis.Redis) -> None:
    client, _ = make_client()
    key = read_key(uow_factory, "reader@example.com").key
    assert sign_in(client, key, login_form(client)).status_code == 303
    token = page_token(client)
    for form in ({}, {"csrf_token": ""}, {"csrf_token": login_form(client)},
                 {"csrf_token": token + "x"}):
        answer = client.post("/dashboard/logout", data=form, follow_redirects=False)
        assert answer.status_code == 400, form
        assert signed_in(client), form  # the session is still there
    assert len(list(redis_client.scan_iter(SESSIONS))) == 1

    answer = client.post("/dashboard/logout", data={"csrf_token": token},
                         follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/dashboard/login"
    assert not list(redis_client.scan_iter(SESSIONS)) and not signed_in(client)


def test_a_revoked_key_ends_its_sessions_and_their_event_streams(
        make_client: Callable[..., tuple[TestClient, object]],
        uow_factory: Callable[[], SqlAlchemyUnitOfWork], redis_client: redis.Redis) -> None:
    client, _ = make_client()
    issued = read_key(uow_factory, "reader@example.com")
    other = read_key(uow_factory, "other@example.com").key
    assert sign_in(client, issued.key, login_form(client)).status_code == 303
    bystander, _ = make_client()
    assert sign_in(bystander, other, login_form(bystander)).status_code == 303
    assert signed_in(client) and signed_in(bystander)

    events: list[str] = []
    ready = threading.Event()

    def listen() -> None:
        with client.stream("GET", "/dashboard/events") as stream:
            assert stream.status_code == 200
            for line in stream.iter_lines():
                if line.startswith("event: "):
                    events.append(line.removeprefix("event: "))
                    ready.set()

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert ready.wait(15), "the event stream never said ready"
    assert events == ["ready"]

    revoke_key(uow_factory(), FixedClock(), issued.id)
    listener.join(15)
    assert not listener.is_alive(), "the event stream outlived the revoked key"
    assert events == ["ready", "signed_out"]
    assert not signed_in(client)
    assert client.get("/dashboard/health", follow_redirects=False).status_code == 303
    assert client.get("/dashboard/events", follow_redirects=False).status_code == 303
    assert len(list(redis_client.scan_iter(SESSIONS))) == 1  # the revoked one is gone
    assert signed_in(bystander)  # another key's session lives on
    answer = sign_in(client, issued.key, login_form(client))  # and the key signs in no more
    assert answer.status_code == 401
    assert "Sign-in refused" in answer.text
