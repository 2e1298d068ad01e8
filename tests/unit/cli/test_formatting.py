"""Numbers for people, full precision for scripts, tables that fit 80 columns."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from decimal import Decimal as D

import pytest
from rich.console import Console

from workers.cli import formatting as f


@pytest.mark.parametrize(("value", "shown"), [
    (D("0E-18"), "0"), (D("0.000000000000000000"), "0"), (D("20.00000000"), "20"),
    (D("19.85412345"), "19.8541"), (D("0.001000000000000000"), "0.001"),
    (D("0.000123456789"), "0.000123457"), (D("1234567.891234"), "1,234,568"),
    (D("-0.12345678"), "-0.123457"), (D("9.9999996"), "10"), (D("1E-15"), "0.000000000000001"),
    (None, ""),
])
def test_amounts_show_six_significant_digits_without_exponent(value: D | None,
                                                              shown: str) -> None:
    assert f.amount(value) == shown


@pytest.mark.parametrize(("value", "shown"), [
    (D("-20.0000"), "-20"), (D("24.9500"), "24.95"), (D("0.0049"), "0"), (D("12.3456"), "12.35"),
])
def test_percentages_show_two_decimals_at_most(value: D, shown: str) -> None:
    assert f.percent(value) == shown


ROWS = [{"id": "87371f00-2946-4d93-bef0-cc7b986e27ce", "name": "a-rather-long-agent-name",
         "token_symbol": None, "token_address": "7GCihgDB8fe6KNjn2MYtkzZcRjQy3t9GHdC8uHYmW2hr",
         "balance": D("0E-18"), "price": D("0.001234567890123456"),
         "at": datetime(2026, 12, 2, 15, 52, 26, tzinfo=UTC)}]
COLUMNS = [f.id_col("id", "id"), f.Column("name", "agent"),
           f.Column(f.token, "token", whole=True),
           f.Column("token_address", "mint", wide=True), f.sol_col("balance", "balance"),
           f.sol_col("price", "price"), f.Column("at", "time (UTC)", f.moment, wide=True)]


def rendered(wide: bool, width: int = 80) -> list[str]:
    out = io.StringIO()
    Console(file=out, width=f.WIDE if wide else width, color_system=None).print(
        f.table(ROWS * 3, COLUMNS, title="t", wide=wide))
    return [line.rstrip() for line in out.getvalue().splitlines()]


def test_a_table_fits_80_columns_and_cuts_nothing() -> None:
    lines = rendered(wide=False)
    assert max(len(line) for line in lines) <= 80
    text = "\n".join(lines)
    assert text.count("…") == text.count("7GCihgDB…") == 3  # only the deliberately short mint
    assert text.count(ROWS[0]["id"]) == 3 and text.count(" 0.00123457") == 3
    assert "E-" not in text and "mint" not in text  # the whole mint only with --wide


def test_wide_shows_every_column_whole_one_line_per_row() -> None:
    lines = rendered(wide=True)
    assert len(lines) == 3 + 3  # title, header, rule, and one line per row
    for line in lines[3:]:
        assert line.split() == [ROWS[0]["id"], ROWS[0]["name"], "7GCihgDB…",
                                ROWS[0]["token_address"], "0", "0.00123457", "12-02",
                                "15:52:26"]


def test_json_and_csv_keep_full_precision() -> None:
    [row] = json.loads(f.as_json(ROWS))
    assert row["balance"] == "0.000000000000000000" and row["price"] == "0.001234567890123456"
    assert row["at"] == "2026-12-02T15:52:26+00:00"
    csv_lines = f.as_csv(ROWS).splitlines()
    assert csv_lines[0].split(",") == list(ROWS[0])
    assert "0.001234567890123456" in csv_lines[1] and "E-" not in csv_lines[1]


def test_a_token_is_its_symbol_or_a_short_mint_never_none() -> None:
    assert f.token({"token_symbol": "BONK", "token_address": "x" * 44}) == "BONK"
    assert f.token({"token_symbol": None, "token_address": "7GCihgDB8fe6KNjn2"}) == "7GCihgDB…"
