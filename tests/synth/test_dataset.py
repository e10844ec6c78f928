"""The synthetic dataset follows the interchange format and is reproducible."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from menshen.ids import is_valid, valid_mask
from menshen.synth import generate
from menshen.synth.generator import world_sizes

COLUMNS = {
    "access": ["event_id", "occurred_at", "system", "account", "subject_id", "action",
               "purpose_code", "purpose_text", "record_ref", "terminal", "result_count"],
    "staff": ["staff_id", "name", "national_id", "unit_id", "title", "employment",
              "supervisor_id", "active_from", "active_to"],
    "units": ["unit_id", "name", "parent_unit_id"],
    "accounts": ["system", "account", "staff_id", "granted_at", "revoked_at"],
    "systems": ["system", "name", "sensitivity"],
    "purposes": ["system", "purpose_code", "description", "evidence_kind", "window_before_days",
                 "window_after_days", "allowed_units", "scope"],
    "records": ["record_id", "kind", "subject_id", "staff_id", "unit_id", "opened_at", "closed_at"],
    "persons": ["person_id", "name", "household_id", "address_code"],
    "relations": ["staff_id", "person_id", "relation"],
    "watchlist": ["person_id", "category", "note"],
    "calendar": ["date", "is_workday", "note"],
    "office_hours": ["unit_id", "start", "end"],
    "staff_risk": ["staff_id", "weight", "until"],
    "labels": ["event_id", "system", "misuse", "scenario", "incident_id"],
}  # fmt: skip


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_every_file_is_written_with_the_interchange_columns(world: Path) -> None:
    for name, columns in COLUMNS.items():
        with (world / f"{name}.csv").open(encoding="utf-8", newline="") as fh:
            header = next(csv.reader(fh))
        assert header == columns, name


def test_the_same_seed_gives_the_same_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    for fmt in ("csv", "csv.gz", "parquet"):
        a = generate(tmp_path / f"a-{fmt}", seed=3, events=4000, days=14, fmt=fmt)
        b = generate(tmp_path / f"b-{fmt}", seed=3, events=4000, days=14, fmt=fmt)
        assert _digest(a.out_dir) == _digest(b.out_dir)
    c = generate(tmp_path / "c", seed=4, events=4000, days=14)
    differing = {k for k, v in _digest(c.out_dir).items() if _digest(tmp_path / "a-csv")[k] != v}
    assert {"access.csv", "persons.csv", "staff.csv", "labels.csv"} <= differing


def test_summary_counts_match_the_files(tmp_path: Path) -> None:
    s = generate(tmp_path, seed=2, events=6000, days=14)
    with (tmp_path / "access.csv").open(encoding="utf-8") as fh:
        assert sum(1 for _ in fh) - 1 == s.events == s.files["access"] == s.files["labels"]
    assert abs(s.events - 6000) < 6000 * 0.03
    assert 0 < s.misuse_events < s.events * 0.05  # tiny world: one incident per scenario


def test_parquet_output_has_the_same_columns(tmp_path: Path) -> None:
    generate(tmp_path, seed=1, events=3000, days=7, fmt="parquet")
    for name, columns in COLUMNS.items():
        assert pq.read_schema(tmp_path / f"{name}.parquet").names == columns, name
    access = pq.read_table(tmp_path / "access.parquet")
    assert str(access.schema.field("occurred_at").type).startswith("timestamp")


def test_ids_pass_the_checksum_except_the_deliberate_typos(db) -> None:
    for table, column in (("persons", "person_id"), ("staff", "national_id"), ("watchlist", "person_id"),
                          ("records", "subject_id"), ("relations", "person_id")):  # fmt: skip
        values = [r[0] for r in db.execute(f"SELECT {column} FROM {table}").fetchall()]
        assert valid_mask(values).all(), table
    rows = db.execute("SELECT subject_id, scenario FROM ev").fetchall()
    bad = [(s, sc) for s, sc in rows if not is_valid(s)]
    assert bad, "a few mistyped subject ids are expected in real logs"
    assert {sc for _, sc in bad} == {"legit:typo_subject_id"}
    assert len(bad) < len(rows) * 0.001


def test_staff_are_persons_and_person_ids_are_unique(db) -> None:
    assert db.execute("SELECT count(*) - count(DISTINCT person_id) FROM persons").fetchone()[0] == 0
    missing = db.execute(
        "SELECT count(*) FROM staff WHERE national_id NOT IN (SELECT person_id FROM persons)"
    ).fetchone()[0]
    assert missing == 0


def test_event_ids_are_unique_per_system_and_labelled_once(db) -> None:
    n, distinct = db.execute(
        "SELECT count(*), count(DISTINCT (system, event_id)) FROM access"
    ).fetchone()
    assert n == distinct
    assert db.execute("SELECT count(*) FROM labels").fetchone()[0] == n
    assert db.execute("SELECT count(*) FROM ev").fetchone()[0] == n  # every account is known


def test_staff_counts_scale_with_events() -> None:
    assert 60 <= world_sizes(100_000, 28)[0] <= 120
    assert world_sizes(10_000_000, 28)[0] > 50 * world_sizes(100_000, 28)[0]


def test_the_agency_has_the_expected_shape(db) -> None:
    employment = {r[0] for r in db.execute("SELECT DISTINCT employment FROM staff").fetchall()}
    assert employment == {"permanent", "contract", "temporary"}
    assert (
        db.execute(
            "SELECT count(*) FROM staff WHERE active_to::DATE < DATE '2026-10-05'"
        ).fetchone()[0]
        > 0
    )
    sens = dict(db.execute("SELECT system, sensitivity FROM systems").fetchall())
    assert sens["RIS"] == "medium" and sens["LIQ"] == "high" and sens["CRS"] == "high"
    purposes = {
        r[0]: r
        for r in db.execute(
            "SELECT description, evidence_kind, scope, allowed_units FROM purposes"
        ).fetchall()
    }
    job = purposes["依民眾授權查詢勞保資料之求職登記表辦理"]
    assert job[1] == "job_seeker_registration"
    assert any(r[2] == "household" for r in purposes.values())
    assert any(r[1] is None for r in purposes.values())  # purposes that need no record
    crs = db.execute("SELECT allowed_units FROM purposes WHERE purpose_code = 'C01'").fetchone()[0]
    assert crs and all(u.endswith("-HR-REG") for u in crs.split(";"))
    assert db.execute("SELECT count(*) FROM accounts WHERE account LIKE 'svc_%'").fetchone()[0] >= 1
    assert (
        db.execute("SELECT count(*) FROM accounts WHERE revoked_at IS NOT NULL").fetchone()[0] >= 1
    )


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="format"):
        generate(tmp_path, events=100, fmt="xlsx")
    with pytest.raises(ValueError, match="positive"):
        generate(tmp_path, events=0)
    with pytest.raises(ValueError, match="non-negative"):
        generate(tmp_path, seed=-1, events=10)


def test_rewriting_in_another_format_leaves_one_version_of_each_table(tmp_path: Path) -> None:
    generate(tmp_path, seed=1, events=500, days=3)
    generate(tmp_path, seed=1, events=500, days=3, fmt="parquet")
    names = sorted(p.name for p in tmp_path.iterdir())
    assert "access.parquet" in names and "access.csv" not in names
    assert all(n.endswith(".parquet") for n in names)


def test_incident_counts_scale_with_events_and_misuse_stays_rare() -> None:
    from menshen.synth.misuse import RATES, incident_counts

    small, big = incident_counts(20_000), incident_counts(10_000_000)
    assert set(small) == set(big) == set(RATES)
    assert all(n >= 1 for n in small.values())
    assert sum(big.values()) > 50 * sum(small.values())
    expected = sum(n * RATES[s][1] for s, n in big.items())
    assert expected < 0.01 * 10_000_000


def test_bytes_do_not_depend_on_the_process_hash_seed(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    code = "import sys; from menshen.synth import generate; generate(sys.argv[1], seed=11, events=3000, days=7)"
    for name, hash_seed in (("x", "1"), ("y", "2")):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([sys.executable, "-c", code, str(tmp_path / name)], check=True, env=env)
    assert _digest(tmp_path / "x") == _digest(tmp_path / "y")
