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


def curve(label: str, values: list[str]) -> Curve:
    return Curve(label, [T0 + timedelta(hours=h) for h in range(len(values))],
                 [D(v) for v in values])


def assert_png(path: Path) -> None:
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    pixels = image.imread(path)
    assert pixels.shape[0] > 100 and pixels.shape[1] > 100


def test_the_plot_is_a_png_of_the_given_equity_and_trade_pnl(tmp_path: Path) -> None:
    out = tmp_path / "report.png"
    equity = [curve("alpha", ["10", "9.5", "10.25"]), curve("beta", ["5", "5.125"])]
    bars = Bars(["BONK", "WIF", "POPCAT"], [D("0.2"), D("-0.05"), D("1.125")])
    plotted = draw_report(out, equity, bars, title="t")
    assert_png(out)
    assert plotted.curves == {"alpha": [10.0, 9.5, 10.25], "beta": [5.0, 5.125]}
    assert plotted.bars == [0.2, -0.05, 1.125]


def test_no_data_still_draws_a_labelled_png(tmp_path: Path) -> None:
    out = tmp_path / "empty.PNG"
    plotted = draw_report(out, [curve("idle", [])], Bars([], []), title="t")
    assert_png(out)
    assert (plotted.curves, plotted.bars) == ({}, [])


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
