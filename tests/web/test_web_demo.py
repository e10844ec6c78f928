"""`menshen demo` builds a world that looks like an agency already using menshen: older
reports reviewed and approved through the real workflow, the latest days still open."""

from __future__ import annotations

import csv
import datetime as dt
import json
import sqlite3
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from menshen.testing.world import build_demo_home

TAIPEI = ZoneInfo("Asia/Taipei")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("demo") / "home"
    build_demo_home(home, events=4000, days=8)
    return home


def rows(home: Path, sql: str) -> list[sqlite3.Row]:
    con = sqlite3.connect(home / "web.sqlite3")
    con.row_factory = sqlite3.Row
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def local(stored: str) -> dt.datetime:
    """A datetime column as Taipei wall-clock time (Django stores UTC)."""
    return dt.datetime.fromisoformat(stored).replace(tzinfo=dt.UTC).astimezone(TAIPEI)


def test_older_reports_are_approved_and_the_last_three_days_are_open(demo: Path) -> None:
    reports = rows(
        demo, "SELECT report_date, status, submitted_by_id, approved_by_id FROM reports_report"
    )
    dates = sorted({r["report_date"] for r in reports})
    open_dates, older = dates[-3:], dates[:-3]
    assert older, dates
    assert all(r["status"] == "open" for r in reports if r["report_date"] in open_dates)
    approved = [r for r in reports if r["status"] == "approved"]
    assert approved and all(r["report_date"] in older for r in approved)
    # most older reports are done; the few left (no eligible reviewer) are overdue
    assert len(approved) >= 0.8 * sum(r["report_date"] in older for r in reports)
    assert all(r["submitted_by_id"] != r["approved_by_id"] for r in approved)


def test_history_decisions_follow_the_labels_and_separation_of_duties(demo: Path) -> None:
    with (demo / "dataset" / "labels.csv").open(encoding="utf-8", newline="") as handle:
        misuse = {
            f"{r['system']}:{r['event_id']}" for r in csv.DictReader(handle) if r["misuse"] == "1"
        }
    items = rows(
        demo,
        "SELECT i.id, i.status, i.staff_id, i.event_keys, p.staff_id AS decider, "
        "r.approved_by_id, i.decided_by_id, v.id AS investigation "
        "FROM reports_reviewitem i JOIN reports_report r ON r.id = i.report_id "
        "LEFT JOIN accounts_person p ON p.id = i.decided_by_id "
        "LEFT JOIN investigations_investigation v ON v.item_id = i.id "
        "WHERE r.status = 'approved'",
    )
    assert items
    improper = [i for i in items if i["status"] == "improper"]
    assert improper, "the demo history has no improper look-up"
    for item in items:
        labelled = any(key in misuse for key in json.loads(item["event_keys"]))
        assert item["status"] == ("improper" if labelled else "justified")
        assert item["decider"] != item["staff_id"]  # nobody decides their own look-ups
        assert item["decided_by_id"] != item["approved_by_id"]
        assert (item["investigation"] is not None) == labelled  # improper opens a case


def test_history_is_dated_when_it_happened(demo: Path) -> None:
    approved = rows(
        demo,
        "SELECT report_date, due_date, built_at, submitted_at, approved_at FROM reports_report "
        "WHERE status = 'approved'",
    )
    assert approved
    for r in approved:
        built, submitted, approved_at = (
            local(r[k]) for k in ("built_at", "submitted_at", "approved_at")
        )
        assert r["report_date"] < built.date().isoformat() <= r["due_date"]
        assert built < submitted < approved_at
        assert submitted.date().isoformat() <= r["due_date"]  # reviewed in time: not overdue
    escalated = rows(demo, "SELECT status FROM reports_report WHERE escalated_at IS NOT NULL")
    assert all(r["status"] == "open" for r in escalated)
