"""The evidence store: idempotent ingest, conflicts, reference versions, verify, snapshots,
locking and recovery."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datasets import ACCESS_HEADER, access_rows, make_dataset, write_csv
from store_testing import run

from menshen.store import Store, StoreBusy
from menshen.store.manifest import entry_hash, read_manifest
from menshen.store.stage import KeyIndex
from menshen.store.verify import verify_store


def test_ingest_then_reingest_adds_nothing(dataset: Path, home: Path) -> None:
    code, output = run("ingest", dataset, "--home", home)
    assert code == 0, output
    assert "已提交批次 / committed batch: 000001-ingest-" in output
    assert "讀取 read 300, 保留 kept 300" in output
    before = (home / "manifest.jsonl").read_bytes()
    code, output = run("ingest", dataset, "--home", home)
    assert code == 0
    assert "nothing new" in output
    assert "重複略過 duplicates 300" in output
    assert (home / "manifest.jsonl").read_bytes() == before
    assert Store(home).snapshot().rows == 300


def test_new_rows_are_appended_and_old_ones_skipped(dataset: Path, home: Path) -> None:
    run("ingest", dataset, "--home", home)
    rows = access_rows(300, seed=1) + access_rows(50, seed=2, start=300)
    write_csv(dataset / "access.csv", ACCESS_HEADER, rows)
    code, output = run("ingest", dataset, "--home", home)
    assert code == 0
    assert "保留 kept 50" in output and "重複略過 duplicates 300" in output
    snap = Store(home).snapshot()
    assert [b["rows"] for b in snap.batches] == [300, 50]
    assert snap.batches[1]["prev_hash"] == snap.batches[0]["hash"]


def test_changed_event_is_a_conflict_and_never_overwrites(dataset: Path, home: Path) -> None:
    run("ingest", dataset, "--home", home)
    rows = access_rows(300, seed=1)
    rows[9][3] = "someone-else"  # the account of E0000009 changes
    write_csv(dataset / "access.csv", ACCESS_HEADER, rows)
    code, output = run("ingest", dataset, "--home", home)
    assert code == 4
    assert "衝突 conflicts 1" in output
    assert (
        "access.csv:11:event_id 'E0000009' — 與證據庫中同一系統、同一事件編號的紀錄內容不同"
        in output
    )
    assert "000001-ingest-" in output  # names the batch holding the stored version
    snap = Store(home).snapshot()
    stored = [r for p in snap.access_files for r in pq.read_table(p).to_pylist()]
    assert [r["account"] for r in stored if r["event_id"] == "E0000009"] != ["someone-else"]
    assert len(stored) == 300


def test_reference_tables_are_versioned_only_when_they_change(dataset: Path, home: Path) -> None:
    run("ingest", dataset, "--home", home)
    first = Store(home).snapshot().reference("units")
    # Same content in another row order: the same version.
    lines = (dataset / "units.csv").read_text(encoding="utf-8").splitlines()
    (dataset / "units.csv").write_text(
        "\n".join([lines[0], *reversed(lines[1:])]) + "\n", encoding="utf-8"
    )
    code, output = run("ingest", dataset, "--home", home)
    assert "nothing new" in output
    with (dataset / "units.csv").open("a", encoding="utf-8") as handle:
        handle.write("U3,政風室,U1\n")
    code, output = run("ingest", dataset, "--home", home)
    assert code == 0
    snap = Store(home).snapshot()
    assert len(snap.batches) == 2
    latest = snap.reference("units")
    assert latest != first
    assert pq.read_table(latest).column("name").to_pylist()[-1] == "政風室"
    assert snap.reference("staff") == Store(home).snapshot().reference("staff")
    assert "batches/000001-" in str(snap.reference("staff"))


def test_reference_types_follow_the_architecture(dataset: Path, home: Path) -> None:
    run("ingest", dataset, "--home", home)
    snap = Store(home).snapshot()
    staff = pq.read_schema(snap.reference("staff"))
    assert staff.field("active_from").type == pa.date32()
    accounts = pq.read_schema(snap.reference("accounts"))
    assert accounts.field("granted_at").type == pa.timestamp("us")
    purposes = pq.read_schema(snap.reference("purposes"))
    assert purposes.field("window_before_days").type == pa.int64()
    access = pq.read_schema(snap.access_files[0])
    assert access.field("occurred_at").type == pa.timestamp("us")
    assert access.field("occurred_date").type == pa.date32()
    assert access.field("subject_id_valid").type == pa.bool_()
    assert all("/access/date=" in str(p) for p in snap.access_files)


def test_snapshot_access_files_between_dates(dataset: Path, home: Path) -> None:
    import datetime as dt

    run("ingest", dataset, "--home", home)
    snap = Store(home).snapshot()
    assert len(snap.access_files) == 5  # 2025-03-03 .. 07
    picked = snap.access_files_between(dt.date(2025, 3, 4), dt.date(2025, 3, 5))
    assert sorted(p.parent.name for p in picked) == ["date=2025-03-04", "date=2025-03-05"]
    assert snap.date_range() == (dt.date(2025, 3, 3), dt.date(2025, 3, 7))


def test_write_derived_commits_a_detect_batch(dataset: Path, home: Path) -> None:
    store = Store(home)
    run("ingest", dataset, "--home", home)
    findings = pa.table({"finding_id": ["f1"], "report_date": pa.array([None], pa.date32())})
    store.write_derived({"findings": findings}, source="detect 2025-03-03..2025-03-07")
    snap = store.snapshot()
    assert snap.batches[-1]["kind"] == "detect"
    [path] = snap.derived("findings")
    assert pq.read_table(path).equals(findings)
    assert snap.derived("explanations") == []
    assert [p for _, p in snap.derived_all("findings")] == [path]
    assert verify_store(home).ok


# --- verify -----------------------------------------------------------------------------


@pytest.fixture
def two_batches(dataset: Path, home: Path) -> Path:
    run("ingest", dataset, "--home", home)
    write_csv(dataset / "access.csv", ACCESS_HEADER, access_rows(20, seed=3, start=1000))
    run("ingest", dataset, "--home", home)
    assert len(read_manifest(home)) == 2
    return home


def test_verify_passes_on_a_clean_store(two_batches: Path) -> None:
    code, output = run("verify", "--home", two_batches)
    assert code == 0
    assert "證據庫完整 / store intact: 2 個批次 batches" in output


def _second_batch(home: Path) -> str:
    return read_manifest(home)[1]["batch_id"]


def test_verify_names_the_batch_of_a_flipped_byte(two_batches: Path) -> None:
    batch = _second_batch(two_batches)
    target = next((two_batches / "batches" / batch).rglob("*.parquet"))
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    code, output = run("verify", "--home", two_batches)
    assert code == 1
    assert f"batch {batch}: 檔案遭修改（SHA-256 不符）/ altered file" in output
    assert target.relative_to(two_batches).as_posix() in output


def test_verify_names_a_deleted_file(two_batches: Path) -> None:
    batch = read_manifest(two_batches)[0]["batch_id"]
    target = two_batches / "batches" / batch / "ref" / "staff.parquet"
    target.unlink()
    code, output = run("verify", "--home", two_batches)
    assert code == 1
    assert f"batch {batch}: 檔案遺失 / missing file batches/{batch}/ref/staff.parquet" in output


def test_verify_names_an_added_file_and_an_added_batch(two_batches: Path) -> None:
    batch = _second_batch(two_batches)
    (two_batches / "batches" / batch / "access" / "extra.parquet").write_bytes(b"PAR1")
    (two_batches / "batches" / "000003-ingest-deadbeef").mkdir()
    code, output = run("verify", "--home", two_batches)
    assert code == 1
    assert f"batch {batch}: 多出的檔案 / extra file batches/{batch}/access/extra.parquet" in output
    assert "batch 000003-ingest-deadbeef: 多出的批次" in output


def test_verify_detects_an_edited_manifest(two_batches: Path) -> None:
    path = two_batches / "manifest.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    first["rows"] += 1
    lines[0] = json.dumps(first, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, output = run("verify", "--home", two_batches)
    assert code == 1
    assert f"batch {first['batch_id']}: 清單內容遭修改（hash 不符）" in output


def test_verify_detects_an_edit_that_recomputes_the_line_hash(two_batches: Path) -> None:
    path = two_batches / "manifest.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    first["source"] = "/elsewhere"
    first["hash"] = entry_hash(first)
    lines[0] = json.dumps(first, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, output = run("verify", "--home", two_batches)
    assert code == 1
    second = _second_batch(two_batches)
    assert f"batch {second}: 雜湊鏈斷裂" in output


def test_verify_detects_reordered_batches(two_batches: Path) -> None:
    path = two_batches / "manifest.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([lines[1], lines[0]]) + "\n", encoding="utf-8")
    code, output = run("verify", "--home", two_batches)
    assert code == 1
    assert "順序錯誤" in output and "out of order" in output


def test_verify_reports_a_corrupt_manifest_line(two_batches: Path) -> None:
    path = two_batches / "manifest.jsonl"
    path.write_text(path.read_text(encoding="utf-8")[:-20] + "\n", encoding="utf-8")
    code, output = run("verify", "--home", two_batches)
    assert code == 1
    assert "manifest.jsonl:2: 不是有效的 JSON" in output


def test_status_prints_batches_rows_and_dates(two_batches: Path) -> None:
    code, output = run("status", "--home", two_batches)
    assert code == 0
    assert "批次 / batches: 2" in output
    assert "查詢紀錄 / look-ups: 320" in output
    assert "日期範圍 / date range: 2025-03-03 – 2025-03-07" in output


# --- crash safety, locking, snapshots ----------------------------------------------------


def test_a_crash_just_before_the_manifest_rename_leaves_the_store_as_before(
    dataset: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(home)
    run("ingest", dataset, "--home", home)
    before = (home / "manifest.jsonl").read_bytes()
    write_csv(dataset / "access.csv", ACCESS_HEADER, access_rows(10, seed=5, start=5000))

    def crash(*args: object) -> None:
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr("menshen.store.store.os.replace", crash)
    with pytest.raises(KeyboardInterrupt):
        store.ingest(dataset)
    monkeypatch.undo()
    assert (home / "manifest.jsonl").read_bytes() == before
    leftovers = [p for p in (home / "batches").iterdir() if (p / ".pending").exists()]
    assert len(leftovers) == 1  # moved into place, never committed
    result = verify_store(home)
    assert result.ok and "interrupted" in " ".join(result.notes)
    assert store.snapshot().rows == 300
    report = store.ingest(dataset)  # recovers, then commits
    assert report.batch_id and report.files[0].kept == 10
    assert not leftovers[0].exists()
    assert verify_store(home).ok


def test_no_wait_on_a_busy_store_exits_5(dataset: Path, home: Path) -> None:
    store = Store(home)
    with store.writer():
        code, output = run("ingest", dataset, "--home", home, "--no-wait")
        with pytest.raises(StoreBusy):
            store.ingest(dataset, wait=False)
    assert code == 5
    assert "證據庫忙碌中" in output and "busy" in output
    assert store.snapshot().batches == ()


def test_a_waiting_ingest_says_so_and_runs_after_the_lock_is_released(
    dataset: Path, home: Path
) -> None:
    store = Store(home)
    messages: list[str] = []
    results: list[object] = []
    with store.writer():
        worker = threading.Thread(
            target=lambda: results.append(
                store.ingest(dataset, on_wait=lambda: messages.append("wait"))
            )
        )
        worker.start()
        time.sleep(0.5)
        assert messages == ["wait"] and not results
    worker.join(60)
    assert results and store.snapshot().rows == 300


def test_two_concurrent_ingests_are_serialised(tmp_path: Path, home: Path) -> None:
    first = make_dataset(tmp_path / "a", events=3000, seed=1)
    second = make_dataset(tmp_path / "b", events=3000, seed=1)
    write_csv(second / "access.csv", ACCESS_HEADER, access_rows(3000, seed=9, start=100_000))
    env = dict(os.environ, PYTHONPATH=str(Path.cwd()))
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "menshen.cli", "ingest", str(folder), "--home", str(home)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        for folder in (first, second)
    ]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    entries = read_manifest(home)
    assert [e["seq"] for e in entries] == [1, 2]
    assert sum(e["rows"] for e in entries) == 6000
    assert verify_store(home).ok


def test_a_reader_snapshot_is_unaffected_by_a_later_ingest(dataset: Path, home: Path) -> None:
    store = Store(home)
    store.ingest(dataset)
    snap = store.snapshot()
    files = list(snap.access_files)
    write_csv(dataset / "access.csv", ACCESS_HEADER, access_rows(40, seed=4, start=9000))
    store.ingest(dataset)
    assert snap.access_files == files
    assert sum(pq.read_metadata(p).num_rows for p in snap.access_files) == 300
    assert store.snapshot().rows == 340


def test_store_does_not_create_anything_until_written(home: Path) -> None:
    snap = Store(home).snapshot()
    assert snap.batches == () and snap.chain_hash is None and snap.reference("staff") is None
    assert not home.exists()


def test_verify_refuses_a_folder_without_a_store(tmp_path: Path) -> None:
    code, output = run("verify", "--home", tmp_path / "nothing")
    assert code == 1
    assert "找不到證據庫 / no evidence store here" in output


def test_a_dataset_folder_that_does_not_exist_is_an_input_error(tmp_path: Path) -> None:
    code, output = run("ingest", tmp_path / "missing", "--home", tmp_path / "store")
    assert code == 3
    assert "資料夾不存在 / dataset folder not found" in output


def test_cells_are_trimmed_of_ascii_and_full_width_spaces(tmp_path: Path, home: Path) -> None:
    """Spaces around a value (also the full-width U+3000 and U+00A0) are not part of it;
    the subject id is checked after trimming and upper-casing."""
    folder = make_dataset(tmp_path / "dataset", events=3)
    rows = access_rows(3)
    padded = [list(row) for row in rows]
    padded[0][3] = "\u3000" + rows[0][3] + "\u3000"  # account
    padded[1][7] = " " + (rows[1][7] or "戶籍謄本申請") + "\u00a0"  # purpose_text
    padded[1][3] = "\t" + rows[1][3]  # a tab is kept as it is
    padded[2][4] = "  " + rows[2][4].lower() + " "  # subject_id
    write_csv(folder / "access.csv", ACCESS_HEADER, padded)
    code, output = run("ingest", folder, "--home", home)
    assert code == 0, output
    table = pq.read_table(Store(home).snapshot().access_files).to_pylist()
    stored = {row["event_id"]: row for row in table}
    assert stored["E0000000"]["account"] == rows[0][3]
    assert stored["E0000001"]["purpose_text"] == (rows[1][7] or "戶籍謄本申請")
    assert stored["E0000001"]["account"] == "\t" + rows[1][3]
    assert stored["E0000002"]["subject_id"] == rows[2][4]
    assert stored["E0000002"]["subject_id_valid"]


# --- key index (index/access-keys.parquet) -------------------------------------------------


def test_an_ingest_batch_lists_its_key_index_and_verify_covers_it(
    dataset: Path, home: Path
) -> None:
    run("ingest", dataset, "--home", home)
    snap = Store(home).snapshot()
    indexes, unindexed = snap.access_key_indexes()
    assert len(indexes) == 1 and unindexed == []
    listed = [e["path"] for e in snap.batches[0]["files"]]
    assert f"batches/{snap.batches[0]['batch_id']}/index/access-keys.parquet" in listed
    index = pq.read_table(indexes[0])
    assert index.column_names == ["key", "row_hash", "source_line"]
    assert index.num_rows == snap.rows == 300
    stored = pa.concat_tables([pq.read_table(p) for p in snap.access_files])
    lines, hashes = stored["source_line"].to_pylist(), stored["row_hash"].to_pylist()
    by_line = dict(zip(lines, hashes, strict=True))
    lines, digests = index["source_line"].to_pylist(), index["row_hash"].to_pylist()
    for line, digest in zip(lines, digests, strict=True):
        assert digest.hex() == by_line[line]  # the stored MD5, as 16 bytes
    with indexes[0].open("r+b") as handle:
        handle.seek(8)
        byte = handle.read(1)
        handle.seek(8)
        handle.write(bytes([byte[0] ^ 1]))
    result = verify_store(home)
    assert not result.ok and "index/access-keys.parquet" in " ".join(result.problems)


def test_the_key_index_of_a_batch_with_skipped_rows_holds_only_the_kept_ones(
    dataset: Path, home: Path
) -> None:
    run("ingest", dataset, "--home", home)
    rows = access_rows(300, seed=1) + access_rows(20, seed=2, start=300)
    write_csv(dataset / "access.csv", ACCESS_HEADER, rows)
    run("ingest", dataset, "--home", home)
    indexes, _ = Store(home).snapshot().access_key_indexes()
    assert [pq.read_metadata(p).num_rows for p in indexes] == [300, 20]
    probes = {pq.read_schema(p).metadata[b"menshen_key_hash"] for p in indexes}
    assert len(probes) == 1  # the rewritten index (rows skipped) carries it too
    code, output = run("ingest", dataset, "--home", home)
    assert code == 0 and "重複略過 duplicates 320" in output and "nothing new" in output


def test_batches_without_a_key_index_are_still_checked(
    dataset: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run("ingest", dataset, "--home", home)
    snap = Store(home).snapshot()
    monkeypatch.setattr(
        "menshen.store.store.Snapshot.access_key_indexes",
        lambda self: ([], [p for p in self.access_files]),
    )
    rows = access_rows(300, seed=1)
    rows[9][3] = "someone-else"
    write_csv(dataset / "access.csv", ACCESS_HEADER, rows)
    report = Store(home).ingest(dataset)
    access = report.files[0]
    assert (access.duplicates, access.conflicts) == (299, 1)
    assert snap.rows == Store(home).snapshot().rows == 300


def test_a_key_hash_shared_by_two_keys_is_not_taken_for_the_same_event(
    dataset: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Make every stored key hash equal to the new rows' ones: the index then finds a
    "match" with another row hash for every new row, and only the comparison of
    (system, event_id) on the stored look-ups may decide."""
    run("ingest", dataset, "--home", home)
    snap = Store(home).snapshot()
    [index] = snap.access_key_indexes()[0]
    table = pq.read_table(index)
    write_csv(dataset / "access.csv", ACCESS_HEADER, access_rows(40, seed=3, start=1000))
    forged = table.set_column(0, "key", pa.array([0] * table.num_rows, pa.uint64()))
    pq.write_table(forged, index)
    real_write = KeyIndex.write

    def zero_keys(self: KeyIndex, keys: np.ndarray, rows: pa.Table) -> None:
        real_write(self, np.zeros(len(keys), dtype=np.uint64), rows)

    monkeypatch.setattr("menshen.store.stage.KeyIndex.write", zero_keys)
    report = Store(home).ingest(dataset)
    access = report.files[0]
    assert (access.kept, access.duplicates, access.conflicts) == (40, 0, 0)


def test_a_key_index_hashed_by_another_duckdb_is_not_used(
    dataset: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run("ingest", dataset, "--home", home)
    [index] = Store(home).snapshot().access_key_indexes()[0]
    assert pq.read_schema(index).metadata[b"menshen_key_hash"].startswith(b"[")
    # As if DuckDB's hash() had changed: the probe no longer matches the stored one.
    monkeypatch.setattr("menshen.store.dedup.key_hash_probe", lambda con: "[1]")
    rows = access_rows(300, seed=1)
    rows[9][3] = "someone-else"
    write_csv(dataset / "access.csv", ACCESS_HEADER, rows)
    access = Store(home).ingest(dataset).files[0]
    assert (access.duplicates, access.conflicts, access.kept) == (299, 1, 0)
