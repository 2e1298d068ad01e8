"""``workers.plots``: a real PNG whose drawn series are exactly the data given."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest
from matplotlib import image

from domain.errors import InvalidInput
from workers.plots import Bars, Curve, check_png_path, draw_report

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
T0 = datetime(2026, 11, 22, 10, tzinfo=UTC)


def curve(label: str, values: list[str], baseline: str | None = None) -> Curve:
    times = [T0 + timedelta(hours=h) for h in range(len(values))]
    base = [D(baseline)] * len(values) if baseline else []
    returns = [(D(v) - D(baseline)) / D(baseline) * 100 for v in values] if baseline else []
    return Curve(label, times, [D(v) for v in values], base, returns)


def bars(*trades: tuple[str, str, int]) -> Bars:
    return Bars([t[0] for t in trades], [D(t[1]) for t in trades],
                [T0 + timedelta(minutes=t[2]) for t in trades])


def assert_png(path: Path) -> None:
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    pixels = image.imread(path)
    assert pixels.shape[0] > 100 and pixels.shape[1] > 100


def test_the_plot_is_a_png_of_the_given_equity_and_trade_pnl(tmp_path: Path) -> None:
    out = tmp_path / "report.png"
    equity = [curve("alpha", ["10", "9.5", "10.25"], "10"), curve("beta", ["5", "5.125"])]
    plotted = draw_report(out, equity, bars(("BONK", "0.2", 30), ("WIF", "-0.05", 70),
                                            ("POPCAT", "1.125", 100)), title="t")
    assert_png(out)
    assert plotted.curves == {"alpha": [10.0, 9.5, 10.25], "beta": [5.0, 5.125]}
    assert plotted.baselines == {"alpha": [10.0, 10.0, 10.0]}
    assert plotted.returns == {"alpha": [0.0, -5.0, 2.5]}
    assert plotted.bars == [0.2, -0.05, 1.125]


def test_the_first_hour_reads_as_minutes_on_one_shared_time_axis(tmp_path: Path) -> None:
    """One deposit point and two trades ten minutes apart: the axis spans about two hours
    around them (not years), and the trades sit at their sale times."""
    out = tmp_path / "first-hour.png"
    plotted = draw_report(out, [curve("new", ["20"], "20")],
                          bars(("BONK", "0.5", 10), ("WIF", "-0.25", 20)), title="t")
    assert_png(out)
    assert plotted.span is not None
    start, end = plotted.span
    assert timedelta(hours=2) <= end - start < timedelta(hours=3)
    assert start < T0 and T0 + timedelta(minutes=20) < end
    assert plotted.returns == {"new": [0.0]} and plotted.bars == [0.5, -0.25]


def test_no_data_still_draws_a_labelled_png(tmp_path: Path) -> None:
    out = tmp_path / "empty.PNG"
    plotted = draw_report(out, [curve("idle", [])], Bars([], []), title="t")
    assert_png(out)
    assert (plotted.curves, plotted.bars, plotted.span) == ({}, [], None)


@pytest.mark.parametrize("name", ["report.jpg", "report", "missing/report.png"])
def test_a_bad_path_is_refused_naming_the_plot_field(tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidInput) as err:
        check_png_path(tmp_path / name)
    assert err.value.field == "plot"


def test_a_directory_is_not_a_plot_file(tmp_path: Path) -> None:
    (tmp_path / "dir.png").mkdir()
    with pytest.raises(InvalidInput) as err:
        draw_report(tmp_path / "dir.png", [], Bars([], []), title="t")
    assert err.value.field == "plot"
