"""``fleet report --plot``: equity over the deposit baseline, return %, and the PnL of each
closed trade at its sale time, on one time axis, drawn to a PNG.

A pure function of its data (no database, no display): matplotlib runs on the Agg backend,
set here before pyplot is ever imported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
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
MIN_SPAN = timedelta(hours=2)


@dataclass(frozen=True)
class Curve:
    label: str
    times: Sequence[datetime]
    values: Sequence[Decimal]  # portfolio_balance_sol, one per time
    baseline: Sequence[Decimal] = ()  # net deposits at each time (drawn dashed); may be empty
    returns: Sequence[Decimal | None] = ()  # return % at each time (None: nothing deposited)


@dataclass(frozen=True)
class Bars:
    labels: Sequence[str]
    values: Sequence[Decimal]  # profit_loss_sol, one per closed trade
    times: Sequence[datetime] = ()  # each trade's sale time


@dataclass(frozen=True)
class Plotted:
    """What was drawn, read back from the figure's artists (for checks and tests)."""

    curves: dict[str, list[float]]  # legend label → the equity line's y data
    bars: list[float]  # trade PnL heights, in trade order
    baselines: dict[str, list[float]] = field(default_factory=dict)
    returns: dict[str, list[float]] = field(default_factory=dict)
    span: tuple[datetime, datetime] | None = None  # the shared time axis


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
    """Three panels on one time axis: each agent's equity over its net-deposit baseline, its
    return %, and the PnL of each closed trade at its sale time."""
    check_png_path(path)
    fig = plt.figure(figsize=(10, 10))
    try:
        equity_ax, returns_ax, pnl_ax = fig.subplots(3, 1, sharex=True)
        fig.suptitle(title)
        drawn = [c for c in curves if c.values]
        _equity(equity_ax, drawn)
        _returns(returns_ax, drawn)
        _pnl(pnl_ax, bars)
        span = _time_axis(pnl_ax, [t for c in drawn for t in c.times], list(bars.times))
        fig.tight_layout()
        _save(fig, path)
        return _read_back(equity_ax, returns_ax, pnl_ax, span)
    finally:
        plt.close(fig)


def _equity(ax: Any, curves: Sequence[Curve]) -> None:
    ax.set_title("Equity (first deposit, then hourly snapshots) over net deposits (dashed)")
    ax.set_ylabel("portfolio (SOL)")
    for curve in curves:
        line = ax.plot(list(curve.times), [float(v) for v in curve.values], marker="o",
                       markersize=4, label=curve.label)[0]
        if curve.baseline:
            ax.step(list(curve.times), [float(v) for v in curve.baseline], where="post",
                    linestyle="--", color=line.get_color(), label=f"{curve.label} deposits")
    if curves:
        ax.legend(loc="best", fontsize=8)
    else:
        _empty(ax, "no deposits or snapshots")


def _returns(ax: Any, curves: Sequence[Curve]) -> None:
    ax.set_title("Return on net deposits")
    ax.set_ylabel("return (%)")
    ax.axhline(0, color="black", linewidth=0.8)
    drawn = False
    for curve in curves:
        points = [(t, float(r)) for t, r in zip(curve.times, curve.returns, strict=False)
                  if r is not None]
        if points:
            ax.plot([t for t, _ in points], [r for _, r in points], marker="o", markersize=4,
                    label=curve.label)
            drawn = True
    if not drawn:
        _empty(ax, "nothing deposited")


def _pnl(ax: Any, bars: Bars) -> None:
    ax.set_title("PnL per closed trade (at its sale time)")
    ax.set_ylabel("PnL (SOL)")
    ax.axhline(0, color="black", linewidth=0.8)
    if not bars.values:
        _empty(ax, "no closed trades")
        return
    heights = [float(v) for v in bars.values]
    colors = [GAIN if h > 0 else LOSS for h in heights]
    ax.vlines(list(bars.times), 0, heights, colors=colors, linewidth=3)
    ax.scatter(list(bars.times), heights, c=colors, s=20, zorder=3)
    ax.margins(y=0.2)  # room for the labels
    for when, height, label in zip(bars.times, heights, bars.labels, strict=True):
        ax.annotate(label, (when, height), textcoords="offset points", fontsize=7,
                    xytext=(0, 6 if height >= 0 else -12), ha="center")


def _time_axis(ax: Any, *groups: list[datetime]) -> tuple[datetime, datetime] | None:
    """One time axis for the three panels: the data's span, at least two hours wide, so a
    first hour's few points read as minutes, not as dots on an axis spanning years."""
    times = sorted(t for group in groups for t in group)
    if not times:
        return None
    first, last = times[0], times[-1]
    pad = max((last - first) * 0.05, (MIN_SPAN - (last - first)) / 2, timedelta(0))
    span = (first - pad, last + pad)
    ax.set_xlim(*span)
    ax.set_xlabel("time (UTC)")
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(
        mdates.ConciseDateFormatter(locator, tz=UTC))
    return span


def _empty(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)


def _save(fig: Figure, path: Path) -> None:
    try:
        fig.savefig(path, format="png", dpi=100)
    except OSError as exc:
        raise InvalidInput("plot", f"cannot write {path}: {exc.strerror or exc}") from None


def _read_back(equity_ax: Any, returns_ax: Any, pnl_ax: Any,
               span: tuple[datetime, datetime] | None) -> Plotted:
    lines = {line.get_label(): [float(y) for y in line.get_ydata()]
             for line in equity_ax.get_lines()}
    curves = {k: v for k, v in lines.items() if not k.endswith(" deposits")}
    baselines = {k[:-len(" deposits")]: v for k, v in lines.items() if k.endswith(" deposits")}
    returns = {line.get_label(): [float(y) for y in line.get_ydata()]
               for line in returns_ax.get_lines() if not line.get_label().startswith("_")}
    bars = [float(y) for collection in pnl_ax.collections[1:2]
            for _, y in collection.get_offsets()]
    return Plotted(curves, bars, baselines, returns, span)


def curves_from(equity: Mapping[str, Sequence[Any]]) -> list[Curve]:
    """Curves from ``{label: [point with .hour, .portfolio_balance_sol, .net_deposits_sol,
    .return_percent]}``."""
    return [Curve(label, [p.hour for p in points], [p.portfolio_balance_sol for p in points],
                  [p.net_deposits_sol for p in points], [p.return_percent for p in points])
            for label, points in equity.items()]
