"""The signal vocabulary: exits, entries, and the types refused where a signal enters."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidInput, InvalidSignal
from domain.vocabulary import DEFAULT_VOCABULARY, parse_vocabulary


@pytest.mark.parametrize(("signal_type", "action"), [
    ("buy", "entry"), ("BUY", "entry"), ("Buy", "entry"), ("sell", "exit"), ("SELL", "exit"),
    ("exit", None), ("hodl", None), ("sel", None), ("close", None), ("hold", None),
    (" sell", None), ("Velocity (Dex Boost Detection)", None)])
def test_the_default_vocabulary(signal_type: str, action: str | None) -> None:
    assert DEFAULT_VOCABULARY.action(signal_type) == action
    assert DEFAULT_VOCABULARY.is_exit(signal_type) == (action == "exit")


@pytest.mark.parametrize("typo", ["exit", "hodl", "sel"])
def test_a_refusal_names_the_field_and_lists_the_accepted_types(typo: str) -> None:
    with pytest.raises(InvalidSignal) as refused:
        DEFAULT_VOCABULARY.check(typo)
    assert refused.value.field == "signal_type"
    assert repr(typo) in refused.value.reason
    assert "buy (entry)" in refused.value.reason and "sell (exit)" in refused.value.reason


def test_star_admits_every_type_that_is_not_an_exit() -> None:
    vocabulary = parse_vocabulary("*", "sell, Close")
    assert vocabulary.action("Velocity (Dex Boost Detection)") == "entry"
    assert vocabulary.action("hodl") == "entry"
    assert vocabulary.action("CLOSE") == "exit" and vocabulary.action("sell") == "exit"
    assert "any other type (entry)" in vocabulary.accepted()


def test_configured_lists_are_case_insensitive_and_trimmed() -> None:
    vocabulary = parse_vocabulary(" Buy , LONG", "sell,Close ")
    assert vocabulary.entry == ("buy", "long") and vocabulary.exit == ("sell", "close")
    assert vocabulary.action("long") == "entry" and vocabulary.action("CLOSE") == "exit"
    assert vocabulary.action("short") is None


@pytest.mark.parametrize(("entry", "exit_", "setting", "words"), [
    ("buy", "", "SIGNALFLEET_EXIT_SIGNAL_TYPES", "at least one"),
    (" , ", "sell", "SIGNALFLEET_ENTRY_SIGNAL_TYPES", "at least one"),
    ("buy", "*", "SIGNALFLEET_EXIT_SIGNAL_TYPES", "entry types only"),
    ("buy,*", "sell", "SIGNALFLEET_ENTRY_SIGNAL_TYPES", "stands alone"),
    ("buy,sell", "SELL", "SIGNALFLEET_ENTRY_SIGNAL_TYPES", "both"),
    ("x" * 51, "sell", "SIGNALFLEET_ENTRY_SIGNAL_TYPES", "50 characters"),
])
def test_bad_settings_name_the_setting(entry: str, exit_: str, setting: str,
                                       words: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_vocabulary(entry, exit_)
    assert refused.value.field == setting and words in refused.value.reason


@given(st.text(min_size=1, max_size=50))
def test_a_type_is_never_both_or_an_unlisted_entry(signal_type: str) -> None:
    vocabulary = parse_vocabulary("buy,long", "sell,close")
    action = vocabulary.action(signal_type)
    kind = signal_type.lower()
    assert action == ("exit" if kind in ("sell", "close") else
                      "entry" if kind in ("buy", "long") else None)
