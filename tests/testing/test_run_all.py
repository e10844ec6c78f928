"""The test runner CI uses: pass results, the 'no tests collected' trap, the summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from menshen.testing import run_all
from menshen.testing.run_all import PassResult, PassSpec, count_results, run_pass

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="1" failures="2" skipped="3" tests="10">
</testsuite></testsuites>"""


def test_counts_come_from_the_junit_report(tmp_path: Path) -> None:
    report = tmp_path / "r.xml"
    report.write_text(JUNIT, encoding="utf-8")
    assert count_results(report) == {"passed": 4, "failed": 2, "errors": 1, "skipped": 3}


def test_a_missing_or_broken_junit_report_counts_nothing(tmp_path: Path) -> None:
    broken = tmp_path / "broken.xml"
    broken.write_text("<testsuites", encoding="utf-8")
    empty = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0}
    assert count_results(tmp_path / "missing.xml") == empty
    assert count_results(broken) == empty


def _spec(tmp_path: Path, body: str) -> PassSpec:
    test_file = tmp_path / "test_sample.py"
    test_file.write_text(body, encoding="utf-8")
    # -p no:django etc. keep the child run independent of the project's conftest files.
    args = ["--rootdir", str(tmp_path), "-c", "/dev/null", "-p", "no:django", str(tmp_path)]
    return PassSpec("sample", "a sample pass", args, parallel=False)


def test_a_passing_pass_is_ok_and_says_how_many_passed(tmp_path: Path) -> None:
    spec = _spec(tmp_path, "def test_one():\n    assert True\n\ndef test_two():\n    pass\n")
    result = run_pass(spec, workers=1, extra=[], work_dir=tmp_path, env_extra={})
    assert result.ok and result.counts["passed"] == 2
    assert "OK" in result.line() and "2 passed" in result.line()


def test_a_failing_test_fails_the_pass(tmp_path: Path) -> None:
    spec = _spec(tmp_path, "def test_one():\n    assert 1 == 2\n")
    result = run_pass(spec, workers=1, extra=[], work_dir=tmp_path, env_extra={})
    assert not result.ok and result.counts["failed"] == 1
    assert "FAILED" in result.line()


def test_a_pass_that_collects_no_test_fails_loudly(tmp_path: Path) -> None:
    spec = _spec(tmp_path, "# no tests here\n")
    result = run_pass(spec, workers=1, extra=[], work_dir=tmp_path, env_extra={})
    assert result.exit_code == 5
    assert not result.ok
    assert "no tests were collected" in result.line()


def test_an_unknown_pass_name_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_all.main(["--only", "sqlite,nonsense"]) == 2
    assert "nonsense" in capsys.readouterr().err


def test_the_summary_line_of_a_clean_pass_reads_ok() -> None:
    result = PassResult("postgres", 0, 12.5, {"passed": 75, "failed": 0, "errors": 0, "skipped": 1})
    assert result.ok
    assert result.line().split()[:3] == ["postgres", "OK", "75"]
