"""Finding a dataset's files and opening them: encoding, header and required columns."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from menshen.calendar import CalendarFormatError, decode_bytes, parse_calendar_text
from menshen.dataset.errors import DatasetError, Problem
from menshen.dataset.reader import Chunk, FileStream, parquet_header
from menshen.dataset.scan import ScanResult, encoding_label, scan_csv
from menshen.dataset.schema import ALL_FILES, SUFFIXES, FileSpec

OFFICIAL_CALENDAR = ("西元日期", "是否放假")


@dataclass
class DatasetFile:
    spec: FileSpec
    path: Path
    stream: FileStream
    extra_columns: list[str]
    calendar_chunk: Chunk | None = None  # the official calendar, converted

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def encoding(self) -> str:
        if self.stream.is_parquet:
            return "Parquet"
        assert self.stream.scan is not None
        label = self.stream.scan.label
        return label + (
            "（自動偵測 / detected）" if self.stream.scan.detected else "（指定 / declared）"
        )


def find_files(folder: Path) -> dict[str, Path]:
    """table -> file, for every interchange-format file present in `folder`."""
    if not folder.is_dir():
        raise DatasetError(
            Problem(str(folder), None, None, None, "資料夾不存在 / dataset folder not found")
        )
    found: dict[str, Path] = {}
    for spec in ALL_FILES:
        candidates = [folder / f"{spec.table}{suffix}" for suffix in SUFFIXES]
        present = [p for p in candidates if p.is_file()]
        if len(present) > 1:
            names = ", ".join(p.name for p in present)
            raise DatasetError(
                Problem(
                    spec.table,
                    None,
                    None,
                    None,
                    f"同一資料表有多個檔案 / more than one file for one table: {names}",
                )
            )
        if present:
            found[spec.table] = present[0]
        elif spec.required:
            raise DatasetError(
                Problem(
                    f"{spec.table}.csv",
                    None,
                    None,
                    None,
                    f"缺少必要檔案 / required file missing in {folder}",
                ),
                "必要檔案 / required files: "
                + ", ".join(f"{s.table}.csv" for s in ALL_FILES if s.required),
            )
    return found


def open_file(
    spec: FileSpec, path: Path, encoding: str | None, digest: bool = False
) -> DatasetFile:
    """Scan the file and check its header; DatasetError (exit 3) when it cannot be used.
    `digest`: also the SHA-256 of an uncompressed CSV's bytes (`stream.scan.sha256`), in
    the same read."""
    scan: ScanResult | None = None
    if path.name.endswith(".parquet"):
        header = parquet_header(path)
    else:
        scan = scan_csv(path, encoding, digest and not path.name.endswith(".gz"))
        if scan.header is None:
            raise DatasetError(
                Problem(
                    path.name,
                    1,
                    None,
                    None,
                    "檔案是空的，沒有標題列 / the file is empty: no header row",
                )
            )
        header = scan.header
    if spec.table == "calendar" and all(name in header for name in OFFICIAL_CALENDAR):
        return _official_calendar(spec, path, scan)
    missing = [name for name in spec.required_columns if name not in header]
    if missing:
        raise DatasetError(
            Problem(
                path.name,
                1,
                ", ".join(missing),
                None,
                f"缺少必要欄位 / missing required column(s): {', '.join(missing)}",
            ),
            f"標題列為 / the header is: {', '.join(header)}",
        )
    stream = FileStream(path, scan, header)
    extra = [name for name in header if name not in spec.names]
    return DatasetFile(spec, path, stream, extra)


def _official_calendar(spec: FileSpec, path: Path, scan: ScanResult | None) -> DatasetFile:
    """The personnel administration's calendar (西元日期,星期,是否放假,備註), UTF-8 or Big5."""
    if scan is None:
        raise DatasetError(
            Problem(path.name, None, None, None, "官方行事曆須為 CSV / expected CSV")
        )
    raw = path.read_bytes()
    if path.name.endswith(".gz"):
        import gzip

        raw = gzip.decompress(raw)
    text, _ = decode_bytes(raw, scan.encoding)
    try:
        days = parse_calendar_text(text, source=path.name)
    except CalendarFormatError as exc:
        raise DatasetError(str(exc)) from None
    ordered = sorted(days.items())
    lines = _calendar_lines(text, [d for d, _ in ordered])
    table = pa.table(
        {
            "date": [d.isoformat() for d, _ in ordered],
            "is_workday": ["1" if info.is_workday else "0" for _, info in ordered],
            "note": [info.note for _, info in ordered],
        }
    )
    stream = FileStream(path, scan, ["date", "is_workday", "note"])
    chunk = Chunk(table, np.array(lines, dtype=np.int64))
    return DatasetFile(spec, path, stream, [], calendar_chunk=chunk)


def _calendar_lines(text: str, dates: list) -> list[int]:
    where: dict[str, int] = {}
    for number, line in enumerate(io.StringIO(text), start=1):
        key = line.split(",", 1)[0].strip().lstrip("\ufeff")
        where.setdefault(key, number)
    return [where.get(d.strftime("%Y%m%d"), where.get(d.isoformat(), 0)) for d in dates]


__all__ = ["DatasetFile", "encoding_label", "find_files", "open_file"]
