"""`menshen ingest`: read a dataset, validate it, and commit one batch to the store.

Per file, streaming: pyarrow parses chunks of strings (menshen.dataset.reader) and DuckDB
validates and normalises each chunk (menshen.store.stage); a writer thread puts usable
look-ups straight into date partitions, and a reference file's rows into the file that
becomes its stored version, in the work directory. Then, set-wise (menshen.store.dedup):
duplicates and conflicts within the file (from the key hashes collected while staging) and
against the committed store (through the batches' key indexes). Without any, the staged files move into the batch as they are;
otherwise they are written again without the skipped rows. Python loops run only over the
few rejected rows and the first problems shown.

A reference file whose bytes, encoding and reading rules are those recorded (`source_input`
in the file entry) for the table's current version, which had no quarantined, duplicate or
blank rows, is not parsed at all: it is reported as identical to the stored version.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from menshen import exitcodes
from menshen.dataset.errors import Problem
from menshen.dataset.files import DatasetFile, find_files, open_file
from menshen.dataset.schema import ACCESS, FileSpec
from menshen.dataset.validate import SEP, lit, q
from menshen.store.dedup import duplicate_keys, find_duplicates, move_partitions
from menshen.store.manifest import sha256_file
from menshen.store.quarantine import write_quarantine
from menshen.store.stage import (
    ACCESS_COLUMNS,
    KEY_HASH_META,
    Staged,
    key_hash_probe,
    run,
    stage_file,
)
from menshen.store.store import KEY_INDEX, Snapshot, StagedBatch, Store

Progress = Callable[[str, int, int], None]  # (file name, lines done, lines in all)
MAX_PROBLEMS = 20
REF_BATCH = 500_000  # rows per row group of a reference table


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
    notes: list[str] = field(default_factory=list)
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
        f"SET temp_directory={lit(str(tmp))}; SET TimeZone='UTC'"
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
    report = IngestReport(store.home, folder.resolve(), [])
    wanted = []
    for table, path in paths.items():
        spec = ACCESS if table == "access" else _spec(table)
        if not spec.required and path.stat().st_size == 0:
            skipped = FileReport(path.name, table, "-")
            skipped.notes.append("空檔案，略過 / empty optional file, skipped")
            report.files.append(skipped)
            continue
        wanted.append((spec, path))
    # The first pass over every file (encoding, lines, quotes) runs two files at a time: it
    # is numpy and Arrow work that releases the GIL. The first problem in file order wins.
    # The SHA-256 of each reference file (its `source_input`) is computed in the same read
    # (separately for a compressed or Parquet file, whose stored bytes are not those read).
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="scan") as pool:
        futures = [
            pool.submit(open_file, spec, path, encoding, spec.table != "access")
            for spec, path in wanted
        ]
        opened = [future.result() for future in futures]
        digests = {
            item.path: pool.submit(sha256_file, item.path)
            for item in opened
            if item.spec.table != "access"
            and (item.stream.scan is None or item.stream.scan.sha256 is None)
        }
        source_digests = {path: future.result() for path, future in digests.items()}
    for item in opened:
        if item.stream.scan is not None and item.stream.scan.sha256 is not None:
            source_digests[item.path] = item.stream.scan.sha256
    with store.writer(wait=wait, on_wait=on_wait) as writer:
        staged = writer.new_batch("ingest")
        try:
            # One file after another. Running the reference tables in a second thread with
            # their own DuckDB database, beside the look-ups, was measured (docs/store.md):
            # more CPU and a peak of 2.4 GiB, over the 2 GiB target.
            con = _connect(staged.work)
            new = False
            for item in opened:
                file_report = FileReport(item.name, item.spec.table, item.encoding)
                file_report.extra_columns = item.extra_columns
                report.files.append(file_report)
                new |= _ingest_file(
                    con,
                    item,
                    staged,
                    writer.snapshot,
                    file_report,
                    progress,
                    chunk_rows,
                    source_digests.get(item.path),
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


_RULES: str | None = None


def _rules_digest() -> str:
    """Hash of the code that turns a file's bytes into a reference table's rows: a change of
    the rules makes a stored source hash stale, so the file is read again."""
    global _RULES
    if _RULES is None:
        from menshen.dataset import reader, schema, validate

        digest = hashlib.sha256()
        for module in (reader, schema, validate):
            digest.update(Path(module.__file__ or "").read_bytes())
        _RULES = digest.hexdigest()[:16]
    return _RULES


def _source_key(item: DatasetFile, digest: str | None = None) -> dict[str, str]:
    """What identifies a reference file's input: name, SHA-256 of its bytes, the encoding
    it was read in and the rules that read it."""
    scan = item.stream.scan
    return {
        "file": item.name,
        "sha256": digest or sha256_file(item.path),
        "encoding": scan.encoding if scan is not None else "parquet",
        "rules": _rules_digest(),
    }


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


def _files_sql(paths: list[Path]) -> str:
    return "[" + ", ".join(lit(str(p)) for p in paths) + "]"


def _ingest_file(
    con: duckdb.DuckDBPyConnection,
    item: DatasetFile,
    staged: StagedBatch,
    snapshot: Snapshot,
    report: FileReport,
    progress: Progress | None,
    chunk_rows: int,
    source_digest: str | None = None,
) -> bool:
    """Stage, check and write one file into the batch; True when it adds something new."""
    table = item.spec.table
    source = None
    if table != "access" and item.calendar_chunk is None:
        source = _source_key(item, source_digest)
        current = snapshot.reference_entry(table)
        if current is not None and current.get("source_input") == source:
            # The very bytes (read the same way, by the same rules) that gave the stored
            # version, which had no quarantined, duplicate or blank rows: nothing to parse.
            report.rows_read = report.kept = int(current["rows"])
            report.unchanged = True
            return False
    stage_dir = staged.work / table
    collected = stage_file(con, item, stage_dir, progress, chunk_rows)
    good = sorted((stage_dir / "good").rglob("*.parquet"))
    bad = sorted((stage_dir / "bad").glob("*.parquet"))
    if table == "access":
        run(
            con,
            "CREATE OR REPLACE VIEW good AS SELECT * FROM "
            f"read_parquet({_files_sql(good)}, hive_partitioning=false)",
        )
    else:
        _good_view(con, stage_dir / "rows.parquet", stage_dir / "keys.parquet")
    con.register("rejected", _rejected_table(item))
    report.blank_lines = item.stream.blank_lines
    [(kept_candidates,)] = run(con, "SELECT count(*) FROM good")
    [(failed,)] = (
        run(con, f"SELECT count(*) FROM read_parquet({_files_sql(bad)})") if bad else [(0,)]
    )
    report.rows_read = kept_candidates + failed + len(item.stream.rejected)
    if table == "access":
        new = _write_access(con, stage_dir, good, staged, snapshot, report, collected.keys)
    else:
        clean = not (failed or item.stream.rejected or item.stream.blank_lines)
        new = _write_reference(
            con,
            item.spec,
            stage_dir,
            staged,
            snapshot,
            report,
            source if clean else None,
            collected,
        )
    report.quarantined = failed + len(item.stream.rejected) + report.conflicts
    relative = f"quarantine/{item.name}.quarantine.csv"
    if report.quarantined:
        target = staged.file(relative, rows=report.quarantined)
        key = ("event_id",) if table == "access" else item.spec.key
        problems = write_quarantine(con, item.spec, target, item.name, bad, key)
        report.problems = problems[:MAX_PROBLEMS]
        digest = sha256_file(target)
        stored = _stored_path(snapshot, relative, digest)
        if stored:  # the same rows were quarantined by an earlier batch
            target.unlink()
            report.quarantine_path = stored
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


def _write_access(
    con: duckdb.DuckDBPyConnection,
    stage_dir: Path,
    good: list[Path],
    staged: StagedBatch,
    snapshot: Snapshot,
    report: FileReport,
    key_hashes: np.ndarray | None = None,
) -> bool:
    index = stage_dir / "index.parquet"
    skipped = find_duplicates(con, snapshot, key_hashes, index)
    report.duplicates, report.conflicts = run(
        con,
        "SELECT coalesce(count_if(status = 'duplicate'), 0), "
        "coalesce(count_if(status = 'conflict'), 0) FROM skip",
    )[0]
    target = staged.path / "access"
    if not skipped:
        # The common case: every staged file moves into the batch as it is.
        report.kept = run(con, "SELECT count(*) FROM good")[0][0]
        moved = move_partitions(stage_dir / "good", target)
        run(
            con,
            "CREATE OR REPLACE VIEW good AS SELECT * FROM "
            f"read_parquet({_files_sql(moved or good)}, hive_partitioning=false)",
        )
    else:
        report.kept = run(
            con,
            f"""COPY (SELECT {ACCESS_COLUMNS}, occurred_date AS date FROM good
                ANTI JOIN skip USING (source_line))
            TO {lit(str(target))} (FORMAT parquet, PARTITION_BY (date),
                FILENAME_PATTERN 'part-{{i}}', COMPRESSION snappy, ROW_GROUP_SIZE 500000)""",
        )[0][0]
    if report.kept:
        # The batch's key index: the staged one, without the skipped rows.
        target_index = staged.file(KEY_INDEX)
        if not skipped:
            os.rename(index, target_index)
        else:
            run(
                con,
                f"COPY (SELECT key, row_hash, source_line FROM read_parquet({lit(str(index))}) "
                "ANTI JOIN skip USING (source_line) ORDER BY source_line) "
                f"TO {lit(str(target_index))} (FORMAT parquet, COMPRESSION snappy, "
                f"KV_METADATA {{{KEY_HASH_META.decode()}: {lit(key_hash_probe(con))}}})",
            )
    report.invalid_ids = run(
        con,
        "SELECT count(*) FROM good ANTI JOIN skip USING (source_line) WHERE NOT subject_id_valid",
    )[0][0]
    for line, value in run(
        con,
        "SELECT source_line, subject_id FROM good WHERE NOT subject_id_valid "
        f"ORDER BY source_line LIMIT {MAX_PROBLEMS}",
    ):
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


def _table_digest(row_hashes: list[pa.Array]) -> str:
    """SHA-256 over the sorted 16-byte row hashes (MD5): the same rows in any order give the
    same digest. Sorted in numpy as pairs of big-endian 64-bit words (the same order as the
    bytes), not concatenated in SQL."""
    digest = hashlib.sha256()
    parts = []
    for hashes in row_hashes:
        count = len(hashes)
        if not count:
            continue
        width = np.int64 if pa.types.is_large_binary(hashes.type) else np.int32
        offsets = np.frombuffer(hashes.buffers()[1], dtype=width)[hashes.offset :]
        start = int(offsets[0])
        assert int(offsets[count]) - start == 16 * count, "row hashes must be 16 bytes"
        parts.append(np.frombuffer(hashes.buffers()[2], dtype=np.uint8)[start : start + 16 * count])
    raw = np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint8)
    count = len(raw) // 16
    if count:
        words = raw.view(">u8").reshape(count, 2)
        high = words[:, 0].astype(np.uint64)  # native byte order: a fast radix-able sort
        order = np.argsort(high, kind="stable")
        if np.any(high[order][1:] == high[order][:-1]):  # equal first halves: full order
            order = np.lexsort((words[:, 1], words[:, 0]))
        digest.update(raw.reshape(count, 16)[order].tobytes())
    digest.update(str(count).encode())
    return digest.hexdigest()


def _write_reference(
    con: duckdb.DuckDBPyConnection,
    spec: FileSpec,
    stage_dir: Path,
    staged: StagedBatch,
    snapshot: Snapshot,
    report: FileReport,
    source: dict[str, str] | None,
    collected: Staged | None = None,
) -> bool:
    duplicate_keys(con, spec, "__row_hash", None if collected is None else collected.keys)
    report.duplicates, report.conflicts = run(
        con,
        "SELECT coalesce(count_if(status = 'duplicate'), 0), "
        "coalesce(count_if(status = 'conflict'), 0) FROM skip",
    )[0]
    run(
        con,
        "CREATE OR REPLACE TEMP VIEW kept AS SELECT * FROM good ANTI JOIN skip USING (source_line)",
    )
    skipped = report.duplicates + report.conflicts
    hashes = None
    if collected is not None and not skipped:
        # Nothing skipped: the row hashes collected while staging are those of `kept`.
        hashes = collected.row_hashes
        report.kept = sum(len(chunk) for chunk in hashes)
    else:
        report.kept = run(con, "SELECT count(*) FROM kept")[0][0]
    scratch = stage_dir / "rows.parquet"  # the usable rows in file order, as staged
    if report.duplicates or report.conflicts:
        scratch = stage_dir / "kept.parquet"
        columns = ", ".join(q(name) for name in spec.names)
        run(con, "SET preserve_insertion_order=true")  # keep the file's row order, no sort
        reader = con.sql(f"SELECT {columns} FROM kept").to_arrow_reader(REF_BATCH)
        with pq.ParquetWriter(scratch, reader.schema, compression="zstd") as out:
            for batch in reader:
                out.write_batch(batch, row_group_size=REF_BATCH)
        run(con, "SET preserve_insertion_order=false")
    if hashes is None:
        hashes = con.sql("SELECT __row_hash FROM kept").to_arrow_table().column(0).chunks
    digest = _table_digest(hashes)
    current = snapshot.reference_entry(spec.table)
    if current is not None and current.get("table_sha256") == digest:
        report.unchanged = True
        return False
    if report.kept == 0 and current is None and report.rows_read > 0:
        return False  # nothing usable: the quarantine says why
    meta: dict[str, object] = {"table": spec.table, "table_sha256": digest}
    if source is not None and not report.duplicates and not report.conflicts:
        meta["source_input"] = source  # lets a later ingest of the same bytes skip parsing
    target = staged.file(f"ref/{spec.table}.parquet", **meta)
    os.replace(scratch, target)
    if scratch.name == "rows.parquet":  # `good` (read for the quarantine) follows the file
        _good_view(con, target, stage_dir / "keys.parquet")
    return True


def _good_view(con: duckdb.DuckDBPyConnection, rows: Path, keys: Path) -> None:
    """View `good` of a reference file: its usable rows and, row for row, their lines and
    row hashes (two files written in step, joined by position)."""
    run(
        con,
        f"CREATE OR REPLACE VIEW good AS SELECT * FROM read_parquet({lit(str(rows))}) "
        f"POSITIONAL JOIN read_parquet({lit(str(keys))})",
    )
