"""``fleet db``: the schema is only ever changed by these Alembic commands."""

from __future__ import annotations

import typer

from workers.cli.common import console, container, group, reads

app = group("Database schema migrations.")


@app.command()
def upgrade(revision: str = typer.Argument("head")) -> None:
    """Upgrade the database schema (default: to the latest revision)."""
    from persistence import schema

    c = container(require_head=False)
    schema.upgrade(c.urls.database_url, revision)
    console.print(f"database at {schema.current_revision(c.engine)}")


@app.command()
def downgrade(revision: str = typer.Argument(..., help="target revision, e.g. base")) -> None:
    """Downgrade the database schema."""
    from persistence import schema

    c = container(require_head=False)
    schema.downgrade(c.urls.database_url, revision)
    console.print(f"database at {schema.current_revision(c.engine) or 'base'}")


@app.command()
def current() -> None:
    """Show the database's revision and the code's head."""
    from persistence import schema

    with reads(require_head=False) as conn:
        current = schema.revision_of(conn)
    console.print(f"database: {current or 'empty'}; code head: {schema.head_revision()}")


@app.command()
def check() -> None:
    """Fail if the models and the migrations disagree."""
    from persistence import schema

    c = container(require_head=False)
    schema.check(c.urls.database_url)
    console.print("models and migrations agree")
