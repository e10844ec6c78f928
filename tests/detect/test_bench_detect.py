"""`menshen bench detect` runs end to end on a small synthetic world and prints its figures
(speed itself is measured by running the benchmark, never asserted in a test)."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from menshen.cli import main

FIGURES = re.compile(
    r"^(?P<label>[^:]+): (?P<lookups>[\d,]+) look-ups in range, (?P<findings>[\d,]+) findings, "
    r"(?P<seconds>[\d.]+) s \(target < \d+ s; CPU (?P<cpu>[\d.]+) s\), "
    r"peak (?P<gib>[\d.]+) GiB \(target < 4 GiB\) (?:OK|MISSED)$"
)


def test_bench_detect_prints_time_cpu_and_memory_of_each_run(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["bench", "detect", "--events", "2000", "--days", "4", "--cache", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    runs = [m.groupdict() for line in result.output.splitlines() if (m := FIGURES.match(line))]
    assert len(runs) == 3, result.output
    full, daily, first_night = runs
    assert full["label"].startswith("full range")
    assert re.match(r"daily run \d{4}-\d{2}-\d{2} /", daily["label"])
    assert first_night["label"].startswith(daily["label"].split(" /")[0] + ", first night after")
    assert int(full["lookups"].replace(",", "")) > 1500
    # The night after an upgrade compiles every query afresh, and finds the same.
    assert (daily["lookups"], daily["findings"]) == (
        first_night["lookups"],
        first_night["findings"],
    )
    assert 0 < int(daily["lookups"].replace(",", "")) < int(full["lookups"].replace(",", ""))
    for r in runs:
        assert float(r["seconds"]) > 0 and float(r["cpu"]) > 0 and float(r["gib"]) > 0
    # The nights before the daily run were stored in the cache, for the next bench to reuse.
    assert "the nights before the daily run" in result.output
    assert any((tmp_path / "sql").iterdir())
