"""The signal, execution, set-based (bulk), price-history, snapshot, live-swap, live-wallet
and API-key repositories of ``domain/ports.py`` in memory, over the ``Store`` of
``tests/fake_store.py`` (the bulk one in terms of the per-row fakes)."""

from __future__ import annotations

import dataclasses
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from domain.agents import Agent
from domain.channels import TASK
from domain.config import StoredConfig
from domain.entry import Ahead
from domain.errors import InvalidInput, NotFound
from domain.ledger import SOL_MINT, Transaction
from domain.performance import Snapshot
from domain.ports import PriceQuote
from domain.positions import Position
from domain.records import (
    Execution,
    ExecutionResult,
    StoredKey,
    StoredSignal,
    StoredSnapshot,
    WalletCash,
)
from domain.signals import Signal
from domain.submissions import IN_FLIGHT, INTENT, SUBMITTED, SwapSubmission
from domain.wallets import Wallet
from tests.fake_positions import FakePositions
from tests.fake_store import (
    Bar,
    FakeBalances,
    FakeTransactions,
    FakeWallets,
    Repo,
    SignalRow,
    UniqueViolation,
    reaches_unapplied,
    unapplied_before,
)

# A claimed execution's placeholder until its transaction completes it (as the real one).
CLAIM_REASON = "in_progress"
CLAIMED_AT = datetime.min.replace(tzinfo=UTC)
TOUCH_EVERY = timedelta(seconds=60)  # persistence/repositories/api_keys.py


class FakeSignals(Repo):
    def add(self, signal: Signal, received_at: datetime, *,
            namespace: str = TASK) -> tuple[int, bool]:
        """A key repeated within ``namespace`` returns the stored signal, created=False."""
        key = signal.idempotency_key
        existing = next((r.id for r in self.s.signals.values() if key is not None
                         and (r.namespace, r.signal.idempotency_key) == (namespace, key)), None)
        if existing is not None:
            return existing, False
        self.s.last_signal_id += 1
        new = SignalRow(self.s.last_signal_id, signal, namespace, "pending", received_at)
        self.s.signals[new.id] = new
        return new.id, True

    def add_many(self, signals: Sequence[Signal], received_at: datetime, *,
                 namespace: str = TASK) -> list[tuple[int, bool]]:
        return [self.add(s, received_at, namespace=namespace) for s in signals]

    def get(self, signal_id: int) -> StoredSignal:
        if signal_id not in self.s.signals:
            raise NotFound("signal_id", f"no signal {signal_id}")
        r = self.s.signals[signal_id]
        return StoredSignal(r.id, r.signal, r.status, r.received_at)

    def recent(self, limit: int = 50) -> list[StoredSignal]:
        return [self.get(i) for i in sorted(self.s.signals, reverse=True)[:limit]]

    def mark_dispatched(self, signal_id: int, eligible_agents: int, now: datetime,
                        targets: Sequence[uuid.UUID] = ()) -> None:
        r = self.s.signals.get(signal_id)
        if r is not None and r.status in ("pending", "dispatched"):
            self.s.signals[signal_id] = dataclasses.replace(
                r, status="dispatched", eligible_agents=eligible_agents, dispatched_at=now)
            self.s.targets.update({(signal_id, a): True for a in targets})

    def mark_processed_if_complete(self, signal_id: int, now: datetime) -> bool:
        r = self.s.signals.get(signal_id)
        done = sum(s == signal_id for s, _ in self.s.executions)
        pending = any(s == signal_id and e.status == "PENDING"
                      for (s, _), e in self.s.executions.items())
        if (r is None or r.status != "dispatched" or r.eligible_agents is None
                or r.eligible_agents > done or pending):
            return False
        self.s.signals[signal_id] = dataclasses.replace(r, status="processed", processed_at=now)
        for key in [k for k in self.s.targets if k[0] == signal_id]:
            del self.s.targets[key]
        return True

    def ahead_of(self, signal_id: int,
                 agent_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Ahead]:
        earlier = unapplied_before(self.s, signal_id)
        out: dict[uuid.UUID, Ahead] = {}
        for agent_id in set(agent_ids):
            if (signal_id, agent_id) in self.s.executions or agent_id not in self.s.agents:
                continue
            behind = reaches_unapplied(self.s, self.s.agents[agent_id][0], earlier)
            swapping = any(x.agent_id == agent_id and x.status in IN_FLIGHT
                           for x in self.s.submissions)
            if behind or swapping:
                out[agent_id] = Ahead(behind, swapping)
        return out

    def unfinished_before(self, now: datetime, grace: timedelta,
                          limit: int = 500) -> list[int]:
        return sorted(r.id for r in self.s.signals.values()
                      if r.status in ("pending", "dispatched")
                      and (r.dispatched_at or r.received_at) < now - grace)[:limit]


class FakeExecutions(Repo):
    def claim_execution(self, signal_id: int, agent_id: uuid.UUID) -> bool:
        if (signal_id, agent_id) in self.s.executions:
            return False
        self.s.executions[(signal_id, agent_id)] = Execution(
            signal_id, agent_id, "FAILED", "none", CLAIM_REASON, None, CLAIMED_AT)
        return True

    def complete(self, signal_id: int, agent_id: uuid.UUID, *, status: str, action: str,
                 reason: str | None, transaction_id: uuid.UUID | None,
                 now: datetime) -> None:
        if (signal_id, agent_id) in self.s.executions:
            self.s.executions[(signal_id, agent_id)] = Execution(
                signal_id, agent_id, status, action, reason, transaction_id, now)

    def release(self, signal_id: int, agent_id: uuid.UUID) -> None:
        row = self.s.executions.get((signal_id, agent_id))
        if row is not None and row.reason == CLAIM_REASON:
            del self.s.executions[(signal_id, agent_id)]

    def count_for_signal(self, signal_id: int) -> int:
        return sum(s == signal_id for s, _ in self.s.executions)

    def for_signal(self, signal_id: int) -> list[Execution]:
        return sorted((e for (s, _), e in self.s.executions.items() if s == signal_id),
                      key=lambda e: e.executed_at)


class FakeBulk(Repo):
    """The set-based reads and writes, in terms of the per-row fakes."""

    def claim_executions(self, signal_id: int,
                         agent_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        executions = FakeExecutions(self.s)
        return {a for a in sorted(set(agent_ids)) if executions.claim_execution(signal_id, a)}

    def complete_executions(self, signal_id: int, results: Sequence[ExecutionResult],
                            now: datetime) -> None:
        for agent_id, status, action, reason, tx_id in results:
            FakeExecutions(self.s).complete(signal_id, agent_id, status=status, action=action,
                                            reason=reason, transaction_id=tx_id, now=now)

    def lock_agents(self, agent_ids: Iterable[uuid.UUID]
                    ) -> dict[uuid.UUID, tuple[Agent, StoredConfig]]:
        return {a: self.s.agents[a] for a in sorted(agent_ids) if a in self.s.agents}

    def wallets(self, agents: Iterable[Agent]) -> dict[uuid.UUID, Wallet]:
        found = {a.id: FakeWallets(self.s).for_agent(a.id, a.trading_mode) for a in agents}
        return {a: w for a, w in found.items() if w is not None}

    def balances(self, wallets: Iterable[str], token: str) -> dict[str, Decimal]:
        """Only wallets with a balance row (a wallet without one has 0)."""
        return {w: self.s.balances[(w, token)] for w in wallets
                if (w, token) in self.s.balances}

    def open_positions(self, agent_ids: Iterable[uuid.UUID],
                       token: str) -> dict[uuid.UUID, Position]:
        wanted = set(agent_ids)
        return {p.agent_id: p for p in self.s.positions.values()
                if p.agent_id in wanted and p.token_address == token}

    def open_counts(self, agent_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
        wanted = set(agent_ids)
        return dict(Counter(p.agent_id for p in self.s.positions.values()
                            if p.agent_id in wanted))

    def add_transactions(self, txs: Sequence[Transaction]) -> None:
        for tx in txs:
            FakeTransactions(self.s).add(tx)

    def add_positions(self, positions: Sequence[Position]) -> None:
        for p in positions:
            FakePositions(self.s).add(p)

    def apply_balances(self, txs: Sequence[Transaction],
                       now: datetime) -> dict[str, dict[str, Decimal]]:
        deltas: dict[tuple[uuid.UUID, str, str], Decimal] = defaultdict(Decimal)
        for tx in txs:
            for mint, change in tx.balance_changes().items():
                deltas[(tx.agent_id, tx.wallet_address, mint)] += change
        new: dict[str, dict[str, Decimal]] = defaultdict(dict)
        for (agent_id, wallet, mint), delta in sorted(deltas.items(), key=lambda kv: kv[0][1:]):
            new[wallet][mint] = FakeBalances(self.s).change(agent_id, wallet, mint, delta, now)
        return dict(new)


class FakePriceHistory(Repo):
    def add_many(self, quotes: Iterable[PriceQuote]) -> int:
        before = len(self.s.prices)
        self.s.prices.extend(quotes)
        return len(self.s.prices) - before

    def fold_into_bars(self, cutoff: datetime, span: timedelta) -> int:
        """Raw rows from the oldest minute before ``cutoff``, at most ``span`` of them, into
        1-minute bars (a bar met again widens, adds samples, takes the later close)."""
        old = [q for q in self.s.prices if q.observed_at < cutoff]
        if not old:
            return 0
        oldest = min(q.observed_at for q in old).replace(second=0, microsecond=0)
        upper = min(cutoff, oldest + span)
        moved = sorted((q for q in self.s.prices if q.observed_at < upper),
                       key=lambda q: q.observed_at)
        self.s.prices[:] = [q for q in self.s.prices if q.observed_at >= upper]
        for q in moved:
            key = (q.token_address, q.observed_at.astimezone(UTC).replace(second=0,
                                                                           microsecond=0))
            bar = self.s.bars.get(key)
            self.s.bars[key] = Bar(q.price_sol, q.price_sol, q.price_sol, q.price_sol,
                                   q.price_usd, 1) if bar is None else Bar(
                bar.open_sol, max(bar.high_sol, q.price_sol), min(bar.low_sol, q.price_sol),
                q.price_sol, q.price_usd, bar.samples + 1)
        return len(moved)


class FakeSnapshots(Repo):
    def wallets(self) -> list[WalletCash]:
        return [WalletCash(w.agent_id, w.wallet_address,
                           self.s.balances.get((w.wallet_address, SOL_MINT), Decimal(0)))
                for w in sorted(self.s.wallets, key=lambda w: (w.agent_id, w.wallet_address))]

    def upsert_many(self, hour: datetime,
                    rows: Sequence[tuple[uuid.UUID, str, Snapshot]]) -> int:
        for agent_id, wallet, snapshot in rows:
            new = StoredSnapshot(agent_id, wallet, hour, snapshot)
            self.s.snapshots[:] = [s for s in self.s.snapshots if (
                s.agent_id, s.wallet_address, s.snapshot_timestamp) != (agent_id, wallet, hour)]
            self.s.snapshots.append(new)
        return len(rows)

    def for_agent(self, agent_id: uuid.UUID,
                  since: datetime | None = None) -> list[StoredSnapshot]:
        return sorted((s for s in self.s.snapshots if s.agent_id == agent_id
                       and (since is None or s.snapshot_timestamp >= since)),
                      key=lambda s: s.snapshot_timestamp)


class FakeSubmissions(Repo):
    def add(self, sub: SwapSubmission, now: datetime) -> uuid.UUID:
        if any(x.id == sub.id for x in self.s.submissions):
            raise UniqueViolation(f"submission {sub.id}")
        self.s.submissions.append(dataclasses.replace(
            sub, status=INTENT, created_at=now, updated_at=now))
        return sub.id

    def _index(self, submission_id: uuid.UUID) -> int | None:
        return next((i for i, x in enumerate(self.s.submissions) if x.id == submission_id),
                    None)

    def get(self, submission_id: uuid.UUID) -> SwapSubmission:
        i = self._index(submission_id)
        if i is None:
            raise NotFound("submission_id", f"no swap submission {submission_id}")
        return self.s.submissions[i]

    def in_flight(self, agent_id: uuid.UUID) -> bool:
        return any(x.agent_id == agent_id and x.status in IN_FLIGHT for x in self.s.submissions)

    def busy_since(self, agent_id: uuid.UUID, since: datetime) -> bool:
        return any(x.agent_id == agent_id and (
            x.status in IN_FLIGHT or (x.updated_at is not None and x.updated_at >= since))
            for x in self.s.submissions)

    def _move(self, submission_id: uuid.UUID, expected: str | None,
              change: Callable[[SwapSubmission], SwapSubmission]) -> bool:
        """Guarded by the status it leaves (``expected``; None: any)."""
        i = self._index(submission_id)
        if i is None or expected not in (None, self.s.submissions[i].status):
            return False
        self.s.submissions[i] = change(self.s.submissions[i])
        return True

    def mark_submitted(self, sub: SwapSubmission, now: datetime) -> bool:
        return self._move(sub.id, INTENT, lambda x: dataclasses.replace(
            x, status=SUBMITTED, signature=sub.signature,
            signed_transaction=sub.signed_transaction,
            last_valid_block_height=sub.last_valid_block_height, amount_in=sub.amount_in,
            quote=sub.quote, updated_at=now))

    def transition(self, submission_id: uuid.UUID, expected: str, status: str, now: datetime,
                   *, error: str | None = None,
                   transaction_id: uuid.UUID | None = None) -> bool:
        return self._move(submission_id, expected, lambda x: dataclasses.replace(
            x, status=status, error=None if error is None else error[:200],
            transaction_id=transaction_id, updated_at=now))

    def set_transaction(self, submission_id: uuid.UUID, transaction_id: uuid.UUID) -> None:
        self._move(submission_id, None,
                   lambda x: dataclasses.replace(x, transaction_id=transaction_id))

    def due(self, submitted_before: datetime, intent_before: datetime,
            limit: int = 100) -> list[SwapSubmission]:
        def _due(x: SwapSubmission) -> bool:
            stamp = x.updated_at if x.status == SUBMITTED else x.created_at
            limit_at = submitted_before if x.status == SUBMITTED else intent_before
            return x.status in IN_FLIGHT and stamp is not None and stamp < limit_at

        return sorted(filter(_due, self.s.submissions), key=lambda x: x.created_at or CLAIMED_AT
                      )[:limit]

    def for_agent(self, agent_id: uuid.UUID) -> list[SwapSubmission]:
        return [x for x in self.s.submissions if x.agent_id == agent_id]


class FakeLiveWallets(Repo):
    def owners(self) -> dict[str, tuple[uuid.UUID, str]]:
        return {w.wallet_address: (w.agent_id, self.s.agents[w.agent_id][0].name)
                for w in self.s.wallets if w.wallet_type == "live" and w.agent_id in self.s.agents}

    def owner_of(self, address: str) -> uuid.UUID | None:
        return next((w.agent_id for w in self.s.wallets if w.wallet_address == address), None)


class FakeApiKeys(Repo):
    def add(self, *, user_id: uuid.UUID, name: str, key_hash: str, key_prefix: str,
            scopes: Sequence[str], now: datetime) -> uuid.UUID:
        if user_id not in self.s.users:
            raise InvalidInput("user_id", f"no user {user_id}")
        if self.by_hash(key_hash) is not None:
            raise UniqueViolation("api key hash")
        key = StoredKey(uuid.uuid4(), user_id, self.s.users[user_id], name, key_hash,
                        key_prefix, tuple(scopes), now, None, None)
        self.s.api_keys[key.id] = key
        return key.id

    def by_hash(self, key_hash: str) -> StoredKey | None:
        return next((k for k in self.s.api_keys.values() if k.key_hash == key_hash), None)

    def revoke(self, key_id: uuid.UUID, now: datetime) -> bool:
        key = self.s.api_keys.get(key_id)
        if key is None:
            return False
        if key.revoked_at is None:
            self.s.api_keys[key_id] = dataclasses.replace(key, revoked_at=now)
        return True

    def touch(self, key_id: uuid.UUID, now: datetime) -> None:
        key = self.s.api_keys.get(key_id)
        if key is not None and (key.last_used_at is None
                                or key.last_used_at < now - TOUCH_EVERY):
            self.s.api_keys[key_id] = dataclasses.replace(key, last_used_at=now)
