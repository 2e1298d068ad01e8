"""``fleet signals push/list`` and ``fleet prices set``.

``signals push`` adds the signal to the stream as a provider would, then reads it back the
way the ingestor stores it: by idempotency key in the ``stream`` namespace (``--key``, else
``stream:<message id>``, the key the stream ingestor gives a message without one). It prints
the signal's id once stored and its outcome once the workers executed it, or says which
process to start.
"""

from __future__ import annotations

import json
import time
from typing import Any

import typer

from workers.cli import formatting as f
from workers.cli.common import (
    Clock,
    CsvOpt,
    JsonOpt,
    Output,
    WideOpt,
    console,
    container,
    emit,
    err_console,
    errors,
    group,
    reads,
)

signals_app = group("Push and list signals.")
prices_app = group("Static prices (the `static` feed).")
DONE = ("processed", "failed")


@signals_app.command("push")
def push(token: str = typer.Option(..., "--token"),
         type_: str = typer.Option(..., "--type",
                                   help="buy (entry) or sell (exit), in any case, unless "
                                        "SIGNALFLEET_ENTRY_SIGNAL_TYPES / _EXIT_SIGNAL_TYPES "
                                        "say otherwise; other types are refused"),
         strength: int = typer.Option(..., "--strength"),
         symbol: str | None = typer.Option(None, "--symbol"),
         source: str | None = typer.Option("cli", "--source"),
         reason: str | None = typer.Option(None, "--reason"),
         key: str | None = typer.Option(None, "--key", help="idempotency key"),
         wait: float = typer.Option(10.0, "--wait", min=0, help="seconds to wait for the "
                                    "signal to be stored and executed (0: do not wait)"),
         as_json: bool = JsonOpt) -> None:
    """Push a signal onto the stream; prints its id (and the stream message id). A type
    outside the deployment's vocabulary is refused here, as the ingestor would."""
    from domain.signals import parse_signal
    from workers.ingest.stream import SIGNALS_STREAM

    payload = {k: v for k, v in {
        "token_address": token, "signal_type": type_, "signal_strength": strength,
        "symbol": symbol, "source": source, "activation_reason": reason,
        "idempotency_key": key}.items() if v is not None}
    from workers.settings import get_settings

    with errors():  # fail here, clearly, rather than in the dead-letter stream
        get_settings().vocabulary.check(parse_signal(payload).signal_type)
    c = container()
    message_id = str(c.redis.xadd(SIGNALS_STREAM, {"payload": json.dumps(payload)}))
    stored = _await(c, key or f"stream:{message_id}", wait) if wait > 0 else None
    if as_json:
        typer.echo(json.dumps({"message_id": message_id,
                               **({"signal_id": None} if stored is None else stored)}))
    else:
        typer.echo(_describe(message_id, stored))
    if wait > 0:
        _hint(stored, wait)


def _await(c: Any, key: str, wait: float) -> dict[str, Any] | None:
    """The stored signal once its status is final, or as last seen when ``wait`` ran out."""
    from domain.channels import STREAM
    from persistence import queries

    deadline = time.monotonic() + wait
    while True:
        with reads() as conn:
            found = queries.signal_by_key(conn, STREAM, key)
        if (found is not None and found["status"] in DONE) or time.monotonic() >= deadline:
            return found
        time.sleep(0.1)


def _describe(message_id: str, stored: dict[str, Any] | None) -> str:
    if stored is None:
        return f"stream message {message_id}"
    agents = stored["eligible_agents"]
    outcome = "" if agents is None else f", {agents} eligible agent{'s' * (agents != 1)}"
    return f"signal {stored['id']} {stored['status']}{outcome} (stream message {message_id})"


def _hint(stored: dict[str, Any] | None, wait: float) -> None:
    if stored is None:
        err_console.print(f"[yellow]note:[/yellow] not stored within {wait:g}s: is the "
                          "ingestor running (`fleet ingest`, or `fleet run`)? `fleet signals "
                          "list` shows it once stored", highlight=False)
    elif stored["status"] not in DONE:
        err_console.print(f"[yellow]note:[/yellow] not executed within {wait:g}s: is a worker "
                          "running (`fleet worker`, or `fleet run`)? `fleet executions "
                          f"--signal {stored['id']}` shows the outcome", highlight=False)


@signals_app.command("list")
def list_signals(limit: int = 50, as_json: bool = JsonOpt, as_csv: bool = CsvOpt,
                 wide: bool = WideOpt) -> None:
    """The latest signals, newest first."""
    from persistence import queries

    with reads() as conn:
        rows = queries.signals(conn, limit)
    emit(rows, title="signals", output=Output(as_json, as_csv, wide), columns=[
        f.Column("id", "id", numeric=True), f.Column(f.token, "token"),
        f.Column("token_address", "mint", wide=True), f.Column("signal_type", "type"),
        f.Column("signal_strength", "strength", numeric=True),
        f.Column("source", "source", wide=True), f.Column("status", "status"),
        f.Column("eligible_agents", "agents", numeric=True),
        f.Column("received_at", "received (UTC)", f.moment)])


@prices_app.command("set")
def set_price(token: str = typer.Option(..., "--token"),
              price_sol: str = typer.Option(..., "--price-sol"),
              price_usd: str | None = typer.Option(None, "--price-usd")) -> None:
    """Set a token's price for the `static` feed."""
    from workers.adapters.prices import StaticPriceFeed

    c = container()
    with errors():
        quote = StaticPriceFeed(c.redis, Clock()).set_price(token, price_sol, price_usd)
    console.print(f"{token}: {f.amount(quote.price_sol)} SOL", highlight=False)
    if c.settings.price_feed != "static":
        err_console.print(f"[yellow]note:[/yellow] the price feed is "
                          f"{c.settings.price_feed!r}; workers read these prices only with "
                          "SIGNALFLEET_PRICE_FEED=static", highlight=False)
