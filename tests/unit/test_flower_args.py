"""``fleet flower`` refuses to run without basic auth unless explicitly allowed."""

from __future__ import annotations

import pytest
import typer

from workers.cli.ops import flower_args
from workers.settings import Settings


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


def test_without_credentials_it_refuses(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(typer.Exit) as refused:
        flower_args(settings(), "127.0.0.1", 5555)
    assert refused.value.exit_code == 2
    assert "SIGNALFLEET_FLOWER_PASSWORD" in capsys.readouterr().err


def test_a_user_without_a_password_is_not_enough() -> None:
    with pytest.raises(typer.Exit):
        flower_args(settings(flower_user="admin"), "127.0.0.1", 5555)


STRONG = "Qm7vX2kL9pR4tW8zN3bJ"


def test_credentials_become_basic_auth_on_localhost() -> None:
    args = flower_args(settings(flower_user="admin", flower_password=STRONG),
                       "127.0.0.1", 5566)
    assert args == ["flower", "--address=127.0.0.1", "--port=5566",
                    f"--basic-auth=admin:{STRONG}"]


@pytest.mark.parametrize(("password", "why"), [
    ("x", "shorter than 16"), ("pw-123456", "shorter than 16"),
    ("change-me-too-change-me", "an example"), ("CHANGE-ME" * 3, "an example")])
def test_a_weak_or_example_password_is_refused_in_one_line(
        capsys: pytest.CaptureFixture[str], password: str, why: str) -> None:
    with pytest.raises(typer.Exit) as refused:
        flower_args(settings(flower_user="admin", flower_password=password), "127.0.0.1", 1)
    assert refused.value.exit_code == 2
    err = capsys.readouterr().err
    assert f"SIGNALFLEET_FLOWER_PASSWORD is {why}" in err and password not in err
    assert len(err.strip().splitlines()) == 1


def test_no_auth_only_when_explicitly_allowed(capsys: pytest.CaptureFixture[str]) -> None:
    args = flower_args(settings(flower_allow_no_auth=True), "127.0.0.1", 5555)
    assert not any(a.startswith("--basic-auth") for a in args)
    assert "without authentication" in capsys.readouterr().err


def test_separators_in_credentials_are_refused() -> None:
    with pytest.raises(typer.Exit):
        flower_args(settings(flower_user="a:b", flower_password="pw"), "127.0.0.1", 5555)
