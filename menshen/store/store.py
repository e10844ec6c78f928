"""The evidence store: append-only batches under one directory, committed by one atomic
rename of manifest.jsonl. See docs/architecture.md §1 and docs/store.md.

Commit protocol (crash-safe at every step, under the fcntl lock on <home>/.lock):
1. a batch is built in .staging/<batch_id>/ (work files in .staging/<batch_id>.work/);
2. every file is fsynced, a `.pending` marker is written, the directory is renamed to
   batches/<batch_id>/;
3. the new manifest is written to .staging/manifest.jsonl.tmp, fsynced and renamed over
   manifest.jsonl — this rename is the commit;
4. the `.pending` marker is removed.
A writer that starts recovers first: it empties .staging, removes batch directories that are
not in the manifest and carry `.pending` (killed between 2 and 3), and removes stale markers
of committed batches (killed between 3 and 4). Readers only read the manifest, so they never
see a batch before step 3.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import re
import shutil
import uuid
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from menshen.config import menshen_home
from menshen.store.manifest import (
    GENESIS,
    MANIFEST,
    dump_lines,
    read_manifest,
    seal,
    sha256_file,
)

PENDING = ".pending"
KEY_INDEX = "index/access-keys.parquet"  # an ingest batch's key index (menshen.store.stage)
DATE_DIR = re.compile(r"/date=(\d{4}-\d{2}-\d{2})/")


class StoreBusy(Exception):
    """Another process holds the store's lock (and the caller asked not to wait)."""


@dataclass(frozen=True)
class Snapshot:
    """The store as committed when the snapshot was taken; later commits are not seen."""

    home: Path
    batches: tuple[dict[str, Any], ...]

    def _files(self, kind: str, folder: str) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        for batch in self.batches:
            if batch.get("kind") != kind:
                continue
            prefix = f"batches/{batch['batch_id']}/{folder}/"
            for entry in batch.get("files", []):
                if entry["path"].startswith(prefix):
                    yield batch, entry

    @property
    def access_files(self) -> list[Path]:
        return [self.home / e["path"] for _, e in self._files("ingest", "access")]

    def access_key_indexes(self) -> tuple[list[Path], list[Path]]:
        """(key index of every ingest batch that has one, the look-up files of those that
        have look-ups but no index). See menshen.store.stage.KeyIndex."""
        indexes: list[Path] = []
        unindexed: list[Path] = []
        for batch in self.batches:
            if batch.get("kind") != "ingest":
                continue
            prefix = f"batches/{batch['batch_id']}/"
            paths = [e["path"] for e in batch.get("files", [])]
            if prefix + KEY_INDEX in paths:
                indexes.append(self.home / (prefix + KEY_INDEX))
            else:
                unindexed.extend(self.home / p for p in paths if p.startswith(prefix + "access/"))
        return indexes, unindexed

    def _access_dates(self) -> Iterator[tuple[dict[str, Any], dict[str, Any], dt.date]]:
        """(batch, file entry, date) of every look-up file (one date per file)."""
        for batch, entry in self._files("ingest", "access"):
            match = DATE_DIR.search(entry["path"])
            if match:
                yield batch, entry, dt.date.fromisoformat(match.group(1))

    def access_files_between(
        self, start: dt.date, end: dt.date, skip: Collection[dt.date] = ()
    ) -> list[Path]:
        """The look-up files of the dates in [start, end] but those in `skip`."""
        return [
            self.home / entry["path"]
            for _, entry, day in self._access_dates()
            if start <= day <= end and day not in skip
        ]

    def reference_entry(self, table: str) -> dict[str, Any] | None:
        latest = None
        for _, entry in self._files("ingest", "ref"):
            if entry.get("table") == table:
                latest = entry
        return latest

    def reference(self, table: str) -> Path | None:
        entry = self.reference_entry(table)
        return None if entry is None else self.home / entry["path"]

    def derived(self, table: str) -> list[Path]:
        for batch in reversed(self.batches):
            if batch.get("kind") != "detect":
                continue
            prefix = f"batches/{batch['batch_id']}/derived/{table}."
            paths = [self.home / e["path"] for e in batch["files"] if e["path"].startswith(prefix)]
            if paths:
                return paths
        return []

    def derived_all(self, table: str) -> list[tuple[dict[str, Any], Path]]:
        """(batch entry, path) of `table` in every detect batch, oldest first — for readers
        that merge detect runs over different date ranges (later ones win per date)."""
        found = []
        for batch, entry in self._files("detect", "derived"):
            if entry["path"].startswith(f"batches/{batch['batch_id']}/derived/{table}."):
                found.append((batch, self.home / entry["path"]))
        return found

    def stored_explanations(
        self, start: dt.date, end: dt.date, version: str
    ) -> dict[Path, list[dt.date]]:
        """The dates of [start, end] whose explanations an earlier detect run stored and a
        run now may read instead of explaining them again, by file: the latest run that
        covered the date, made by explanation code and settings `version`, after the last
        look-ups of that date were ingested. Other dates are not in the result."""
        last_ingest: dict[dt.date, int] = {}
        for batch, _, day in self._access_dates():
            last_ingest[day] = max(last_ingest.get(day, 0), int(batch["seq"]))
        latest: dict[dt.date, tuple[int, dict[str, Any], Path]] = {}
        for batch, entry in self._files("detect", "derived"):
            if not entry["path"].endswith("/derived/explanations.parquet"):
                continue
            path = self.home / entry["path"]
            try:
                first = dt.date.fromisoformat(entry["range_start"])
                last = dt.date.fromisoformat(entry["range_end"])
            except (KeyError, TypeError, ValueError):
                continue  # a run of an older menshen: its range is not recorded
            day = max(first, start)
            while day <= min(last, end):
                latest[day] = (int(batch["seq"]), entry, path)
                day += dt.timedelta(days=1)
        found: dict[Path, list[dt.date]] = {}
        for day, (seq, entry, path) in sorted(latest.items()):
            if entry.get("explain_version") == version and seq > last_ingest.get(day, 0):
                found.setdefault(path, []).append(day)
        return found

    def summaries_beside(self, derived: Path) -> dict[str, Path]:
        """The summaries (summaries/<name>.parquet, Store.write_derived) committed in the
        same detect batch as a derived file, by name; {} when it has none."""
        relative = derived.relative_to(self.home).as_posix()
        found: dict[str, Path] = {}
        for batch, entry in self._files("detect", "summaries"):
            if any(e["path"] == relative for e in batch.get("files", [])):
                found[Path(entry["path"]).stem] = self.home / entry["path"]
        return found

    def quarantine_files(self) -> list[Path]:
        return [self.home / e["path"] for _, e in self._files("ingest", "quarantine")]

    @property
    def chain_hash(self) -> str | None:
        return self.batches[-1]["hash"] if self.batches else None

    @property
    def rows(self) -> int:
        return sum(int(b.get("rows", 0)) for b in self.batches if b.get("kind") == "ingest")

    def date_range(self) -> tuple[dt.date, dt.date] | None:
        dates = [day for _, _, day in self._access_dates()]
        return (min(dates), max(dates)) if dates else None


@dataclass
class StagedBatch:
    """A batch being built; `meta` adds keys (table, table_sha256) to a file's entry."""

    seq: int
    kind: str
    batch_id: str
    path: Path  # .staging/<batch_id>
    work: Path  # .staging/<batch_id>.work — scratch space, never committed
    meta: dict[str, dict[str, Any]] = field(default_factory=dict)

    def file(self, relative: str, **meta: Any) -> Path:
        target = self.path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if meta:
            self.meta[relative] = meta
        return target


class Store:
    def __init__(self, home: str | os.PathLike[str] | None = None):
        self.home = menshen_home(home)

    @property
    def manifest_path(self) -> Path:
        return self.home / MANIFEST

    @property
    def staging(self) -> Path:
        return self.home / ".staging"

    @property
    def batches_dir(self) -> Path:
        return self.home / "batches"

    def snapshot(self) -> Snapshot:
        return Snapshot(self.home, tuple(read_manifest(self.home)))

    @contextmanager
    def writer(
        self, wait: bool = True, on_wait: Callable[[], None] | None = None
    ) -> Iterator[Writer]:
        """Hold the store's lock; recover leftovers of an interrupted writer first."""
        self.home.mkdir(parents=True, exist_ok=True)
        handle = (self.home / ".lock").open("a+")
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if not wait:
                    raise StoreBusy(str(self.home)) from None
                if on_wait:
                    on_wait()
                fcntl.flock(handle, fcntl.LOCK_EX)
            self.recover()
            yield Writer(self)
        finally:
            handle.close()  # releases the lock

    def recover(self) -> list[str]:
        """Remove what an interrupted writer left; call only while holding the lock."""
        removed: list[str] = []
        if self.staging.exists():
            for item in self.staging.iterdir():
                _remove(item)
                removed.append(str(item.relative_to(self.home)))
        committed = {b.get("batch_id") for b in read_manifest(self.home)}
        if self.batches_dir.exists():
            for batch_dir in self.batches_dir.iterdir():
                marker = batch_dir / PENDING
                if batch_dir.name in committed:
                    if marker.exists():
                        marker.unlink()
                elif marker.exists():
                    shutil.rmtree(batch_dir)
                    removed.append(str(batch_dir.relative_to(self.home)))
        return removed

    def write_derived(
        self,
        tables: dict[str, pa.Table],
        source: str,
        wait: bool = True,
        meta: dict[str, dict[str, Any]] | None = None,
        summaries: dict[str, pa.Table] | None = None,
    ) -> dict[str, Any]:
        """Commit a `detect` batch holding derived/<table>.parquet for each table; `meta`
        adds keys to a table's file entry in the manifest. `summaries`: the run's per-day
        summaries (menshen.detect.summaries), as summaries/<name>.parquet; they are not
        counted in the batch's rows."""
        with self.writer(wait=wait) as writer:
            staged = writer.new_batch("detect")
            for name, table in sorted(tables.items()):
                target = staged.file(f"derived/{name}.parquet", **(meta or {}).get(name, {}))
                pq.write_table(table, target, compression="zstd")
            for name, table in sorted((summaries or {}).items()):
                pq.write_table(table, staged.file(f"summaries/{name}.parquet"), compression="zstd")
            return writer.commit(staged, source, rows_from="derived")

    def ingest(self, folder: str | os.PathLike[str], **options: Any) -> Any:
        """See menshen.store.ingest.ingest."""
        from menshen.store.ingest import ingest

        return ingest(self, Path(folder), **options)


class Writer:
    """Granted by Store.writer(); builds and commits batches."""

    def __init__(self, store: Store):
        self.store = store
        self.snapshot = store.snapshot()

    def new_batch(self, kind: str) -> StagedBatch:
        seq = len(self.snapshot.batches) + 1
        batch_id = f"{seq:06d}-{kind}-{uuid.uuid4().hex[:8]}"
        path = self.store.staging / batch_id
        work = self.store.staging / f"{batch_id}.work"
        path.mkdir(parents=True)
        work.mkdir(parents=True)
        return StagedBatch(seq, kind, batch_id, path, work)

    def discard(self, staged: StagedBatch) -> None:
        _remove(staged.path)
        _remove(staged.work)

    def commit(self, staged: StagedBatch, source: str, rows_from: str = "access") -> dict[str, Any]:
        _remove(staged.work)
        files = []
        rows = 0
        paths = sorted(p for p in staged.path.rglob("*") if p.is_file())
        # Hashing and fsyncing release the GIL: two files at a time.
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="seal") as pool:
            sealed = list(pool.map(_seal_file, paths))
        for path, (count, digest) in zip(paths, sealed, strict=True):
            relative = path.relative_to(staged.path).as_posix()
            entry: dict[str, Any] = {
                "path": f"batches/{staged.batch_id}/{relative}",
                "rows": count,
                "sha256": digest,
            }
            entry.update(staged.meta.get(relative, {}))
            files.append(entry)
            if relative.startswith(rows_from + "/"):
                rows += entry["rows"]
        for folder in sorted({p.parent for p in staged.path.rglob("*")} | {staged.path}):
            _fsync_dir(folder)
        previous = self.snapshot.batches
        entry = seal(
            {
                "seq": staged.seq,
                "batch_id": staged.batch_id,
                "kind": staged.kind,
                "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "source": source,
                "files": files,
                "rows": rows,
            },
            previous[-1]["hash"] if previous else GENESIS,
        )
        store = self.store
        (staged.path / PENDING).write_bytes(b"")
        _fsync_dir(staged.path)
        store.batches_dir.mkdir(exist_ok=True)
        final = store.batches_dir / staged.batch_id
        os.rename(staged.path, final)
        _fsync_dir(store.batches_dir)
        tmp = store.staging / "manifest.jsonl.tmp"
        with tmp.open("wb") as handle:
            handle.write(dump_lines([*previous, entry]))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, store.manifest_path)  # the commit
        _fsync_dir(store.home)
        (final / PENDING).unlink()
        self.snapshot = store.snapshot()
        return entry


def _seal_file(path: Path) -> tuple[int, str]:
    """(rows, SHA-256) of a staged file, made durable."""
    digest = sha256_file(path)
    _fsync(path)
    return _row_count(path), digest


def _row_count(path: Path) -> int:
    if path.suffix == ".parquet":
        return pq.read_metadata(path).num_rows
    return 0  # other files (quarantine CSV) give their row count through StagedBatch.meta


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # some filesystems refuse directory fsync
        _fsync(path)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()
