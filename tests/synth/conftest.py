from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from menshen.synth import generate


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 20,000-look-up world, shared by the read-only tests."""
    out = tmp_path_factory.mktemp("world")
    generate(out, seed=7, events=20_000, days=28)
    return out


@pytest.fixture(scope="session")
def db(world: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for name in ("access", "labels", "records", "staff", "accounts", "units", "purposes",
                 "persons", "relations", "watchlist", "calendar", "office_hours", "staff_risk",
                 "systems"):  # fmt: skip
        con.execute(
            f"CREATE TABLE {name} AS SELECT * FROM read_csv('{world / (name + '.csv')}', "
            "header=true, all_varchar=true)"
        )
    con.execute(
        "CREATE TABLE ev AS SELECT a.*, l.misuse::INT AS misuse, l.scenario, l.incident_id, "
        "a.occurred_at::TIMESTAMP AS ts, acc.staff_id, s.unit_id "
        "FROM access a JOIN labels l USING (system, event_id) "
        "JOIN accounts acc ON acc.system = a.system AND acc.account = a.account "
        "JOIN staff s USING (staff_id)"
    )
    return con
