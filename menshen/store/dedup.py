"""Duplicates and conflicts of look-ups, set-wise in DuckDB.

A look-up is identified by (system, event_id). Against the rows staged in view `good`:
- within the file: the first occurrence (lowest line) is kept; a later one with the same
  row_hash is a duplicate (skipped), with another row_hash a conflict (quarantined);
- against the committed store: same row_hash → duplicate, other → conflict.
The result is the temp table `skip(source_line, status, reason)`.
Finding duplicate keys uses a hash aggregate on hash(system, event_id) (8 bytes per row), so
the full keys are compared only for the few candidate rows.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from menshen.dataset.schema import FileSpec
from menshen.dataset.validate import lit, q
from menshen.store.stage import run
from menshen.store.store import Snapshot

CONFLICT_STORE = (
    lit("與證據庫中同一系統、同一事件編號的紀錄內容不同（批次 ")
    + " || old_batch || "
    + lit("，")
    + " || old_file || ':' || old_line || "
    + lit("）/ conflicts with the stored event of the same system and event_id (batch ")
    + " || old_batch || ', ' || old_file || ':' || old_line || ')'"
)
CONFLICT_FILE = (
    lit("與本檔第 ")
    + " || f.first_line || "
    + lit(" 行同一系統、同一事件編號但內容不同 / conflicts with line ")
    + " || f.first_line || "
    + lit(" (same system and event_id, different content)")
)


def repeated(hashes: np.ndarray) -> np.ndarray:
    """The values that occur more than once (a sort: cheaper than a hash aggregate)."""
    ordered = np.sort(hashes)
    return np.unique(ordered[1:][ordered[1:] == ordered[:-1]])


def find_duplicates(
    con: duckdb.DuckDBPyConnection, snapshot: Snapshot, key_hashes: np.ndarray | None = None
) -> bool:
    """Fill temp table `skip`; True when it has rows. `key_hashes`: hash(system, event_id)
    of every row of `good`, when staging collected them."""
    if key_hashes is None:
        run(
            con,
            "CREATE OR REPLACE TEMP TABLE dupkeys AS SELECT hash(system, event_id) AS h FROM good "
            "GROUP BY 1 HAVING count(*) > 1",
        )
    else:
        con.register("dupkeys_found", pa.table({"h": pa.array(repeated(key_hashes), pa.uint64())}))
        run(con, "CREATE OR REPLACE TEMP TABLE dupkeys AS SELECT h FROM dupkeys_found")
        con.unregister("dupkeys_found")
    run(
        con,
        "CREATE OR REPLACE TEMP TABLE indup AS SELECT system, event_id, row_hash, source_line "
        "FROM good WHERE hash(system, event_id) IN (SELECT h FROM dupkeys)",
    )
    stored = snapshot.access_files
    if stored:
        files = "[" + ", ".join(lit(str(p)) for p in stored) + "]"
        run(
            con,
            "CREATE OR REPLACE TEMP TABLE existing AS SELECT s.source_line, s.row_hash AS new_hash, "
            "e.row_hash AS old_hash, e.source_line AS old_line, e.source_file AS old_file, "
            "regexp_extract(e.filename, 'batches/([^/]+)/', 1) AS old_batch "
            "FROM good s JOIN (SELECT system, event_id, row_hash, source_line, source_file, filename "
            f"FROM read_parquet({files}, filename=true, hive_partitioning=false)) e "
            "USING (system, event_id)",
        )
    else:
        run(
            con,
            "CREATE OR REPLACE TEMP TABLE existing (source_line BIGINT, new_hash VARCHAR, "
            "old_hash VARCHAR, old_line BIGINT, old_file VARCHAR, old_batch VARCHAR)",
        )
    run(
        con,
        f"""CREATE OR REPLACE TEMP TABLE skip AS
        WITH st AS (
            SELECT source_line, CASE WHEN old_hash = new_hash THEN 'duplicate' ELSE 'conflict' END
                AS status, {CONFLICT_STORE} AS reason
            FROM existing),
        firsts AS (
            SELECT system, event_id, min(source_line) AS first_line,
                arg_min(row_hash, source_line) AS first_hash
            FROM indup GROUP BY system, event_id),
        fl AS (
            SELECT i.source_line, CASE WHEN i.row_hash = f.first_hash THEN 'duplicate'
                ELSE 'conflict' END AS status, {CONFLICT_FILE} AS reason
            FROM indup i JOIN firsts f USING (system, event_id)
            WHERE i.source_line <> f.first_line)
        SELECT * FROM st
        UNION ALL SELECT * FROM fl WHERE source_line NOT IN (SELECT source_line FROM st)""",
    )
    return bool(run(con, "SELECT count(*) FROM skip")[0][0])


def move_partitions(source: Path, target: Path) -> list[Path]:
    """Move staged date=YYYY-MM-DD/*.parquet files into the batch as part-N.parquet."""
    moved: list[Path] = []
    for folder in sorted(source.iterdir()):
        if not folder.is_dir():
            continue
        files = sorted(folder.glob("*.parquet"))
        destination = target / folder.name
        destination.mkdir(parents=True, exist_ok=True)
        for number, path in enumerate(files):
            os.rename(path, destination / f"part-{number}.parquet")
            moved.append(destination / f"part-{number}.parquet")
    return moved


def duplicate_keys(con: duckdb.DuckDBPyConnection, spec: FileSpec, row_hash: str) -> None:
    """Fill `skip` for a reference table: a later row with the key of an earlier one is a
    duplicate (same content, skipped) or a conflict (quarantined); the first is kept. Only
    rows whose key hash occurs twice are ranked, so a clean table costs one aggregate."""
    if not spec.key:
        run(
            con,
            "CREATE OR REPLACE TEMP TABLE skip (source_line BIGINT, status VARCHAR, reason VARCHAR)",
        )
        return
    key = ", ".join(q(k) for k in spec.key)
    names = "+".join(spec.key)
    reason = (
        lit("與本檔第 ")
        + " || first_line || "
        + lit(f" 行的鍵值（{names}）重複但內容不同 / duplicate key {names}: conflicts with line ")
        + " || first_line"
    )
    run(
        con,
        f"""CREATE OR REPLACE TEMP TABLE skip AS
        WITH candidates AS (
            SELECT hash({key}) AS k FROM good GROUP BY 1 HAVING count(*) > 1),
        hashed AS (
            SELECT source_line, {key}, {row_hash} AS h FROM good
            WHERE hash({key}) IN (SELECT k FROM candidates)),
        ranked AS (
            SELECT source_line, h,
                first_value(source_line) OVER w AS first_line,
                first_value(h) OVER w AS first_hash
            FROM hashed WINDOW w AS (PARTITION BY {key} ORDER BY source_line))
        SELECT source_line, CASE WHEN h = first_hash THEN 'duplicate' ELSE 'conflict' END AS status,
            {reason} AS reason
        FROM ranked WHERE source_line <> first_line""",
    )
