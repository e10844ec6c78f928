"""Duplicates and conflicts of look-ups, set-wise in DuckDB.

A look-up is identified by (system, event_id). Against the rows staged in view `good`:
- within the file: the first occurrence (lowest line) is kept; a later one with the same
  row_hash is a duplicate (skipped), with another row_hash a conflict (quarantined);
- against the committed store: same row_hash → duplicate, other → conflict; found through
  the key indexes of the stored batches (index/access-keys.parquet), see _against_store.
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
import pyarrow.parquet as pq

from menshen.dataset.schema import FileSpec
from menshen.dataset.validate import lit, q
from menshen.store.stage import KEY_HASH_META, key_hash_probe, run
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
    con: duckdb.DuckDBPyConnection,
    snapshot: Snapshot,
    key_hashes: np.ndarray | None = None,
    index: Path | None = None,
) -> bool:
    """Fill temp table `skip`; True when it has rows. `key_hashes`: hash(system, event_id)
    of every row of `good`, when staging collected them; `index`: the staged key index of
    `good` (menshen.store.stage.KeyIndex)."""
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
    _against_store(con, snapshot, index)
    run(
        con,
        f"""CREATE OR REPLACE TEMP TABLE skip AS
        WITH st AS (
            SELECT source_line, CASE WHEN old_hash = new_hash THEN 'duplicate' ELSE 'conflict' END
                AS status, {CONFLICT_STORE} AS reason
            FROM existing
            UNION ALL SELECT source_line, 'duplicate', NULL FROM indexed_duplicates
            WHERE source_line NOT IN (SELECT source_line FROM existing)),
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


def _against_store(con: duckdb.DuckDBPyConnection, snapshot: Snapshot, index: Path | None) -> None:
    """Temp tables `existing` (rows of `good` whose (system, event_id) is stored, with the
    stored row's hash, batch, file and line) and `indexed_duplicates` (source_line of rows
    stored identically, decided from the key indexes alone).

    Batches with a key index: the staged index is joined with theirs on the key hash. Same
    key hash and same 128-bit row hash (the MD5 covers system and event_id) is the same
    row: a duplicate, nothing else is read. A key hash found with another row hash is
    either a conflict or two keys sharing a 64-bit hash: only for those keys are the stored
    look-ups read and compared on (system, event_id). Batches without an index (none are
    written now), or whose keys were hashed differently (another DuckDB version: the probe
    in the index's metadata differs), are compared on their stored look-ups, as before."""
    indexes, unindexed = snapshot.access_key_indexes()
    probe = key_hash_probe(con).encode()
    usable = [p for p in indexes if (pq.read_schema(p).metadata or {}).get(KEY_HASH_META) == probe]
    if len(usable) < len(indexes):  # keys hashed by another DuckDB: compared as before
        unindexed = unindexed + _batches_access(snapshot, [p for p in indexes if p not in usable])
        indexes = usable
    run(con, "CREATE OR REPLACE TEMP TABLE indexed_duplicates (source_line BIGINT)")
    columns = (
        "s.source_line, s.row_hash AS new_hash, e.row_hash AS old_hash, e.source_line AS old_line, "
        "e.source_file AS old_file, regexp_extract(e.filename, 'batches/([^/]+)/', 1) AS old_batch"
    )
    stored_rows = (
        "SELECT system, event_id, row_hash, source_line, source_file, filename "
        "FROM read_parquet({files}, filename=true, hive_partitioning=false)"
    )
    parts = []
    if indexes and index is not None and index.exists():
        run(
            con,
            "CREATE OR REPLACE TEMP TABLE matched AS SELECT n.source_line, n.key, "
            "n.row_hash = s.row_hash AS same "
            f"FROM read_parquet({lit(str(index))}) n JOIN read_parquet({_list(indexes)}) s "
            "USING (key)",
        )
        run(
            con,
            "INSERT INTO indexed_duplicates SELECT DISTINCT source_line FROM matched WHERE same",
        )
        [(suspects,)] = run(con, "SELECT count(*) FROM matched WHERE NOT same")
        if suspects:
            files = _list(_batches_access(snapshot, indexes))
            parts.append(
                f"SELECT {columns} FROM (SELECT * FROM good WHERE source_line IN "
                "(SELECT source_line FROM matched WHERE NOT same)) s "
                f"JOIN ({stored_rows.format(files=files)} WHERE hash(system, event_id) IN "
                "(SELECT key FROM matched WHERE NOT same)) e USING (system, event_id)"
            )
    elif indexes:
        unindexed = unindexed + _batches_access(snapshot, indexes)
    if unindexed:
        parts.append(
            f"SELECT {columns} FROM good s JOIN ({stored_rows.format(files=_list(unindexed))}) e "
            "USING (system, event_id)"
        )
    if parts:
        run(con, "CREATE OR REPLACE TEMP TABLE existing AS " + " UNION ALL ".join(parts))
    else:
        run(
            con,
            "CREATE OR REPLACE TEMP TABLE existing (source_line BIGINT, new_hash VARCHAR, "
            "old_hash VARCHAR, old_line BIGINT, old_file VARCHAR, old_batch VARCHAR)",
        )


def _list(paths: list[Path]) -> str:
    return "[" + ", ".join(lit(str(p)) for p in paths) + "]"


def _batches_access(snapshot: Snapshot, indexes: list[Path]) -> list[Path]:
    """The stored look-up files of the batches these key indexes belong to."""
    batches = {path.parent.parent.name for path in indexes}
    return [p for p in snapshot.access_files if p.parent.parent.parent.name in batches]


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


def duplicate_keys(
    con: duckdb.DuckDBPyConnection,
    spec: FileSpec,
    row_hash: str,
    key_hashes: np.ndarray | None = None,
) -> None:
    """Fill `skip` for a reference table: a later row with the key of an earlier one is a
    duplicate (same content, skipped) or a conflict (quarantined); the first is kept. Only
    rows whose key hash occurs twice are ranked, so a clean table costs one aggregate — or,
    with `key_hashes` (hash of the key of every row of `good`, collected while staging),
    one sort in numpy, and nothing is read when no key hash repeats."""
    candidates = None if key_hashes is None or not spec.key else repeated(key_hashes)
    if not spec.key or (candidates is not None and not candidates.size):
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
    if candidates is None:
        run(
            con,
            "CREATE OR REPLACE TEMP TABLE candidates AS "
            f"SELECT hash({key}) AS k FROM good GROUP BY 1 HAVING count(*) > 1",
        )
    else:
        con.register("candidates_found", pa.table({"k": pa.array(candidates, pa.uint64())}))
        run(con, "CREATE OR REPLACE TEMP TABLE candidates AS SELECT k FROM candidates_found")
        con.unregister("candidates_found")
    run(
        con,
        f"""CREATE OR REPLACE TEMP TABLE skip AS
        WITH hashed AS (
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
