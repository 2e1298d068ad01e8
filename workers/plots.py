"""``fleet report --plot``: the equity curve and the PnL of each closed trade, drawn to a PNG.

A pure function of its data (no database, no display): matplotlib runs on the Agg backend,
set here before pyplot is ever imported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display; must precede the pyplot import

from matplotlib import dates as mdates
from matplotlib import pyplot as plt
from matplotlib.figure import Figure

from domain.errors import InvalidInput

GAIN, LOSS = "tab:green", "tab:red"


@dataclass(frozen=True)
class Curve:
    label: str
    times: Sequence[datetime]
    values: Sequence[Decimal]  # portfolio_balance_sol, one per time


@dataclass(frozen=True)
class Bars:
    labels: Sequence[str]
    values: Sequence[Decimal]  # profit_loss_sol, one per closed trade


@dataclass(frozen=True)
class Plotted:
    """What was drawn, read back from the figure's artists (for checks and tests)."""

    curves: dict[str, list[float]]  # legend label → the line's y data
    bars: list[float]  # bar heights, in trade order


def check_png_path(path: Path) -> Path:
    """The file the plot goes to: a ``.png`` in a directory that exists."""
    if path.suffix.lower() != ".png":
        raise InvalidInput("plot", f"{path} must end in .png")
    if path.exists() and path.is_dir():
        raise InvalidInput("plot", f"{path} is a directory")
    if not path.parent.is_dir():
        raise InvalidInput("plot", f"directory {path.parent} does not exist")
    return path


def draw_report(path: Path, curves: Sequence[Curve], bars: Bars, *, title: str) -> Plotted:
    """Draw the equity curves (top) and the PnL per closed trade (bottom) into ``path``."""
    check_png_path(path)
    fig = plt.figure(figsize=(10, 8))
    try:
        equity_ax, pnl_ax = fig.subplots(2, 1)
        fig.suptitle(title)
        _equity(equity_ax, curves)
        _pnl(pnl_ax, bars)
        fig.tight_layout()
        _save(fig, path)
        return _read_back(equity_ax, pnl_ax)
    finally:
        plt.close(fig)


def _equity(ax: Any, curves: Sequence[Curve]) -> None:
    ax.set_title("Equity curve (hourly snapshots)")
    ax.set_xlabel("time (UTC)")
    ax.set_ylabel("portfolio (SOL)")
    drawn = [c for c in curves if c.values]
    for curve in drawn:
        ax.plot(list(curve.times), [float(v) for v in curve.values], marker="o",
                markersize=3, label=curve.label)
    if drawn:
        ax.legend(loc="best")
        locator = mdates.AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=UTC))
    else:
        _empty(ax, "no snapshots")


def _pnl(ax: Any, bars: Bars) -> None:
    ax.set_title("PnL per closed trade")
    ax.set_xlabel("closed trade (by sale time)")
    ax.set_ylabel("PnL (SOL)")
    if not bars.values:
        _empty(ax, "no closed trades")
        return
    heights = [float(v) for v in bars.values]
    positions = list(range(len(heights)))
    ax.bar(positions, heights, color=[GAIN if h > 0 else LOSS for h in heights])
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(positions, list(bars.labels), rotation=45, ha="right", fontsize=8)


def _empty(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)


def _save(fig: Figure, path: Path) -> None:
    try:
        fig.savefig(path, format="png", dpi=100)
    except OSError as exc:
        raise InvalidInput("plot", f"cannot write {path}: {exc.strerror or exc}") from None


def _read_back(equity_ax: Any, pnl_ax: Any) -> Plotted:
    curves = {line.get_label(): [float(y) for y in line.get_ydata()]
              for line in equity_ax.get_lines()}
    bars = [float(patch.get_height()) for patch in pnl_ax.patches]
    return Plotted(curves, bars)


def curves_from(equity: Mapping[str, Sequence[Any]]) -> list[Curve]:
    """Curves from ``{label: [point with .hour and .portfolio_balance_sol]}``."""
    return [Curve(label, [p.hour for p in points], [p.portfolio_balance_sol for p in points])
            for label, points in equity.items()]
