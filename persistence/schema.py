"""Alembic glue: upgrade/downgrade/check, and the guard that refuses a database not at head.

The guard runs before every command, so it does not import Alembic (a third of a quick
command's start-up): it reads the head from the migration files' ``revision`` and
``down_revision`` lines and the database's revision from ``alembic_version`` itself
(tests/unit/test_schema_head.py holds it to Alembic's answer)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import migrations

if TYPE_CHECKING:
    import psycopg
    from alembic.config import Config
    from sqlalchemy import Engine

MIGRATIONS_DIR = Path(migrations.__file__).resolve().parent
UPGRADE_HINT = "run `fleet db upgrade` (or `make migrate`)"
_REVISION = re.compile(r"^revision\s*(?::[^=]*)?=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)
_DOWN = re.compile(r"^down_revision\s*(?::[^=]*)?=(.*)$", re.MULTILINE)
_QUOTED = re.compile(r"['\"]([^'\"]+)['\"]")


class SchemaNotAtHead(RuntimeError):
    """The database's schema revision is not the code's head revision."""


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # '%' must be escaped for ConfigParser interpolation.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    from alembic import command

    command.downgrade(alembic_config(url), revision)


def check(url: str) -> None:
    """Raise if the models and the migrations disagree (``alembic check``)."""
    from alembic import command

    command.check(alembic_config(url))


def head_revision() -> str | None:
    """The revision no migration builds on (None without migrations); more than one is an
    error, as ``alembic heads`` would show."""
    revisions: set[str] = set()
    built_on: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        text = path.read_text()
        found = _REVISION.search(text)
        if found is None:
            continue
        revisions.add(found.group(1))
        down = _DOWN.search(text)
        if down is not None:
            built_on.update(_QUOTED.findall(down.group(1)))
    heads = sorted(revisions - built_on)
    if len(heads) > 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads ({', '.join(heads)}): "
                           "merge them (`alembic merge`)")
    return heads[0] if heads else None


def current_revision(engine: Engine) -> str | None:
    """The database's revision (None for an empty database), as Alembic records it."""
    from persistence.read_connection import borrowed

    with borrowed(engine) as conn:
        return revision_of(conn)


def revision_of(conn: psycopg.Connection[Any]) -> str | None:
    """``current_revision`` on a plain psycopg connection (the CLI's read path)."""
    with conn.cursor() as cur:
        found = cur.execute("SELECT to_regclass('alembic_version')").fetchone()
        if found is None or found[0] is None:
            return None
        rows = [row[0] for row in cur.execute("SELECT version_num FROM alembic_version")]
    if len(rows) > 1:
        raise RuntimeError(f"the database is at {len(rows)} revisions ({', '.join(rows)})")
    return rows[0] if rows else None


def require_head(engine: Engine) -> None:
    """Refuse to run against a database whose schema is not at head."""
    refuse_unless_head(current_revision(engine))


def refuse_unless_head(current: str | None) -> None:
    head = head_revision()
    if current != head:
        raise SchemaNotAtHead(
            f"the database schema is at {current or 'an empty state'}, the code expects "
            f"{head}: {UPGRADE_HINT}"
        )
