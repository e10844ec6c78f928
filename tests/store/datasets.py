"""Small synthetic datasets for the store tests (ids generated with menshen.ids)."""

from __future__ import annotations

import csv
import random
from pathlib import Path

from menshen.ids import generate_national_id, generate_resident_id

ACCESS_HEADER = [
    "event_id", "occurred_at", "system", "account", "subject_id", "action",
    "purpose_code", "purpose_text", "record_ref", "terminal", "result_count",
]  # fmt: skip


def write_csv(
    path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8"
) -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def access_rows(n: int, seed: int = 1, start: int = 0) -> list[list[str]]:
    rng = random.Random(seed)
    subjects = [generate_national_id(rng) for _ in range(40)] + [generate_resident_id(rng)]
    rows = []
    for i in range(start, start + n):
        day = 3 + (i % 5)
        rows.append(
            [
                f"E{i:07d}",
                f"2025-03-{day:02d}T{8 + i % 9:02d}:{i % 60:02d}:00",
                rng.choice(["HR", "LI"]),
                f"u{rng.randrange(20):03d}",
                rng.choice(subjects),
                rng.choice(["query", "view", "list", ""]),
                rng.choice(["P01", "P02", ""]),
                rng.choice(["依民眾授權查詢勞保資料之求職登記表辦理", "戶籍謄本申請", ""]),
                f"R{rng.randrange(1000)}",
                "WS-01",
                str(rng.randrange(3)),
            ]
        )
    return rows


def write_reference(folder: Path, seed: int = 1) -> None:
    rng = random.Random(seed)
    write_csv(folder / "units.csv", ["unit_id", "name", "parent_unit_id"],
              [["U1", "戶政事務所", ""], ["U2", "戶籍課", "U1"]])  # fmt: skip
    staff = [
        [f"S{i:03d}", f"員工{i}", generate_national_id(rng), "U2" if i else "U1", "課員",
         "permanent", "S000" if i else "", "2020-01-01", ""]
        for i in range(20)
    ]  # fmt: skip
    write_csv(folder / "staff.csv", ["staff_id", "name", "national_id", "unit_id", "title",
              "employment", "supervisor_id", "active_from", "active_to"], staff)  # fmt: skip
    write_csv(folder / "accounts.csv", ["system", "account", "staff_id", "granted_at", "revoked_at"],
              [[s, f"u{i:03d}", f"S{i:03d}", "2020-01-01", ""] for i in range(20) for s in ("HR", "LI")])  # fmt: skip
    write_csv(folder / "systems.csv", ["system", "name", "sensitivity"],
              [["HR", "戶役政資訊系統", "high"], ["LI", "勞保資料查詢", "medium"]])  # fmt: skip
    write_csv(folder / "purposes.csv", ["system", "purpose_code", "description", "evidence_kind",
              "window_before_days", "window_after_days", "allowed_units", "scope"],
              [["HR", "P01", "戶籍謄本申請", "application", "3", "1", "", ""],
               ["LI", "P02", "依民眾授權查詢勞保資料之求職登記表辦理", "job_registration", "7", "0", "", "person"]])  # fmt: skip


def make_dataset(folder: Path, events: int = 200, seed: int = 1) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_reference(folder, seed)
    write_csv(folder / "access.csv", ACCESS_HEADER, access_rows(events, seed))
    return folder
