"""The detection commands, end to end on a small synthetic world."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from menshen.cli import main


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from menshen.synth import generate

    out = tmp_path_factory.mktemp("world") / "dataset"
    generate(out, seed=7, events=4000, days=7)
    return out


@pytest.fixture(scope="module")
def detected_home(world: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("home") / "store"
    runner = CliRunner()
    result = runner.invoke(main, ["ingest", str(world), "--home", str(home)])
    assert result.exit_code in (0, 4), result.output
    result = runner.invoke(main, ["detect", "--home", str(home)])
    assert result.exit_code == 0, result.output
    assert "已自動說明 / explained" in result.output
    return home


def test_rules_lists_every_rule_with_severity_and_titles() -> None:
    result = CliRunner().invoke(main, ["rules"])
    assert result.exit_code == 0
    assert "unexplained" in result.output and "查無業務依據之查詢" in result.output
    listed = json.loads(CliRunner().invoke(main, ["rules", "--json"]).output)
    assert {"id", "severity", "title_zh", "title_en", "hash"} <= set(listed[0])


def test_detect_writes_the_derived_tables_to_the_store(detected_home: Path) -> None:
    from menshen.store import Store

    snap = Store(detected_home).snapshot()
    for table in ("explanations", "findings", "finding_events"):
        assert snap.derived(table), table


def test_findings_reads_as_evidence_with_masked_ids(detected_home: Path) -> None:
    import pyarrow.parquet as pq

    from menshen.store import Store

    snap = Store(detected_home).snapshot()
    findings = pq.read_table(snap.derived("findings")[0]).to_pylist()
    must = [f for f in findings if f["must_review"]]
    assert must, "the synthetic world has misuse; some finding must need review"
    day = must[0]["report_date"].isoformat()
    result = CliRunner().invoke(main, ["findings", "--date", day, "--home", str(detected_home)])
    assert result.exit_code == 0, result.output
    assert "證據 evidence" in result.output and "承辦人 staff" in result.output
    subject = next(
        f["subject_id"] for f in must if f["report_date"].isoformat() == day and f["subject_id"]
    )
    assert subject not in result.output  # ids are masked
    assert subject[:3] + "****" + subject[-3:] in result.output


def test_findings_without_a_detection_run_says_so(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["findings", "--date", "2026-10-05", "--home", str(tmp_path)])
    assert result.exit_code == 3
    assert "menshen detect" in result.output


def test_evaluate_prints_the_metrics_as_one_json_object(world: Path) -> None:
    result = CliRunner().invoke(main, ["evaluate", str(world), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    for key in (
        "incident_recall", "event_recall", "precision", "review_load_per_1000",
        "false_alarms_per_1000_legit", "legit_explained_rate", "baseline_incident_recall",
        "per_scenario",
    ):  # fmt: skip
        assert key in report, key
    assert 0.0 <= report["incident_recall"] <= 1.0
    assert report["legit_explained_rate"] > 0.9
    assert report["review_load_per_1000"] < 100
    # Detection beats today's 1% sample on the same look-ups.
    assert report["incident_recall"] > report["baseline_incident_recall"]
    assert any(s["misuse"] for s in report["per_scenario"].values())


def test_evaluate_without_labels_fails_clearly(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["evaluate", str(tmp_path)])
    assert result.exit_code == 1
    assert "labels.csv" in result.output


def test_a_daily_detect_reads_its_history_from_the_run_before(
    detected_home: Path, tmp_path: Path
) -> None:
    import shutil

    from menshen.store import Store

    home = tmp_path / "store"
    shutil.copytree(detected_home, home)
    first, last = Store(home).snapshot().date_range()
    day = ["detect", "--from", str(last), "--to", str(last), "--home", str(home)]
    result = CliRunner().invoke(main, day)
    assert result.exit_code == 0, result.output
    days = (last - first).days
    assert f"history read from earlier runs: {days} 日 days ({first} – " in result.output
    again = CliRunner().invoke(main, [*day, "--recompute-history"])
    assert again.exit_code == 0, again.output
    assert "history read from earlier runs" not in again.output

    # Both runs explain and flag the day alike.
    def summary(output: str) -> list[str]:
        lines = output.split("耗時")[0].splitlines()
        return [line for line in lines if "earlier runs" not in line]

    assert "已自動說明 / explained" in result.output
    assert summary(result.output) == summary(again.output)


def test_a_detection_run_leaves_the_garbage_collector_as_it_found_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`menshen demo` runs detection in the process that then serves the web app: the
    collector's batch settings last only while a run does, also when it fails."""
    import gc

    from menshen.detect import cli

    def failing_run(*args: object) -> None:
        during.append(gc.get_threshold())
        raise ValueError("bad store")

    monkeypatch.setattr(cli, "_run_store_detection", failing_run)
    # Python's defaults, not the batch settings the suite runs with (tests/conftest.py):
    # with those, a run that never restored the settings would pass.
    suite = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    try:
        before = gc.get_threshold()
        during: list[tuple[int, ...]] = []
        with pytest.raises(ValueError, match="bad store"):
            cli.run_store_detection(tmp_path, None, None)
        assert during == [cli.BATCH_GC_THRESHOLD]
        assert gc.get_threshold() == before
    finally:
        gc.set_threshold(*suite)
