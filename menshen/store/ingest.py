"""`menshen ingest`: read a dataset, validate it, and commit one batch to the store.

Per file, streaming: pyarrow parses chunks of strings (menshen.dataset.reader), DuckDB
validates and normalises each chunk in parallel (menshen.dataset.validate) into staged
Parquet under the batch's work directory. Then, set-wise in DuckDB: duplicates and conflicts
within the file (hash aggregate on (system, event_id)) and against the committed store
(join on the key), the partitioned write of the kept look-ups, and the quarantine file.
Python loops run only over the few rejected rows and the first problems shown.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from menshen import exitcodes
from menshen.dataset.errors import Problem
from menshen.dataset.files import DatasetFile, find_files, open_file
from menshen.dataset.reader import iter_chunks
from menshen.dataset.schema import ACCESS, FileSpec
from menshen.dataset.validate import SEP, lit, q, select_sql
from menshen.ids import valid_mask
from menshen.store.manifest import sha256_file
from menshen.store.quarantine import write_quarantine
from menshen.store.store import Snapshot, StagedBatch, Store, Writer

Progress = Callable[[str, int, int], None]
MAX_PROBLEMS = 20


@dataclass
class FileReport:
    file: str
    table: str
    encoding: str
    rows_read: int = 0
    kept: int = 0
    quarantined: int = 0
    invalid_ids: int = 0
    duplicates: int = 0
    conflicts: int = 0
    blank_lines: int = 0
    unchanged: bool = False  # a reference table identical to the stored version
    extra_columns: list[str] = field(default_factory=list)
    quarantine_path: str | None = None
    problems: list[Problem] = field(default_factory=list)  # first ones, for the summary
    warnings: list[Problem] = field(default_factory=list)


@dataclass
class IngestReport:
    home: Path
    source: Path
    files: list[FileReport]
    batch_id: str | None = None  # None when nothing new was committed

    @property
    def nothing_new(self) -> bool:
        return self.batch_id is None

    @property
    def quarantined(self) -> int:
        return sum(f.quarantined for f in self.files)

    @property
    def exit_code(self) -> int:
        return exitcodes.PARTIAL if self.quarantined else exitcodes.OK


def _connect(work: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(work / "work.duckdb"))
    tmp = work / "spill"
    tmp.mkdir(exist_ok=True)
    con.execute(
        "SET threads=2; SET memory_limit='1GB'; SET preserve_insertion_order=false; "
        f"SET temp_directory={lit(str(tmp))}; SET TimeZone='Asia/Taipei'"
    ).fetchall()
    return con


def ingest(
    store: Store,
    folder: Path,
    encoding: str | None = None,
    wait: bool = True,
    on_wait: Callable[[], None] | None = None,
    progress: Progress | None = None,
    chunk_rows: int = 500_000,
) -> IngestReport:
    """Ingest `folder`; DatasetError (nothing written) when it cannot be used at all,
    StoreBusy when locked and wait=False."""
    paths = find_files(folder)
    opened = [
        open_file(ACCESS if t == "access" else _spec(t), p, encoding) for t, p in paths.items()
    ]
    report = IngestReport(store.home, folder.resolve(), [])
    with store.writer(wait=wait, on_wait=on_wait) as writer:
        staged = writer.new_batch("ingest")
        try:
            con = _connect(staged.work)
            new = False
            for item in opened:
                file_report = FileReport(item.name, item.spec.table, item.encoding)
                file_report.extra_columns = item.extra_columns
                report.files.append(file_report)
                new |= _ingest_file(
                    con, item, staged, writer.snapshot, file_report, progress, chunk_rows
                )
            con.close()
            if new:
                entry = writer.commit(staged, str(folder.resolve()))
                report.batch_id = entry["batch_id"]
                for file_report in report.files:
                    if file_report.quarantine_path:
                        file_report.quarantine_path = str(
                            store.home / "batches" / entry["batch_id"] / file_report.quarantine_path
                        )
            else:
                writer.discard(staged)
        except BaseException:
            writer.discard(staged)
            raise
    return report


def _spec(table: str) -> FileSpec:
    from menshen.dataset.schema import SPECS

    return SPECS[table]


def _stage(
    con: duckdb.DuckDBPyConnection,
    item: DatasetFile,
    out: Path,
    progress: Progress | None,
    chunk_rows: int,
) -> None:
    """Validate and normalise every chunk into out/s#####.parquet."""
    _stage_once(con, item, out, progress, chunk_rows)
    if not item.stream.lines_consistent:  # quoted newlines: read again, counting them
        shutil.rmtree(out)
        item.stream.reset(count_newlines=True)
        _stage_once(con, item, out, progress, chunk_rows)


def _stage_once(
    con: duckdb.DuckDBPyConnection,
    item: DatasetFile,
    out: Path,
    progress: Progress | None,
    chunk_rows: int,
) -> None:
    out.mkdir(parents=True)
    stream = item.stream
    total = stream.scan.lines if stream.scan is not None else 0
    present = set(stream.columns)
    sql = select_sql(item.spec, present, item.name)
    chunks = (
        [item.calendar_chunk]
        if item.calendar_chunk is not None
        else iter_chunks(stream, chunk_rows)
    )
    number = 0
    for chunk in chunks:
        table = chunk.table.append_column("__line", pa.array(chunk.lines, pa.int64()))
        if item.spec.table == "access":
            valid = valid_mask(chunk.table.column("subject_id"))
            table = table.append_column("__valid", pa.array(valid, pa.bool_()))
        con.register("chunk", table)
        target = out / f"s{number:05d}.parquet"
        con.execute(
            f"COPY ({sql}) TO {lit(str(target))} (FORMAT parquet, COMPRESSION snappy)"
        ).fetchall()
        con.unregister("chunk")
        number += 1
        if progress:
            progress(item.name, stream.lines_done or stream.rows, total or stream.rows)
    if number == 0:  # no data rows: an empty staged file keeps the queries simple
        table = pa.table({name: pa.array([], pa.string()) for name in stream.columns})
        table = table.append_column("__line", pa.array([], pa.int64()))
        if item.spec.table == "access":
            table = table.append_column("__valid", pa.array([], pa.bool_()))
        for name in item.spec.names:
            if name not in present:
                table = table.append_column(name, pa.array([], pa.string()))
        con.register("chunk", table)
        con.execute(
            f"COPY ({sql}) TO {lit(str(out / 's00000.parquet'))} (FORMAT parquet)"
        ).fetchall()
        con.unregister("chunk")
    if progress:
        progress(item.name, total or stream.rows, total or stream.rows)


def _rejected_table(item: DatasetFile) -> pa.Table:
    rejected = item.stream.rejected
    return pa.table(
        {
            "source_line": pa.array([r.line for r in rejected], pa.int64()),
            "problems": pa.array(
                [[f"{SEP}{r.text}{SEP}{r.reason}"] for r in rejected], pa.list_(pa.string())
            ),
            "raw_text": pa.array([r.text for r in rejected], pa.string()),
        }
    )


def _ingest_file(
    con: duckdb.DuckDBPyConnection,
    item: DatasetFile,
    staged: StagedBatch,
    snapshot: Snapshot,
    report: FileReport,
    progress: Progress | None,
    chunk_rows: int,
) -> bool:
    """Stage, check and write one file into the batch; True when it adds something new."""
    table = item.spec.table
    stage_dir = staged.work / table
    _stage(con, item, stage_dir, progress, chunk_rows)
    con.execute(
        f"CREATE OR REPLACE VIEW staged AS SELECT * FROM read_parquet({lit(str(stage_dir / '*.parquet'))})"
    ).fetchall()
    con.register("rejected", _rejected_table(item))
    report.blank_lines = item.stream.blank_lines
    bad = con.execute("SELECT count(*) FROM staged WHERE problems IS NOT NULL").fetchall()[0][0]
    total = con.execute("SELECT count(*) FROM staged").fetchall()[0][0]
    report.rows_read = total + len(item.stream.rejected)
    if table == "access":
        new = _write_access(con, staged, snapshot, report)
    else:
        new = _write_reference(con, item.spec, staged, snapshot, report)
    report.quarantined = bad + len(item.stream.rejected) + report.conflicts
    relative = f"quarantine/{item.name}.quarantine.csv"
    if report.quarantined:
        target = staged.file(relative, rows=report.quarantined)
        problems = write_quarantine(
            con, item.spec, target, item.name, with_conflicts=table == "access"
        )
        report.problems = problems[:MAX_PROBLEMS]
        digest = sha256_file(target)
        seen = any(
            e["path"].endswith("/" + relative) and e["sha256"] == digest
            for b in snapshot.batches
            for e in b.get("files", [])
        )
        if seen:
            target.unlink()
            report.quarantine_path = _stored_path(snapshot, relative, digest)
        else:
            report.quarantine_path = relative
            new = True
    con.unregister("rejected")
    return new


def _stored_path(snapshot: Snapshot, relative: str, digest: str) -> str | None:
    for batch in snapshot.batches:
        for entry in batch.get("files", []):
            if entry["path"].endswith("/" + relative) and entry["sha256"] == digest:
                return str(snapshot.home / entry["path"])
    return None


ACCESS_COLUMNS = (
    "system, event_id, occurred_at, occurred_date, account, subject_id, subject_id_valid, action, "
    "purpose_code, purpose_text, record_ref, terminal, result_count, row_hash, source_file, source_line"
)


def _write_access(
    con: duckdb.DuckDBPyConnection, staged: StagedBatch, snapshot: Snapshot, report: FileReport
) -> bool:
    con.execute(
        "CREATE OR REPLACE TEMP TABLE dupkeys AS SELECT hash(system, event_id) AS h FROM staged "
        "WHERE problems IS NULL GROUP BY 1 HAVING count(*) > 1"
    ).fetchall()
    con.execute(
        "CREATE OR REPLACE TEMP TABLE indup AS SELECT system, event_id, row_hash, source_line "
        "FROM staged WHERE problems IS NULL AND hash(system, event_id) IN (SELECT h FROM dupkeys)"
    ).fetchall()
    stored = snapshot.access_files
    if stored:
        files = "[" + ", ".join(lit(str(p)) for p in stored) + "]"
        con.execute(
            "CREATE OR REPLACE TEMP TABLE existing AS SELECT s.source_line, s.row_hash AS new_hash, "
            "e.row_hash AS old_hash, e.source_line AS old_line, e.source_file AS old_file, "
            "regexp_extract(e.filename, 'batches/([^/]+)/', 1) AS old_batch "
            "FROM staged s JOIN (SELECT system, event_id, row_hash, source_line, source_file, filename "
            f"FROM read_parquet({files}, filename=true)) e USING (system, event_id) "
            "WHERE s.problems IS NULL"
        ).fetchall()
    else:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE existing (source_line BIGINT, new_hash VARCHAR, "
            "old_hash VARCHAR, old_line BIGINT, old_file VARCHAR, old_batch VARCHAR)"
        ).fetchall()
    conflict_store = lit("與證據庫中同一系統、同一事件編號的紀錄內容不同（批次 ") + (
        " || old_batch || "
        + lit("，")
        + " || old_file || ':' || old_line || "
        + lit("）/ conflicts with the stored event of the same system and event_id (batch ")
        + " || old_batch || ', ' || old_file || ':' || old_line || ')'"
    )
    conflict_file = (
        lit("與本檔第 ")
        + " || f.first_line || "
        + lit(" 行同一系統、同一事件編號但內容不同 / conflicts with line ")
        + " || f.first_line || "
        + lit(" (same system and event_id, different content)")
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE skip AS
        WITH st AS (
            SELECT source_line, CASE WHEN old_hash = new_hash THEN 'duplicate' ELSE 'conflict' END
                AS status, {conflict_store} AS reason
            FROM existing),
        firsts AS (
            SELECT system, event_id, min(source_line) AS first_line,
                arg_min(row_hash, source_line) AS first_hash
            FROM indup GROUP BY system, event_id),
        fl AS (
            SELECT i.source_line, CASE WHEN i.row_hash = f.first_hash THEN 'duplicate'
                ELSE 'conflict' END AS status, {conflict_file} AS reason
            FROM indup i JOIN firsts f USING (system, event_id)
            WHERE i.source_line <> f.first_line)
        SELECT * FROM st
        UNION ALL SELECT * FROM fl WHERE source_line NOT IN (SELECT source_line FROM st)"""
    ).fetchall()
    report.duplicates, report.conflicts = con.execute(
        "SELECT coalesce(count_if(status = 'duplicate'), 0), coalesce(count_if(status = 'conflict'), 0) FROM skip"
    ).fetchall()[0]
    target = staged.path / "access"
    written = con.execute(
        f"""COPY (SELECT {ACCESS_COLUMNS}, occurred_date AS date FROM staged
            WHERE problems IS NULL AND source_line NOT IN (SELECT source_line FROM skip))
        TO {lit(str(target))} (FORMAT parquet, PARTITION_BY (date), FILENAME_PATTERN 'part-{{i}}',
            COMPRESSION zstd, ROW_GROUP_SIZE 1000000)"""
    ).fetchall()[0][0]
    report.kept = int(written)
    report.invalid_ids = con.execute(
        "SELECT count(*) FROM staged WHERE problems IS NULL AND NOT subject_id_valid "
        "AND source_line NOT IN (SELECT source_line FROM skip)"
    ).fetchall()[0][0]
    for line, value in con.execute(
        "SELECT source_line, subject_id FROM staged WHERE problems IS NULL AND NOT subject_id_valid "
        f"ORDER BY source_line LIMIT {MAX_PROBLEMS}"
    ).fetchall():
        report.warnings.append(
            Problem(
                report.file,
                line,
                "subject_id",
                value,
                "身分證號／統一證號檢查碼不符，已保留並標記 / id fails the checksum: kept and marked",
            )
        )
    return report.kept > 0


def _write_reference(
    con: duckdb.DuckDBPyConnection,
    spec: FileSpec,
    staged: StagedBatch,
    snapshot: Snapshot,
    report: FileReport,
) -> bool:
    con.execute(
        "CREATE OR REPLACE TEMP TABLE skip (source_line BIGINT, status VARCHAR, reason VARCHAR)"
    ).fetchall()
    columns = ", ".join(q(name) for name in spec.names)
    good = f"SELECT {columns} FROM staged WHERE problems IS NULL"
    report.kept = con.execute(f"SELECT count(*) FROM ({good})").fetchall()[0][0]
    row_text = " , ".join(f"coalesce(CAST({q(n)} AS VARCHAR), '\\N')" for n in spec.names)
    digest = con.execute(
        f"SELECT sha256(coalesce(string_agg(h, '' ORDER BY h), '')) FROM "
        f"(SELECT sha256(concat_ws(chr(31), {row_text})) AS h FROM ({good}))"
    ).fetchall()[0][0]
    current = snapshot.reference_entry(spec.table)
    if current is not None and current.get("table_sha256") == digest:
        report.unchanged = True
        return False
    if report.kept == 0 and current is None and report.rows_read > 0:
        return False  # nothing usable: the quarantine says why
    target = staged.file(f"ref/{spec.table}.parquet", table=spec.table, table_sha256=digest)
    con.execute(
        f"COPY ({good} ORDER BY source_line) TO {lit(str(target))} (FORMAT parquet, COMPRESSION zstd)"
    ).fetchall()
    return True


__all__ = ["FileReport", "IngestReport", "Writer", "ingest", "np"]
