"""Reading and validating chunks the cheap way gives what the full way gives: values, line
numbers and problems (pyarrow's plain chunking with its quote-aware fallback; the shortcuts
a chunk's cells allow in the validating SELECT)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datasets import ACCESS_HEADER, access_rows, make_dataset, write_csv
from store_testing import run

from menshen.dataset import reader
from menshen.dataset.schema import ACCESS, SPECS
from menshen.dataset.validate import chunk_shortcuts, select_sql
from menshen.store import Store


def test_quoted_newlines_across_parser_blocks_keep_values_and_lines(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blocks of ~1.5 kB, so that many of them end inside a quoted value that spans lines:
    every row is still read whole, on the physical line where it starts."""
    monkeypatch.setattr(reader, "MIN_BLOCK", 256)
    folder = make_dataset(tmp_path / "dataset", events=3)
    rows = access_rows(300)
    expected: dict[str, int] = {}
    line = 2
    for number, row in enumerate(rows):
        if number % 3 == 0:
            row[7] = "第一行\n第二行, 含「引號」\n第三行"
        if number == 250:
            row[1] = "2025/03/05 09:00"
        expected[row[0]] = line
        line += 1 + row[7].count("\n")
    write_csv(folder / "access.csv", ACCESS_HEADER, rows)
    code, output = run("ingest", folder, "--home", home)
    assert code == 4, output
    assert f"access.csv:{expected[rows[250][0]]}:occurred_at '2025/03/05 09:00'" in output
    stored = pq.read_table(Store(home).snapshot().access_files).to_pylist()
    assert len(stored) == 299
    for row in stored:
        assert row["source_line"] == expected[row["event_id"]]
    texts = {row["event_id"]: row["purpose_text"] for row in stored}
    assert texts[rows[0][0]] == "第一行\n第二行, 含「引號」\n第三行"
    assert texts[rows[298][0]] == (rows[298][7] or None)


def _validated(spec_name: str, cells: dict[str, list[str]], cut: bool) -> pa.Table:
    spec = SPECS[spec_name]
    table = pa.table(cells)
    count = table.num_rows
    table = table.append_column("__line", pa.array(range(2, count + 2), pa.int64()))
    if spec_name == "access":
        table = table.append_column("__valid", pa.array([True] * count))
    shortcuts = chunk_shortcuts(spec, pa.table(cells)) if cut else None
    sql = select_sql(spec, set(cells), "x.csv", shortcuts=shortcuts)
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    con.register("chunk", table)
    return con.sql(f"SELECT * FROM ({sql}) ORDER BY source_line").to_arrow_table()


def _access_cells(times: list[str], accounts: list[str]) -> dict[str, list[str]]:
    count = len(times)
    cells = {name: [f"v{i}" for i in range(count)] for name in ACCESS_HEADER}
    cells["occurred_at"] = times
    cells["account"] = accounts
    cells["subject_id"] = ["A123456789"] * count
    cells["action"] = ["view"] * count
    cells["result_count"] = ["1"] * count
    return cells


PLAIN = [
    "2025-03-03T09:15:00",
    "2025-03-03 23:59:59",
    "2025-02-30T09:00:00",
    "",
    "2025-03-04T00:00:01",
]


@pytest.mark.parametrize(
    "odd",
    [
        None,
        "2025-03-03T09:15:00Z",
        "2025-03-03T09:15:00+08:00",
        "2025-03-03T09:15-05",
        "2025-03-03T09:15:00,5",
        "2025-03-03T09:15:0Z",
        "2025-03-03T09:15:00.123456",
        "2025/03/03T09:15:00",
        " 2025-03-03T09:15:00",
        "2025-03-03T09:15:00\u3000",
        "２０２５-03-03T09:15:00",
        "2025-03-03",
        "garbage",
    ],
)
def test_shortcuts_give_the_values_and_problems_of_the_full_select(odd: str | None) -> None:
    times = [*PLAIN, *([odd] if odd is not None else [])]
    accounts = ["u1", "", "u3", "u4", "u5", *(["\u3000u6 "] if odd is not None else [])]
    cells = _access_cells(times, accounts)
    full = _validated("access", cells, cut=False)
    assert _validated("access", cells, cut=True).equals(full)
    shortcuts = chunk_shortcuts(ACCESS, pa.table(cells))
    assert ("occurred_at" in shortcuts.plain_timestamps) == (odd is None)
    assert ("account" in shortcuts.untrimmed) == (odd is None)
    assert {"event_id", "system", "terminal"} <= shortcuts.untrimmed
    if odd is None:
        assert full.column("occurred_at").null_count == 2  # 30 February and the empty cell


def test_shortcuts_for_reference_timestamps_keep_bare_dates_and_empty_cells() -> None:
    cells = {
        "record_id": ["R1", "R2", "R3"],
        "kind": ["k", "k", "k"],
        "subject_id": ["a123456789", "A123456789", "A123456789"],
        "opened_at": ["2025-03-03T09:15:00", "2025-03-03 09:15:00", "2025-03-04T10:00:00"],
        "closed_at": ["", "2025-03-05", "2025-03-06T10:00:00"],
    }
    full = _validated("records", cells, cut=False)
    assert _validated("records", cells, cut=True).equals(full)
    shortcuts = chunk_shortcuts(SPECS["records"], pa.table(cells))
    assert shortcuts.plain_timestamps == {"opened_at"}  # the bare date takes the full path
