"""The signal vocabulary: which signal types are exits, which are entries, which are refused.

The deployment decides (``SIGNALFLEET_EXIT_SIGNAL_TYPES``, default ``sell``;
``SIGNALFLEET_ENTRY_SIGNAL_TYPES``, default ``buy``), case-insensitively. ``*`` as the entry
list admits every type that is not an exit (strategy names such as ``Velocity (Dex Boost
Detection)``). A type in neither list is refused where the signal enters (HTTP 400, the
stream's or the task's dead letter), naming ``signal_type`` and the accepted types: a typo
such as ``sel`` or ``exit`` must never buy. Everything downstream asks :meth:`is_exit`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from domain.errors import InvalidInput, InvalidSignal

ANY = "*"
Action = Literal["entry", "exit"]


@dataclass(frozen=True)
class Vocabulary:
    entry: tuple[str, ...]  # lower case, in the configured order; () when any_entry
    exit: tuple[str, ...]
    any_entry: bool = False

    def action(self, signal_type: str) -> Action | None:
        """``exit``, ``entry``, or None for a type this deployment does not accept."""
        kind = signal_type.lower()
        if kind in self.exit:
            return "exit"
        if self.any_entry or kind in self.entry:
            return "entry"
        return None

    def is_exit(self, signal_type: str) -> bool:
        return self.action(signal_type) == "exit"

    def accepted(self) -> str:
        """The accepted types, for error messages and documentation."""
        entries = "any other type" if self.any_entry else ", ".join(self.entry)
        return f"{entries} (entry); {', '.join(self.exit)} (exit); in any case"

    def check(self, signal_type: str) -> None:
        """Raise ``InvalidSignal("signal_type", …)`` listing the accepted types."""
        if self.action(signal_type) is None:
            raise InvalidSignal("signal_type",
                                f"{signal_type!r} is not a signal type here; accepted: "
                                f"{self.accepted()}")


DEFAULT_VOCABULARY = Vocabulary(entry=("buy",), exit=("sell",))


def _types(field: str, text: str) -> tuple[str, ...]:
    kinds = tuple(dict.fromkeys(t.strip().lower() for t in text.split(",") if t.strip()))
    if not kinds:
        raise InvalidInput(field, "must list at least one signal type (comma-separated)")
    too_long = [t for t in kinds if len(t) > 50]
    if too_long:
        raise InvalidInput(field, f"a signal type is at most 50 characters: {too_long[0]!r}")
    return kinds


def parse_vocabulary(entry: str, exit: str) -> Vocabulary:
    """The vocabulary from its two settings (comma-separated lists); raises ``InvalidInput``
    naming the setting."""
    exits = _types("SIGNALFLEET_EXIT_SIGNAL_TYPES", exit)
    if ANY in exits:
        raise InvalidInput("SIGNALFLEET_EXIT_SIGNAL_TYPES", "`*` is for the entry types only")
    entries = _types("SIGNALFLEET_ENTRY_SIGNAL_TYPES", entry)
    if entries == (ANY,):
        return Vocabulary(entry=(), exit=exits, any_entry=True)
    if ANY in entries:
        raise InvalidInput("SIGNALFLEET_ENTRY_SIGNAL_TYPES", "`*` stands alone")
    both = sorted(set(entries) & set(exits))
    if both:
        raise InvalidInput("SIGNALFLEET_ENTRY_SIGNAL_TYPES",
                           f"{', '.join(both)} cannot be both an entry and an exit type")
    return Vocabulary(entry=entries, exit=exits)
