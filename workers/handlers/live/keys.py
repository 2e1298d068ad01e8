"""Which live wallets a worker serving the ``live`` queue must hold keys for
(docs/rules.md §12: keys only where live work runs)."""

from __future__ import annotations

from collections.abc import Container

from domain.ports import UnitOfWorkFactory


def missing_keys(uow: UnitOfWorkFactory, loaded: Container[str]) -> list[str]:
    """The addresses of the live wallets assigned to agents whose key is not in ``loaded``,
    sorted: a worker serving the ``live`` queue refuses to start while any is missing."""
    with uow() as u:
        owners = u.live_wallets.owners()
    return sorted(address for address in owners if address not in loaded)
