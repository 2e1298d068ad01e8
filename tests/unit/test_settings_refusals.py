"""A process refuses to start on a weak or example password, or a setting that does not
parse, with one line naming the setting and the fix (never a traceback); the vocabulary
settings; the task queue's JSON decoder marking repeated keys."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from domain.errors import InvalidSignal
from domain.json_text import JsonObject, repeated_key, with_default
from workers.handlers.signals.ingest import read_signal
from workers.ingest import task_json
from workers.settings import Settings, get_settings, weak_secrets

MINT = "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263"
STRONG = "k9V2xq7LmP4rT8wZ3nB6"


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """A clean environment (no SIGNALFLEET_*, no .env) and a fresh get_settings cache."""
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("SIGNALFLEET_")]:
        monkeypatch.delenv(name)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


@pytest.mark.parametrize(("values", "words"), [
    ({"flower_password": "change-me-too"}, "SIGNALFLEET_FLOWER_PASSWORD is an example"),
    ({"flower_password": "x"}, "SIGNALFLEET_FLOWER_PASSWORD is shorter than 16"),
    ({"database_url": "postgresql+psycopg://sf:change-me@postgres:5432/sf"},
     "SIGNALFLEET_DATABASE_URL is an example"),
    ({"database_url": "postgresql+psycopg://sf:short@db.internal/sf"},
     "SIGNALFLEET_DATABASE_URL is shorter than 16"),
    ({"redis_url": "rediss://:tiny@redis:6380/0"}, "SIGNALFLEET_REDIS_URL is shorter"),
    ({"broker_url": "amqp://u:change-me@rabbit//"}, "SIGNALFLEET_BROKER_URL is an example"),
])
def test_weak_and_example_passwords_are_found(values: dict[str, str], words: str) -> None:
    found = weak_secrets(settings(**values))
    assert len(found) == 1 and words in found[0] and "16 characters" in found[0]


@pytest.mark.parametrize("values", [
    {"flower_password": STRONG},
    {"database_url": f"postgresql+psycopg://sf:{STRONG}@postgres:5432/sf"},
    {"database_url": "postgresql://postgres:pg@127.0.0.1:5432/test"},  # this machine
    {"redis_url": "redis://localhost:6379/0"}, {"redis_url": "unix:///tmp/redis.sock"},
    {},
])
def test_strong_passwords_and_local_services_pass(values: dict[str, str]) -> None:
    assert weak_secrets(settings(**values)) == []


def test_an_example_password_is_refused_even_on_this_machine() -> None:
    found = weak_secrets(settings(database_url="postgresql://u:change-me@127.0.0.1/db"))
    assert len(found) == 1


def test_a_weak_password_stops_the_process_with_one_line(env: pytest.MonkeyPatch) -> None:
    env.setenv("SIGNALFLEET_FLOWER_PASSWORD", "change-me-too")
    with pytest.raises(SystemExit) as stopped:
        get_settings()
    message = str(stopped.value.code)
    assert "\n" not in message and message.startswith("error: SIGNALFLEET_FLOWER_PASSWORD")
    assert "change-me-too" not in message  # the secret itself is never echoed


def test_a_bad_vocabulary_setting_stops_the_process_with_one_line(
        env: pytest.MonkeyPatch) -> None:
    env.setenv("SIGNALFLEET_EXIT_SIGNAL_TYPES", "*")
    with pytest.raises(SystemExit) as stopped:
        get_settings()
    message = str(stopped.value.code)
    assert "\n" not in message and "SIGNALFLEET_EXIT_SIGNAL_TYPES" in message


def test_the_vocabulary_comes_from_the_settings(env: pytest.MonkeyPatch) -> None:
    env.setenv("SIGNALFLEET_ENTRY_SIGNAL_TYPES", "*")
    env.setenv("SIGNALFLEET_EXIT_SIGNAL_TYPES", "sell,close")
    vocabulary = get_settings().vocabulary
    assert vocabulary.any_entry and vocabulary.is_exit("Close")
    assert get_settings.cache_info().currsize == 1


# --- the task queue's JSON: a repeated key is marked, then refused naming it ---------------

def test_the_task_decoder_marks_a_repeated_key_and_keeps_kombus_types() -> None:
    body = ('[[{"token_address": "' + MINT + '", "signal_type": "buy", "signal_type": "sell", '
            '"signal_strength": 70}], {}, {"at": {"__type__": "decimal", "__value__": "1.5"}}]')
    args, _, extra = task_json.loads(body.encode())
    assert repeated_key(args[0]) == "signal_type" and args[0]["signal_type"] == "sell"
    assert str(extra["at"]) == "1.5"
    assert repeated_key(task_json.loads(json.dumps([{"a": 1}]))[0]) is None


def test_a_marked_payload_is_refused_naming_the_key_even_after_keying() -> None:
    marked = task_json.loads(json.dumps({"x": 1})[:-1] + ', "x": 2}')
    assert isinstance(marked, JsonObject)
    keyed = with_default(marked, "idempotency_key", "task:1")
    assert keyed["idempotency_key"] == "task:1" and repeated_key(keyed) == "x"
    with pytest.raises(InvalidSignal) as refused:
        read_signal(keyed, settings().vocabulary)
    assert refused.value.field == "x" and "repeated" in refused.value.reason


def test_the_codec_is_installed_for_application_json() -> None:
    from kombu.serialization import loads

    task_json.install()
    decoded = loads('{"a": 1, "a": 2}', "application/json", "utf-8")
    assert repeated_key(decoded) == "a"
