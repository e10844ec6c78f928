"""The government office calendar (menshen.calendar), with the official 2025 CSV."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from menshen.calendar import CalendarFormatError, GovCalendar, decode_bytes, read_calendar_csv

FIXTURES = Path(__file__).parent / "store" / "fixtures"
UTF8 = FIXTURES / "calendar-2025.utf8.csv"
BIG5 = FIXTURES / "calendar-2025.big5.csv"
D = dt.date


@pytest.mark.parametrize("path", [UTF8, BIG5], ids=["utf-8", "big5"])
def test_the_official_csv_reads_the_same_in_utf8_and_big5(path: Path) -> None:
    days = read_calendar_csv(path)
    assert len(days) == 365
    assert days[D(2025, 2, 8)].is_workday and days[D(2025, 2, 8)].note == "補行上班"
    assert not days[D(2025, 12, 25)].is_workday and days[D(2025, 12, 25)].note == "行憲紀念日"
    assert not days[D(2025, 1, 1)].is_workday


def test_big5_is_detected_as_cp950() -> None:
    text, encoding = decode_bytes(BIG5.read_bytes())
    assert encoding == "cp950" and "是否放假" in text
    _, encoding = decode_bytes(UTF8.read_bytes())
    assert encoding == "utf-8"


@pytest.fixture(scope="module")
def calendar() -> GovCalendar:
    return GovCalendar.load(UTF8)


def test_make_up_saturday_is_a_workday(calendar: GovCalendar) -> None:
    assert D(2025, 2, 8).weekday() == 5
    assert calendar.is_workday(D(2025, 2, 8))


def test_christmas_2025_is_a_day_off(calendar: GovCalendar) -> None:
    assert not calendar.is_workday(D(2025, 12, 25))


def test_lunar_new_year_week_is_off(calendar: GovCalendar) -> None:
    assert not any(calendar.is_workday(D(2025, 1, day)) for day in range(27, 32))


def test_report_day_rolls_weekends_and_holidays_forward(calendar: GovCalendar) -> None:
    assert calendar.report_day(D(2025, 3, 8)) == D(2025, 3, 10)  # Saturday -> Monday
    assert calendar.report_day(D(2025, 3, 9)) == D(2025, 3, 10)  # Sunday -> Monday
    assert calendar.report_day(D(2025, 3, 10)) == D(2025, 3, 10)  # a workday is its own
    assert calendar.report_day(D(2025, 1, 25)) == D(2025, 2, 3)  # over the new-year holidays
    assert calendar.report_day(D(2025, 2, 8)) == D(2025, 2, 8)  # make-up Saturday
    assert calendar.next_workday(D(2025, 2, 7)) == D(2025, 2, 8)


def test_ordinary_weekends_outside_the_imported_year_are_off() -> None:
    calendar = GovCalendar(use_bundled=False)
    assert not calendar.is_workday(D(2031, 3, 8))  # a Saturday
    assert calendar.is_workday(D(2031, 3, 10))


def test_an_imported_calendar_overrides_the_package(tmp_path: Path) -> None:
    path = tmp_path / "calendar.csv"
    path.write_text("date,is_workday,note\n2025-03-10,0,颱風假\n", encoding="utf-8")
    calendar = GovCalendar.load(path)
    assert not calendar.is_workday(D(2025, 3, 10))
    assert calendar.day(D(2025, 3, 10)).note == "颱風假"
    assert calendar.report_day(D(2025, 3, 8)) == D(2025, 3, 11)


def test_as_table_gives_report_dates_for_joins(calendar: GovCalendar) -> None:
    table = calendar.as_table(D(2025, 2, 7), D(2025, 2, 10))
    assert table.column("is_workday").to_pylist() == [True, True, False, True]
    assert table.column("report_date").to_pylist() == [
        D(2025, 2, 7),
        D(2025, 2, 8),
        D(2025, 2, 10),
        D(2025, 2, 10),
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "檔案是空的"),
        ("day,off\n", "unrecognised calendar header"),
        ("西元日期,星期,是否放假,備註\n20250230,日,2,\n", ":2: column 西元日期"),
        ("西元日期,星期,是否放假,備註\n20250301,六,1,\n", ":2: column 是否放假"),
        ("date,is_workday,note\n2025-03-01,maybe,\n", ":2: column is_workday"),
    ],
)
def test_bad_calendar_files_name_the_line_and_column(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "calendar.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CalendarFormatError, match=message):
        read_calendar_csv(path)
