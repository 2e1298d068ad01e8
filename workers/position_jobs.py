"""The dependencies of the position-management handlers, built from the process container."""

from __future__ import annotations

from datetime import timedelta

from workers.handlers.manual_close import ManualCloseDeps
from workers.handlers.prices import PriceDeps
from workers.handlers.report import ReportDeps
from workers.handlers.snapshots import SnapshotDeps
from workers.handlers.sweep import SweepDeps
from workers.runtime import Runtime

SWEEP_CHUNK_SIZE = 10  # tokens per positions.sweep_tokens task



def price_deps(rt: Runtime) -> PriceDeps:
    return PriceDeps(uow=rt.uow, prices=rt.prices,
                     write_prices=rt.cache.write_prices)


def sweep_deps(rt: Runtime) -> SweepDeps:
    return SweepDeps(uow=rt.uow, latest_prices=rt.cache.latest_prices,
                     swaps=rt.entry_swaps_for, write_cache=rt.write_cache, clock=rt.clock,
                     freshness=timedelta(seconds=rt.settings.price_freshness_seconds),
                     submit_live=lambda sid: rt.send("live.execute", str(sid)))


def snapshot_deps(rt: Runtime) -> SnapshotDeps:
    return SnapshotDeps(uow=rt.uow, prices=rt.prices, clock=rt.clock)


def manual_close_deps(rt: Runtime) -> ManualCloseDeps:
    return ManualCloseDeps(uow=rt.uow, prices=rt.prices, swaps=rt.swaps_for,
                           write_cache=rt.write_cache, clock=rt.clock)


def report_deps(rt: Runtime) -> ReportDeps:
    return ReportDeps(uow=rt.uow, prices=rt.prices)
