"""`menshen bench ingest` runs end to end on a small synthetic world and prints its figures
(speed itself is measured by running the benchmark, never asserted in a test)."""

from __future__ import annotations

import json
from pathlib import Path

from store_testing import run


def test_bench_ingest_prints_throughput_and_memory(tmp_path: Path) -> None:
    code, output = run(
        "bench", "ingest", "--events", "3000", "--days", "3", "--cache", tmp_path, "--json"
    )
    assert code == 0, output
    figures = json.loads(output.strip().splitlines()[-1])
    assert figures["rows_stored"] == figures["events"] > 2000
    assert figures["events_per_second"] > 0 and figures["peak_rss_mib"] > 0
    # a second run reuses the cached dataset
    code, output = run("bench", "ingest", "--events", "3000", "--days", "3", "--cache", tmp_path)
    assert code == 0
    assert "reusing dataset" in output and "events/s" in output
