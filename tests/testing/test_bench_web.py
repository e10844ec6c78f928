"""`menshen bench web`: the load generator's arithmetic, and a tiny real run end to end."""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from menshen.web.bench import _paths, percentile


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.50) == 50
    assert percentile(values, 0.95) == 95
    assert percentile(values, 0.99) == 99
    assert percentile([7.0], 0.99) == 7.0


def test_each_round_opens_the_report_and_pages_of_the_look_up_list() -> None:
    paths = dict(_paths(report_id=3, lookups=20_000, page_size=50, rng=random.Random(1)))
    assert paths["report"] == "/reports/3/"
    page = int(re.search(r"page=(\d+)", paths["lookups"]).group(1))
    assert 1 <= page <= 400
    assert "staff=" in paths["lookups-staff"] and "system=" in paths["lookups-system"]


@pytest.mark.slow
def test_a_small_run_serves_real_pages_without_errors(tmp_path: Path) -> None:
    env = {**os.environ, "MENSHEN_HOME": str(tmp_path / "unused")}
    env.pop("MENSHEN_DATABASE_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, "-m", "menshen.cli", "bench", "web", "--users", "3", "--lookups",
         "600", "--requests", "8", "--duration", "60", "--home", str(tmp_path / "home")],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "requests 24, errors 0" in out, out
    for page in ("report", "lookups", "lookups-staff", "lookups-system"):
        assert re.search(rf"^\s+{page}\s+\d+\s+p50", out, re.MULTILINE), out
    assert re.search(r"target p95 < 500 ms: .*\(p95 \d+ ms\)", out)
    # A second run reuses the unit-day built by the first.
    again = subprocess.run(
        [sys.executable, "-m", "menshen.cli", "bench", "web", "--users", "2", "--lookups",
         "600", "--requests", "2", "--home", str(tmp_path / "home")],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert again.returncode == 0 and "reusing" in again.stdout, again.stdout + again.stderr
