"""The broken-input corpus (tests/store/broken/<case>/): each case gives a clear message
naming file, line and column, and every good row is kept."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from store_testing import broken_case, run

from menshen.store import Store


def stored_access(home: Path) -> list[dict]:
    snap = Store(home).snapshot()
    rows = [r for path in snap.access_files for r in pq.read_table(path).to_pylist()]
    return sorted(rows, key=lambda r: r["source_line"])


def ingest_case(name: str, tmp_path: Path, *extra: str) -> tuple[int, str, Path]:
    folder = broken_case(name, tmp_path / name)
    home = tmp_path / "store"
    code, output = run("ingest", folder, "--home", home, *extra)
    return code, output, home


def test_big5_file_is_detected_and_its_text_read_correctly(tmp_path: Path) -> None:
    code, output, home = ingest_case("big5", tmp_path)
    assert code == 0, output
    assert "access.csv [Big5/CP950（自動偵測 / detected）]" in output
    rows = stored_access(home)
    assert len(rows) == 5
    assert {r["purpose_text"] for r in rows} == {"依民眾授權查詢勞保資料之求職登記表辦理"}


def test_big5_file_declared_as_utf8_is_refused_with_a_hint(tmp_path: Path) -> None:
    code, output, home = ingest_case("big5", tmp_path, "--encoding", "utf-8")
    assert code == 3
    assert "access.csv:2 — 無法以指定的 UTF-8 編碼解讀" in output
    assert "not valid UTF-8 as declared" in output
    assert "--encoding cp950" in output
    assert not (home / "manifest.jsonl").exists()


def test_missing_required_column_writes_nothing(tmp_path: Path) -> None:
    code, output, home = ingest_case("missing_column", tmp_path)
    assert code == 3
    assert "access.csv:1:account — 缺少必要欄位 / missing required column(s): account" in output
    assert "nothing was written" in output
    assert Store(home).snapshot().batches == ()


def test_missing_required_file_is_named(tmp_path: Path) -> None:
    folder = broken_case("duplicates", tmp_path / "ds")
    (folder / "purposes.csv").unlink()
    code, output = run("ingest", folder, "--home", tmp_path / "store")
    assert code == 3
    assert "purposes.csv — 缺少必要檔案 / required file missing" in output


def test_empty_access_file_is_an_input_error(tmp_path: Path) -> None:
    code, output, _ = ingest_case("empty_file", tmp_path)
    assert code == 3
    assert "access.csv:1 — 檔案是空的，沒有標題列 / the file is empty: no header row" in output


def test_bad_dates_are_quarantined_with_line_and_value(tmp_path: Path) -> None:
    code, output, home = ingest_case("bad_dates", tmp_path)
    assert code == 4
    assert "讀取 read 8, 保留 kept 3, 隔離 quarantined 5" in output
    assert "access.csv:3:occurred_at '2025-02-30T09:00:00' — 時間格式錯誤" in output
    assert "access.csv:5:occurred_at '2025/03/03 09:00' — 時間格式錯誤" in output
    assert "access.csv:6:occurred_at '' — 缺少必填值 / missing required value" in output
    assert "access.csv:8:occurred_at '2025-03-03' — " in output  # a date alone has no time
    assert [r["source_line"] for r in stored_access(home)] == [2, 4, 9]
    quarantine = next(home.rglob("access.csv.quarantine.csv")).read_text(encoding="utf-8")
    assert quarantine.splitlines()[0].startswith("source_line,column,value,reason,all_problems")
    assert "昨天下午" in quarantine


def test_invalid_ids_are_kept_marked_and_counted(tmp_path: Path) -> None:
    code, output, home = ingest_case("invalid_ids", tmp_path)
    assert code == 0
    assert "保留 kept 5, 隔離 quarantined 0, 證號無效 invalid ids 2" in output
    assert "access.csv:4:subject_id 'A12345' — 身分證號／統一證號檢查碼不符" in output
    rows = stored_access(home)
    assert [r["subject_id_valid"] for r in rows] == [True, False, False, True, True]
    assert rows[4]["subject_id"] == rows[4]["subject_id"].strip().upper()  # trimmed, upper-cased


def test_exact_duplicates_are_skipped_not_quarantined(tmp_path: Path) -> None:
    code, output, home = ingest_case("duplicates", tmp_path)
    assert code == 0
    assert "讀取 read 5, 保留 kept 3, 隔離 quarantined 0" in output
    assert "重複略過 duplicates 2" in output
    assert sorted(r["event_id"] for r in stored_access(home)) == ["E0001", "E0002", "E0003"]


def test_conflicting_duplicate_is_quarantined_and_the_first_kept(tmp_path: Path) -> None:
    code, output, home = ingest_case("conflict", tmp_path)
    assert code == 4
    assert "衝突 conflicts 1" in output
    assert "access.csv:4:event_id 'E0001' — 與本檔第 2 行同一系統、同一事件編號但內容不同" in output
    rows = {r["event_id"]: r for r in stored_access(home)}
    assert rows["E0001"]["occurred_at"] == dt.datetime(2025, 3, 3, 9, 1)


def test_mixed_offsets_are_converted_to_taipei_time(tmp_path: Path) -> None:
    code, output, home = ingest_case("mixed_offsets", tmp_path)
    assert code == 0, output
    times = [r["occurred_at"] for r in stored_access(home)]
    nine = dt.datetime(2025, 3, 3, 9, 0)
    assert times == [nine, nine, nine, nine, nine, nine.replace(microsecond=250000)]
    assert all(r["occurred_date"] == dt.date(2025, 3, 3) for r in stored_access(home))


def test_wrong_column_count_is_quarantined_with_the_raw_text(tmp_path: Path) -> None:
    code, output, home = ingest_case("wrong_column_count", tmp_path)
    assert code == 4
    assert (
        "access.csv:3 'E0002,2025-03-03T09:02:00,HR,u002' — 欄位數不符：應為 11 欄，實為 4 欄"
        in output
    )
    assert "access.csv:4 " in output and "expected 11, got 13" in output
    assert "access.csv:6:account '' — 缺少必填值" in output
    assert [r["source_line"] for r in stored_access(home)] == [2, 5]


def test_unterminated_quote_costs_only_its_own_line(tmp_path: Path) -> None:
    code, output, home = ingest_case("unterminated_quote", tmp_path)
    assert code == 4
    assert "access.csv:3 " in output and "引號未閉合 / unterminated quote" in output
    assert [r["source_line"] for r in stored_access(home)] == [2, 4, 5]


def test_quoted_newlines_and_blank_lines_keep_line_numbers_right(tmp_path: Path) -> None:
    code, output, home = ingest_case("quoted_newlines", tmp_path)
    assert code == 4
    assert "access.csv:8:occurred_at 'not-a-time'" in output
    assert "blank lines skipped: 1" in output
    rows = stored_access(home)
    assert [r["source_line"] for r in rows] == [2, 3, 7, 9]
    assert rows[1]["purpose_text"] == "戶籍謄本申請\r\n第二行\r\n第三行"


def test_bom_and_extra_columns_are_accepted(tmp_path: Path) -> None:
    code, output, home = ingest_case("bom_extra_columns", tmp_path)
    assert code == 0
    assert "UTF-8 (BOM)" in output
    assert "extra columns ignored: source_note" in output
    assert len(stored_access(home)) == 3


def test_a_one_megabyte_line_does_not_crash(tmp_path: Path) -> None:
    folder = broken_case("duplicates", tmp_path / "ds")
    lines = (folder / "access.csv").read_text(encoding="utf-8").splitlines()
    long_text = "長" * 400_000  # 1.2 MB in UTF-8
    cells = lines[1].split(",")
    cells[7] = long_text
    garbage = "x" * 1_100_000
    lines = [lines[0], ",".join(cells), garbage, lines[2].replace("E0002", "E0009")]
    (folder / "access.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, output = run("ingest", folder, "--home", tmp_path / "store")
    assert code == 4
    assert "access.csv:3 'xxxxx" in output and "expected 11, got 1" in output
    rows = stored_access(tmp_path / "store")
    assert [r["source_line"] for r in rows] == [2, 4]
    assert rows[0]["purpose_text"] == long_text


@pytest.mark.parametrize("suffix", [".csv.gz", ".parquet"])
def test_gzip_and_parquet_inputs_read_like_csv(tmp_path: Path, suffix: str) -> None:
    import gzip

    import pyarrow.csv as pacsv

    folder = broken_case("bad_dates", tmp_path / "ds")
    source = folder / "access.csv"
    if suffix == ".csv.gz":
        (folder / "access.csv.gz").write_bytes(gzip.compress(source.read_bytes()))
    else:
        table = pacsv.read_csv(source)
        pq.write_table(table.cast(table.schema), folder / "access.parquet")
    source.unlink()
    code, output = run("ingest", folder, "--home", tmp_path / "store")
    assert code == 4
    assert "保留 kept 3, 隔離 quarantined 5" in output


def test_official_big5_calendar_is_stored_as_a_typed_reference_table(tmp_path: Path) -> None:
    import shutil

    folder = broken_case("duplicates", tmp_path / "ds")
    fixture = Path(__file__).parent / "fixtures" / "calendar-2025.big5.csv"
    shutil.copy(fixture, folder / "calendar.csv")
    code, output = run("ingest", folder, "--home", tmp_path / "store")
    assert code == 0, output
    assert (
        "calendar.csv [Big5/CP950（自動偵測 / detected）]: 讀取 read 365, 保留 kept 365" in output
    )
    table = pq.read_table(Store(tmp_path / "store").snapshot().reference("calendar"))
    rows = {r["date"]: r for r in table.to_pylist()}
    assert rows[dt.date(2025, 2, 8)]["is_workday"] is True
    assert rows[dt.date(2025, 12, 25)] == {
        "date": dt.date(2025, 12, 25),
        "is_workday": False,
        "note": "行憲紀念日",
    }


def test_bad_reference_rows_are_quarantined_too(tmp_path: Path) -> None:
    folder = broken_case("duplicates", tmp_path / "ds")
    with (folder / "systems.csv").open("a", encoding="utf-8") as handle:
        handle.write("CR,刑案資料,very-high\n")
    code, output = run("ingest", folder, "--home", tmp_path / "store")
    assert code == 4
    assert (
        "systems.csv:4:sensitivity 'very-high' — 不是允許的值 / not one of: low, medium, high"
        in output
    )
    table = pq.read_table(Store(tmp_path / "store").snapshot().reference("systems"))
    assert table.column("system").to_pylist() == ["HR", "LI"]


def test_a_repeated_reference_key_keeps_the_first_row(tmp_path: Path) -> None:
    folder = broken_case("duplicates", tmp_path / "ds")
    with (folder / "units.csv").open("a", encoding="utf-8") as handle:
        handle.write("U2,戶籍課,U1\n")  # the same row again: a duplicate
        handle.write("U1,另一個名稱,\n")  # the same key, other content: a conflict
    code, output = run("ingest", folder, "--home", tmp_path / "store")
    assert code == 4
    assert "units.csv [" in output and "重複略過 duplicates 1, 衝突 conflicts 1" in output
    assert "units.csv:5:unit_id 'U1' — 與本檔第 2 行的鍵值（unit_id）重複但內容不同" in output
    table = pq.read_table(Store(tmp_path / "store").snapshot().reference("units"))
    assert table.column("name").to_pylist() == ["戶政事務所", "戶籍課"]


def test_an_empty_optional_file_is_skipped_with_a_note(tmp_path: Path) -> None:
    folder = broken_case("duplicates", tmp_path / "ds")
    (folder / "watchlist.csv").write_bytes(b"")
    code, output = run("ingest", folder, "--home", tmp_path / "store")
    assert code == 0, output
    assert "watchlist.csv [-]" in output and "empty optional file, skipped" in output


def test_declared_encoding_applies_to_every_csv_file(tmp_path: Path) -> None:
    folder = broken_case("big5", tmp_path / "ds")
    code, output = run("ingest", folder, "--home", tmp_path / "store", "--encoding", "cp950")
    assert code == 3  # the reference files are UTF-8
    assert "staff.csv:2 — 無法以指定的 Big5/CP950 編碼解讀" in output
    assert "--encoding utf-8" in output
    for path in folder.glob("*.csv"):
        if path.name != "access.csv":
            path.write_bytes(path.read_text(encoding="utf-8").encode("cp950"))
    code, output = run("ingest", folder, "--home", tmp_path / "store", "--encoding", "cp950")
    assert code == 0, output
    assert "access.csv [Big5/CP950（指定 / declared）]" in output
    assert "staff.csv [Big5/CP950（指定 / declared）]" in output
    assert len(stored_access(tmp_path / "store")) == 5


def test_a_quote_inside_an_unquoted_value_is_an_ordinary_character(tmp_path: Path) -> None:
    folder = broken_case("mixed_offsets", tmp_path / "ds")
    lines = (folder / "access.csv").read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace("戶籍謄本申請", '申請 5" 照片')
    (folder / "access.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, output = run("ingest", folder, "--home", tmp_path / "store")
    assert code == 0, output
    texts = [r["purpose_text"] for r in stored_access(tmp_path / "store")]
    assert texts[0] == '申請 5" 照片'
