"""Numbers and charts for the dashboard's pages.

Numbers read as in the CLI (``workers/cli/operators.py``): SOL amounts at the ledger's 8
decimals with trailing zeros dropped, prices and token amounts exact without padding or
exponent, percentages at 2 decimals. No formatting helper exists in ``workers/cli/`` to share,
so this small one lives here. The equity curve is an inline SVG drawn on the server (no
JavaScript chart library).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from markupsafe import Markup, escape

from domain.money import sol

_CENT = Decimal("0.01")


def plain(value: Decimal | int | None) -> str:
    """An exact number without padding or exponent; ``—`` when unknown."""
    if value is None:
        return "—"
    number = Decimal(value)
    return format(number.normalize(), "f") if number else "0"


def sol_text(value: Decimal | None) -> str:
    return "—" if value is None else plain(sol(value))


def signed_sol(value: Decimal | None) -> str:
    if value is None:
        return "—"
    text = sol_text(value)
    return text if text.startswith("-") or text == "0" else "+" + text


def pct(value: Decimal | None) -> str:
    if value is None:
        return "—"
    return format(Decimal(value).quantize(_CENT, rounding=ROUND_HALF_EVEN), "f") + " %"


def when(value: datetime | None) -> str:
    return "—" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def short(value: Any, size: int = 8) -> str:
    text = str(value)
    return text if len(text) <= size + 1 else text[:size] + "…"


def equity_svg(points: Sequence[tuple[datetime, Decimal, Decimal]], *, width: int = 640,
               height: int = 220) -> Markup:
    """(time, equity, deposit baseline) as an inline SVG line chart with the baseline dashed;
    an accessible title and description name the figures drawn."""
    if not points:
        return Markup('<p class="empty">No balance snapshots yet.</p>')
    pad = 36
    times = [p[0].timestamp() for p in points]
    values = [v for p in points for v in (p[1], p[2])]
    low, high = min(values), max(values)
    span = high - low or Decimal(1)
    t0, t_span = times[0], (times[-1] - times[0]) or 1.0

    def xy(t: float, v: Decimal) -> str:
        x = pad + (t - t0) / t_span * (width - 2 * pad)
        y = height - pad - float((v - low) / span) * (height - 2 * pad)
        return f"{x:.1f},{y:.1f}"

    equity = " ".join(xy(t, p[1]) for t, p in zip(times, points, strict=True))
    baseline = " ".join(xy(t, p[2]) for t, p in zip(times, points, strict=True))
    dots = "".join(f'<circle class="dot" cx="{c.split(",")[0]}" cy="{c.split(",")[1]}" r="3"/>'
                   for c in equity.split())
    last = points[-1]
    desc = (f"{len(points)} points from {when(points[0][0])} to {when(last[0])}; equity now "
            f"{sol_text(last[1])} SOL, deposits {sol_text(last[2])} SOL")
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="eq-title eq-desc">'
        f'<title id="eq-title">Equity curve</title><desc id="eq-desc">{escape(desc)}</desc>'
        f'<text x="4" y="14" class="axis">{escape(sol_text(high))} SOL</text>'
        f'<text x="4" y="{height - 6}" class="axis">{escape(sol_text(low))} SOL</text>'
        f'<polyline class="baseline" points="{baseline}"/>'
        f'<polyline class="equity" points="{equity}"/>{dots}</svg>')


def register(env: Any) -> None:
    """The filters the templates use."""
    env.filters.update(plain=plain, sol=sol_text, signed_sol=signed_sol, pct=pct, when=when,
                       short=short)
