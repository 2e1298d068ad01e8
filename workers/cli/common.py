"""What every command shares: the process container, JSON output, clean errors."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from domain.errors import DomainError, InvalidConfig, InvalidInput
from domain.money import install_context
from persistence.schema import SchemaNotAtHead
from workers.bootstrap import Container
from workers.logging import configure_logging
from workers.settings import get_settings

console = Console()
err_console = Console(stderr=True, soft_wrap=True)  # an error stays one line, however long
_container: Container | None = None


def container(*, require_head: bool = True) -> Container:
    """The process's container, built once; refuses a database that is not at head."""
    global _container
    if _container is None:
        settings = get_settings()
        install_context()
        configure_logging(settings.log_format, "WARNING")
        _container = Container(settings)
    if require_head:
        with errors():
            _container.require_schema_at_head()
    return _container


@contextmanager
def errors() -> Iterator[None]:
    """Turn typed errors into one clear line on stderr and a non-zero exit."""
    try:
        yield
    except SchemaNotAtHead as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(3) from None
    except InvalidConfig as exc:
        for path, message in exc.errors:
            err_console.print(f"[red]error:[/red] {path}: {message}")
        raise typer.Exit(2) from None
    except InvalidInput as exc:
        err_console.print(f"[red]error:[/red] {exc.field}: {exc.reason}")
        raise typer.Exit(2) from None
    except DomainError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


def emit(rows: Sequence[dict[str, Any]], *, as_json: bool, title: str) -> None:
    """Print rows as a rich table, or as JSON for scripts."""
    if as_json:
        typer.echo(json.dumps([{k: _jsonable(v) for k, v in r.items()} for r in rows], indent=2))
        return
    table = Table(title=title)
    for column in rows[0].keys() if rows else ():
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if v is None else str(_jsonable(v)) for v in row.values()))
    console.print(table if rows else f"{title}: none")


def progress_bar(*, transient: bool = False) -> Progress:
    """A rich progress bar on stderr (stdout stays clean for ``--json`` and pipes)."""
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                    MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                    console=err_console, transient=transient)
