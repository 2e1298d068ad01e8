"""The README's shell snippets, verbatim, against this session's services: "Try it by hand"
on top of the demo's agent (real worker and ingestor, the `static` feed), and the providers'
`XADD` with its quoted `*` in a directory full of files."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path

import redis
from sqlalchemy import Engine, text

from persistence.db import make_session_factory
from persistence.unit_of_work import SqlAlchemyUnitOfWork
from tests.e2e.conftest import ROOT, wait_for
from workers.demo import DEMO_CONFIG
from workers.handlers.operators.agents import NewAgent, create_agent
from workers.ingest.stream import SIGNALS_STREAM

README = ROOT / "README.md"
SELF_CONTAINED = re.compile(r"([A-Z_]+=\S+|fleet\s.*)")
PLACEHOLDER = re.compile(r"[A-Z][A-Z0-9]*_[A-Z0-9_]*[A-Z0-9]")


class Clock:
    def now(self):  # type: ignore[no-untyped-def]
        from datetime import UTC, datetime

        return datetime.now(UTC)


def bash_blocks() -> list[list[str]]:
    """Every ```bash block of the README as its command lines (comments dropped)."""
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(), flags=re.S)
    return [[line.split("  #")[0].rstrip() for line in block.splitlines()
             if line.strip() and not line.lstrip().startswith("#")] for block in blocks]


def placeholders(line: str) -> list[str]:
    """Words a reader replaces (``AGENT_ID``), as opposed to ``$MINT`` the block defines."""
    return [w for w in line.split()[1:] if PLACEHOLDER.fullmatch(w)]


def fleet_blocks() -> list[list[str]]:
    """The self-contained blocks: variables and `fleet` commands with nothing to fill in (not
    `make run`, which starts a whole system of its own, nor a provider's `redis-cli`, nor a
    reference listing with AGENT_ID in it)."""
    return [b for b in bash_blocks()
            if all(SELF_CONTAINED.fullmatch(line) and not placeholders(line) for line in b)]


def run_block(lines: list[str], env: dict[str, str], cwd: Path) -> list[tuple[str, str]]:
    """Run the lines in one bash (-e: the first failure stops it), verbatim; returns each
    command's output."""
    marker = f"---{uuid.uuid4().hex}---"
    script = "\n".join(f"echo '{marker}'\n{line}" for line in lines)
    out = subprocess.run(["bash", "-euo", "pipefail", "-c", script], env=env, cwd=cwd,
                         capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, f"{out.stdout}\n{out.stderr}"
    assert out.stderr == "", out.stderr  # no log lines, no notes: it all worked
    return list(zip(lines, out.stdout.split(marker + "\n")[1:], strict=True))


def cli_env(stack_env: dict[str, str]) -> dict[str, str]:
    bin_dir = str(Path(sys.executable).parent)  # where `fleet` is installed
    return {**stack_env, "PATH": f"{bin_dir}{os.pathsep}{stack_env.get('PATH', '')}"}


def test_try_it_by_hand_works_on_top_of_the_demo(pipeline: Engine, stack_env: dict[str, str],
                                                 tmp_path: Path) -> None:
    demo = create_agent(SqlAlchemyUnitOfWork(make_session_factory(pipeline)), Clock(),
                        NewAgent(name="demo", deposit_sol=Decimal(20), config=DEMO_CONFIG))
    [block] = [b for b in fleet_blocks() if any("signals push" in line for line in b)]
    (tmp_path / "a-file").write_text("the shell must not expand anything here")
    outputs = dict(run_block(block, cli_env(stack_env), tmp_path))
    created = next(out for line, out in outputs.items() if "agents create" in line)
    mine = uuid.UUID(created.strip())
    buy, sell = [out for line, out in outputs.items() if "signals push" in line]
    for pushed in (buy, sell):
        assert re.fullmatch(r"signal \d+ processed, 2 eligible agents \(stream message "
                            r"\d+-\d+\)\n", pushed), pushed
    listed = next(out for line, out in outputs.items() if line.startswith("fleet positions"))
    assert "mine" in listed and "demo" in listed and "BONK" in listed
    executions = json.loads(next(out for line, out in outputs.items() if "executions" in line))
    assert {(e["agent"], e["action"]) for e in executions} == {("mine", "open"),
                                                                ("demo", "open")}
    with pipeline.connect() as conn:
        closed = conn.execute(text("SELECT agent_id, close_reason FROM agent_historical_swaps"
                                   )).all()
    assert sorted((str(a), r) for a, r in closed) == sorted(
        [(str(mine), "signal"), (str(demo), "signal")])


def test_the_providers_xadd_works_verbatim(pipeline: Engine, e2e_redis: redis.Redis,
                                          tmp_path: Path) -> None:
    [line] = [line for block in bash_blocks() for line in block if " XADD " in line]
    for name in ("payload", "x", "y"):  # a directory where an unquoted * would expand
        (tmp_path / name).write_text("")
    shim = "redis-cli() { printf '%s\\0' \"$@\"; }\n"  # what the shell hands redis-cli
    args = subprocess.run(["bash", "-c", shim + line], cwd=tmp_path, capture_output=True,
                          text=True, check=True, timeout=30).stdout.split("\0")[:-1]
    assert args[:2] == ["-s", "var/redis/redis.sock"]
    assert args[2:5] == ["XADD", SIGNALS_STREAM, "*"]
    message_id = e2e_redis.execute_command(*args[2:])  # on this session's Redis
    key = f"stream:{message_id}"
    stored = wait_for(lambda: _signal(pipeline, key), 60, "the ingestor to store it")
    assert stored == ("DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263", "buy", 70)


def _signal(engine: Engine, key: str) -> tuple[str, str, int] | None:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT token_address, signal_type, signal_strength FROM "
                                "trading_signals WHERE idempotency_key = :k"), {"k": key}).first()
    return None if row is None else (row[0], row[1], row[2])


def test_every_snippet_is_run_here_or_needs_filling_in() -> None:
    """A new README snippet is run by the tests above, or has a stated reason not to be:
    `make` (a whole system of its own), `redis-cli` (run above through a shim), `curl` with
    an API key to fill in, or words to fill in (AGENT_ID)."""
    run = fleet_blocks()
    assert len(run) == 1
    for block in (b for b in bash_blocks() if b not in run):
        assert (block[0].startswith(("make ", "redis-cli ", 'curl -H "X-API-Key: $KEY"'))
                or any(placeholders(line) for line in block)), block
