"""What every command shares: the process container, output (tables, JSON, CSV), clean errors.

Importing this module (and every command module) stays cheap so that ``fleet --help`` and
the quick commands start fast: SQLAlchemy, Redis, Celery, rich and the settings load inside
the commands that use them (``make bench`` measures ``fleet --help``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperGroup

from workers.cli import formatting
from workers.cli.failures import BAD_INPUT, explain

if TYPE_CHECKING:
    import psycopg
    from rich.console import Console
    from rich.progress import Progress

    from workers.bootstrap import Container

_container: Container | None = None


class Clock:
    """The wall clock, for the use cases a command runs."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class State:
    debug: bool = False


state = State()


class _LazyConsole:
    """A rich Console built on first use (rich costs ~0.1 s to import)."""

    def __init__(self, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    def get(self) -> Console:
        if self._console is None:
            from rich.console import Console

            # stderr: an error stays one line, however long
            self._console = Console(stderr=self._stderr, soft_wrap=self._stderr)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.get(), name)


console: Any = _LazyConsole(stderr=False)
err_console: Any = _LazyConsole(stderr=True)


def group(help: str, **options: Any) -> typer.Typer:
    """A command group; its help is plain text (typer's rich help costs ~0.2 s to import)."""
    return typer.Typer(help=help, **{"no_args_is_help": True, "rich_markup_mode": None,
                                     **options})


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` as one line on stderr; returns the Exit to raise."""
    from rich.markup import escape

    err_console.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


class FleetGroup(TyperGroup):
    """The top-level group: any exception a command did not handle becomes one line and a
    non-zero exit code; ``fleet --debug`` re-raises it for the traceback."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise  # usage errors and exits: typer prints them
        except Exception as exc:
            if state.debug:
                raise
            failure = explain(exc)
            raise fail(failure.message, failure.code) from None


def configure_logging(log_format: str, level: str) -> None:
    from workers.logging import configure_logging as configure

    configure(log_format, level)


def _log_level() -> str:
    """A command answers on stdout and logs only warnings on stderr (``--debug``: all); the
    long-running processes log at SIGNALFLEET_LOG_LEVEL."""
    return "DEBUG" if state.debug else "WARNING"


def container(*, require_head: bool = True) -> Container:
    """The process's container, built once; refuses a database that is not at head."""
    global _container
    if _container is None:
        from domain.money import install_context
        from workers.bootstrap import Container
        from workers.settings import get_settings

        settings = get_settings()
        install_context()
        configure_logging(settings.log_format, _log_level())
        _container = Container(settings)
    if require_head:
        with errors():
            _container.require_schema_at_head()
    return _container


@contextmanager
def reads(*, require_head: bool = True) -> Iterator[psycopg.Connection[Any]]:
    """A connection for a listing (``persistence/queries.py``), the schema checked at head
    unless ``require_head`` is False (``fleet db current``).

    Without a container yet, it is one plain read-only connection to the database that
    ``workers/environment.py`` finds without pydantic-settings (a running embedded server
    through its pid file): a listing then imports neither SQLAlchemy, the settings library
    nor the logging set-up, which were most of its start-up (``make bench`` times ``fleet
    agents list``). A command that built the container borrows one of its engine's pooled
    connections (rolled back as it returns to the pool)."""
    if _container is not None:
        from persistence.read_connection import borrowed

        with errors(), borrowed(_container.engine) as conn:
            yield conn
        return
    from domain.money import install_context
    from persistence import schema
    from persistence.read_connection import connect

    install_context()
    with errors(), connect(_database_url()) as conn:
        if require_head:
            schema.refuse_unless_head(schema.revision_of(conn))
        yield conn


def _database_url() -> str:
    """The configured database, else the embedded one: found running, or started (refused
    after ``fleet services stop``) with the settings validated, as every command does."""
    from workers.embedded import running_database_url
    from workers.environment import WeakPassword, database_location

    try:
        configured, var_dir = database_location()
    except WeakPassword as exc:
        raise SystemExit(f"error: {exc}") from None  # as get_settings says it
    url = configured or running_database_url(var_dir)
    if url is None:
        from workers.bootstrap import resolve_urls
        from workers.settings import get_settings

        url = resolve_urls(get_settings()).database_url
    return url


def process_logs(c: Container) -> None:
    """A long-running process (worker, ingestor, …), its start-up checks passed, logs at
    SIGNALFLEET_LOG_LEVEL from here on."""
    if not state.debug:
        configure_logging(c.settings.log_format, c.settings.log_level)


@contextmanager
def errors() -> Iterator[None]:
    """Turn typed errors into one clear line on stderr and a non-zero exit."""
    from domain.errors import DomainError, InvalidConfig

    try:
        yield
    except InvalidConfig as exc:
        for path, message in exc.errors:  # every error, one line each
            fail(f"{path}: {message}", BAD_INPUT)
        raise typer.Exit(BAD_INPUT) from None
    except DomainError as exc:
        failure = explain(exc)
        raise fail(failure.message, failure.code) from None
    except Exception as exc:
        schema = sys.modules.get("persistence.schema")
        if schema is None or not isinstance(exc, schema.SchemaNotAtHead):
            raise
        failure = explain(exc)
        raise fail(failure.message, failure.code) from None


JsonOpt = typer.Option(False, "--json", help="Print JSON for scripts (full precision).")
CsvOpt = typer.Option(False, "--csv", help="Print CSV for spreadsheets (full precision).")
WideOpt = typer.Option(False, "--wide", help="Every column (the default fits 80 columns).")


@dataclass(frozen=True)
class Output:
    as_json: bool = False
    as_csv: bool = False
    wide: bool = False


def emit(rows: Sequence[dict[str, Any]], *, title: str, output: Output = Output(),
         columns: Sequence[formatting.Column] | None = None, as_json: bool = False) -> None:
    """Print rows as a table for people, or every field at full precision as JSON or CSV."""
    if output.as_json or as_json:
        typer.echo(formatting.as_json(rows))
        return
    if output.as_csv:
        sys.stdout.write(formatting.as_csv(rows))
        return
    if not rows:
        console.print(f"{title}: none")
        return
    if columns is None:
        columns = [formatting.Column(k, k) for k in rows[0]]
    table = formatting.table(rows, columns, title=title, wide=output.wide)
    if output.wide:  # as wide as the table needs, whatever the terminal
        from rich.console import Console

        Console(width=formatting.WIDE).print(table)
    else:
        console.print(table)


def progress_bar(*, transient: bool = False) -> Progress:
    """A rich progress bar on stderr (stdout stays clean for ``--json`` and pipes)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                    MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                    console=err_console.get(), transient=transient)
