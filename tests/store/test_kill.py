"""kill -9 an ingest at several moments: the store stays as it was and can be re-ingested."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from datasets import ACCESS_HEADER, access_rows, make_dataset, write_csv
from store_testing import run

from menshen.store import Store
from menshen.store.verify import verify_store

EVENTS = 120_000


def _ingest_process(folder: Path, home: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(Path.cwd()))
    return subprocess.Popen(
        [sys.executable, "-m", "menshen.cli", "ingest", str(folder), "--home", str(home)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )


def _committed_state(home: Path) -> tuple[bytes, dict[str, bytes]]:
    manifest = (home / "manifest.jsonl").read_bytes()
    snap = Store(home).snapshot()
    files = {e["path"]: (home / e["path"]).read_bytes() for b in snap.batches for e in b["files"]}
    return manifest, files


@pytest.mark.slow
def test_an_ingest_killed_at_any_moment_leaves_the_store_intact(tmp_path: Path) -> None:
    small = make_dataset(tmp_path / "small", events=500)
    large = make_dataset(tmp_path / "large", events=10)
    write_csv(large / "access.csv", ACCESS_HEADER, access_rows(EVENTS, seed=8, start=10_000))
    home = tmp_path / "store"
    assert run("ingest", small, "--home", home)[0] == 0
    before = _committed_state(home)

    started = time.perf_counter()
    probe = _ingest_process(large, tmp_path / "probe-store")
    assert probe.wait(timeout=600) == 0
    duration = time.perf_counter() - started

    outcomes = []
    for fraction in (0.15, 0.4, 0.65, 0.85, 0.95):
        process = _ingest_process(large, home)
        time.sleep(duration * fraction)
        process.send_signal(signal.SIGKILL)
        process.wait()
        result = verify_store(home)
        assert result.ok, (fraction, result.problems)
        now = _committed_state(home)
        if now[0] == before[0]:
            assert now == before, f"committed files changed after a kill at {fraction:.0%}"
            outcomes.append("intact")
        else:  # the kill came after the commit: exactly one whole batch was added
            assert (
                now[0].startswith(before[0]) and now[0].count(b"\n") == before[0].count(b"\n") + 1
            )
            outcomes.append("committed")
            break
    assert "intact" in outcomes

    code, output = run("ingest", large, "--home", home)
    assert code == 0, output
    assert Store(home).snapshot().rows == 500 + EVENTS
    assert not list((home / ".staging").iterdir())
    assert not [p for p in (home / "batches").iterdir() if (p / ".pending").exists()]
    assert run("verify", "--home", home)[0] == 0
