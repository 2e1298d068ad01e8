"""The start-up guard reads the head revision without Alembic; it must agree with Alembic."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from persistence import schema


def test_head_is_alembics() -> None:
    assert schema.head_revision() == ScriptDirectory(str(schema.MIGRATIONS_DIR)).get_current_head()


def _migration(directory: Path, revision: str, down: str) -> None:
    (directory / f"{revision}.py").write_text(
        f"revision: str = '{revision}'\n"
        f"down_revision: Union[str, Sequence[str], None] = {down}\n")


def test_two_heads_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    versions = tmp_path / "versions"
    versions.mkdir()
    _migration(versions, "0001", "None")
    _migration(versions, "0002a", "'0001'")
    _migration(versions, "0002b", "'0001'")
    monkeypatch.setattr(schema, "MIGRATIONS_DIR", tmp_path)
    with pytest.raises(RuntimeError, match="2 heads"):
        schema.head_revision()
    _migration(versions, "0003", "('0002a', '0002b')")  # a merge
    assert schema.head_revision() == "0003"
