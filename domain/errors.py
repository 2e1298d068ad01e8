"""The error tree, named by how the caller reacts (docs/architecture.md).

- ``InvalidInput`` and its children: reject the input, change nothing, tell the caller
  which field was wrong.
- ``TransientError``: retry later with backoff and jitter.
- ``PermanentError``: record it, acknowledge the message, dead-letter it.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error signalfleet raises on purpose."""


class InvalidInput(DomainError):
    """Bad input: names the field (a dotted path) and why it was refused."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class InvalidSignal(InvalidInput):
    """A signal payload that breaks docs/rules.md §1."""


class InvalidConfig(DomainError):
    """A trading config that breaks docs/rules.md §13; lists every error, not only the first."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors = list(errors)
        lines = "; ".join(f"{path}: {message}" for path, message in self.errors)
        super().__init__(f"invalid trading config: {lines}")


class SizingError(DomainError):
    """No position can be sized; ``reason`` is a stable docs/rules.md §4 code."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransientError(DomainError):
    """Worth retrying: lost connection, serialisation failure, feed timeout, 429/5xx."""


class PermanentError(DomainError):
    """Not worth retrying: record, acknowledge, dead-letter."""


class NotFound(InvalidInput):
    """A referenced entity (agent, position, wallet) does not exist."""
