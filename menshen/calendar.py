"""The government office calendar (政府行政機關辦公日曆表).

Workdays come from three layers, the later winning:
1. the weekend (Saturday, Sunday off);
2. the `holidays` package's Taiwan calendar (holidays and the make-up workdays it knows);
3. imported official calendars: the Directorate-General of Personnel Administration's CSV
   (西元日期, 星期, 是否放假, 備註; 是否放假 2 = day off, 0 = workday), UTF-8 or Big5, or the
   interchange format's calendar.csv (date, is_workday, note). The 2025 official calendar
   ships with menshen; a dataset's calendar.csv is applied on top.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pyarrow as pa


class CalendarFormatError(ValueError):
    """A calendar file that cannot be read; the message names file, line and column."""


@dataclass(frozen=True)
class DayInfo:
    is_workday: bool
    note: str = ""


def decode_bytes(raw: bytes, encoding: str | None = None) -> tuple[str, str]:
    """Decode a government export: the given encoding, else UTF-8 (with or without BOM),
    else Big5/CP950. Returns (text, encoding actually used)."""
    if encoding:
        return raw.decode(encoding), encoding
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8"), "utf-8-sig"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("cp950"), "cp950"


def _parse_date(text: str) -> dt.date:
    text = text.strip()
    if len(text) == 8 and text.isdigit():
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    return dt.date.fromisoformat(text)


def read_calendar_csv(path: str | Path, encoding: str | None = None) -> dict[dt.date, DayInfo]:
    """Read an official calendar or an interchange-format calendar.csv."""
    path = Path(path)
    text, _used = decode_bytes(path.read_bytes(), encoding)
    return parse_calendar_text(text, source=str(path))


def parse_calendar_text(text: str, source: str = "calendar.csv") -> dict[dt.date, DayInfo]:
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip().lstrip("\ufeff") for h in next(reader)]
    except StopIteration:
        raise CalendarFormatError(f"{source}: 檔案是空的 / the file is empty") from None
    if "西元日期" in header and "是否放假" in header:
        date_col, flag_col = header.index("西元日期"), header.index("是否放假")
        note_col = header.index("備註") if "備註" in header else None
        official = True
    elif "date" in header and "is_workday" in header:
        date_col, flag_col = header.index("date"), header.index("is_workday")
        note_col = header.index("note") if "note" in header else None
        official = False
    else:
        raise CalendarFormatError(
            f"{source}:1: 無法辨識的行事曆欄位 {header} / unrecognised calendar header: expected "
            "西元日期,星期,是否放假,備註 or date,is_workday,note"
        )
    days: dict[dt.date, DayInfo] = {}
    for line_no, row in enumerate(reader, start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        try:
            day = _parse_date(row[date_col])
        except (ValueError, IndexError):
            value = row[date_col] if date_col < len(row) else ""
            raise CalendarFormatError(
                f"{source}:{line_no}: column {header[date_col]}: 日期格式錯誤 / bad date {value!r}"
            ) from None
        flag = row[flag_col].strip() if flag_col < len(row) else ""
        if official:
            if flag not in {"0", "2"}:
                raise CalendarFormatError(
                    f"{source}:{line_no}: column 是否放假: 應為 0 或 2 / expected 0 or 2, got {flag!r}"
                )
            is_workday = flag == "0"
        else:
            lowered = flag.lower()
            if lowered not in {"1", "0", "true", "false", "yes", "no"}:
                raise CalendarFormatError(
                    f"{source}:{line_no}: column is_workday: 應為 1 或 0 / expected 1 or 0, got {flag!r}"
                )
            is_workday = lowered in {"1", "true", "yes"}
        note = row[note_col].strip() if note_col is not None and note_col < len(row) else ""
        days[day] = DayInfo(is_workday, note)
    return days


def _bundled() -> dict[dt.date, DayInfo]:
    days: dict[dt.date, DayInfo] = {}
    folder = resources.files("menshen") / "data" / "calendar"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".csv"):
            text, _ = decode_bytes(entry.read_bytes())
            days.update(parse_calendar_text(text, source=f"menshen/data/calendar/{entry.name}"))
    return days


@dataclass
class GovCalendar:
    """Which days are workdays. `overrides` (imported official calendars) win."""

    overrides: dict[dt.date, DayInfo] = field(default_factory=dict)
    use_bundled: bool = True
    _package: dict[int, dict[dt.date, DayInfo]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.use_bundled:
            merged = _bundled()
            merged.update(self.overrides)
            self.overrides = merged

    @classmethod
    def load(cls, *paths: str | Path | None) -> GovCalendar:
        overrides: dict[dt.date, DayInfo] = {}
        for path in paths:
            if path is not None and Path(path).exists():
                overrides.update(read_calendar_csv(path))
        return cls(overrides)

    def _from_package(self, year: int) -> dict[dt.date, DayInfo]:
        if year not in self._package:
            import holidays

            days: dict[dt.date, DayInfo] = {}
            tw = holidays.country_holidays("TW", years=year)
            for day, name in tw.items():
                days[day] = DayInfo(False, str(name))
            for day in getattr(tw, "weekend_workdays", set()) or set():
                if day.year == year:
                    days[day] = DayInfo(True, "補行上班")
            self._package[year] = days
        return self._package[year]

    def day(self, day: dt.date) -> DayInfo:
        if day in self.overrides:
            return self.overrides[day]
        known = self._from_package(day.year).get(day)
        if known is not None:
            return known
        return DayInfo(day.weekday() < 5, "" if day.weekday() < 5 else "週末")

    def is_workday(self, day: dt.date) -> bool:
        return self.day(day).is_workday

    def next_workday(self, day: dt.date) -> dt.date:
        """The first workday strictly after `day`."""
        day += dt.timedelta(days=1)
        while not self.is_workday(day):
            day += dt.timedelta(days=1)
        return day

    def report_day(self, day: dt.date) -> dt.date:
        """The workday whose audit report covers look-ups made on `day`: the day itself, or
        the next workday when `day` is not one."""
        return day if self.is_workday(day) else self.next_workday(day)

    def days(self, start: dt.date, end: dt.date) -> Iterable[tuple[dt.date, DayInfo]]:
        day = start
        while day <= end:
            yield day, self.day(day)
            day += dt.timedelta(days=1)

    def as_table(self, start: dt.date, end: dt.date) -> pa.Table:
        """date, is_workday, report_date, note for every day in [start, end] — for joins."""
        rows = list(self.days(start, end))
        return pa.table(
            {
                "date": pa.array([d for d, _ in rows], type=pa.date32()),
                "is_workday": pa.array([i.is_workday for _, i in rows], type=pa.bool_()),
                "report_date": pa.array([self.report_day(d) for d, _ in rows], type=pa.date32()),
                "note": pa.array([i.note for _, i in rows], type=pa.string()),
            }
        )
