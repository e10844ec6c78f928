"""A synthetic ReportDocument (checksum-valid ids, invented names) for tests and timing, and
a timing command:

    python -m menshen.web.exports.sample [--findings 12] [--lookups 20000] [--repeat 3]

prints how long each renderer takes and the PDF's time per page.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import time

from menshen import ids
from menshen.web.exports.document import (
    TAIPEI,
    CountRow,
    Exchange,
    HistoryEntry,
    LookupRow,
    ReportDocument,
    ReviewEntry,
    Signature,
)

SURNAMES = "陳林黃張李王吳劉蔡楊許鄭謝郭洪曾邱廖賴周"
GIVEN = ("志明", "淑芬", "家豪", "雅婷", "俊傑", "怡君", "建宏", "美玲", "宗翰", "佳穎")
EVIDENCE = (
    ("未見該民眾之求職登記紀錄", "No job-seeker registration record for this person"),
    ("查詢時間為星期六 09:12，非辦公日", "Looked up on Saturday 09:12, not a workday"),
    ("查詢對象與承辦人同姓且住址同一區", "Same surname and address area as the staff member"),
    (
        "同日查詢 39 名不同民眾，為本人平日之 8 倍",
        "39 different people in one day, 8x own baseline",
    ),
)
SYSTEMS = (("HR", "戶役政資訊系統"), ("LI", "勞保資料查詢"), ("PR", "警政資訊系統"))


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def sample_document(
    findings: int = 6, spot_checks: int = 3, lookups: int = 200, seed: int = 1
) -> ReportDocument:
    rng = random.Random(seed)
    day = dt.date(2026, 11, 27)
    start = dt.datetime(2026, 11, 27, 8, 0, tzinfo=TAIPEI)
    staff = [(f"S{100 + i}", _name(rng)) for i in range(8)]
    reviewer, approver = _name(rng), _name(rng)
    entries = []
    for number in range(findings + spot_checks):
        staff_id, staff_name = rng.choice(staff)
        first = start + dt.timedelta(minutes=rng.randrange(600))
        is_finding = number < findings
        zh, en = (
            zip(*rng.sample(EVIDENCE, 2), strict=True)
            if is_finding
            else (("本人承辦之案件",), ("own record",))
        )
        asked = number == 0
        entries.append(
            ReviewEntry(
                kind="finding" if is_finding else "spot_check",
                staff_id=staff_id,
                staff_name=staff_name,
                account=f"acc-{staff_id.lower()}",
                masked_subject=ids.mask(ids.generate_national_id(rng)),
                first_at=first,
                last_at=first + dt.timedelta(minutes=rng.randrange(0, 90)),
                event_count=rng.randrange(1, 40),
                rules=("unexplained", "off-hours") if is_finding else (),
                severity="high" if is_finding else "",
                risk_score=rng.uniform(40, 95) if is_finding else 0.0,
                evidence_zh=tuple(zh),
                evidence_en=tuple(en),
                status="justified" if number % 3 else "improper",
                reason=f"第 {number + 1} 項：經查有公務需要"
                if number % 3
                else "無公務需要，移送政風室",
                decided_by=reviewer,
                decided_at=first + dt.timedelta(days=1),
                exchanges=(
                    Exchange(
                        reviewer,
                        first + dt.timedelta(hours=20),
                        "請說明查詢目的",
                        first + dt.timedelta(hours=22),
                        "民眾臨櫃詢問，尚未建檔",
                    ),
                )
                if asked
                else (),
            )
        )
    rows = []
    for index in range(lookups):
        staff_id, _ = rng.choice(staff)
        system = rng.choice(SYSTEMS)[0]
        rows.append(
            LookupRow(
                occurred_at=start + dt.timedelta(seconds=index * 2),
                system=system,
                event_id=f"{system}-{index:07d}",
                staff_id=staff_id,
                account=f"acc-{staff_id.lower()}",
                masked_subject=ids.mask(ids.generate_national_id(rng)),
                action="query",
                purpose_code="P01",
                record_ref=f"113-{index:06d}",
                explanation_zh="本人承辦之案件",
                explanation_en="own record",
                finding_id="",
            )
        )
    explained = int(lookups * 0.99)
    submitted = start + dt.timedelta(days=1, hours=9)
    return ReportDocument(
        agency="臺南市南化區公所",
        unit_id="U-HR",
        unit_name="戶政課",
        report_date=day,
        status="approved",
        lookup_count=lookups,
        explained_count=explained,
        reviewer=Signature("單位主管（審核）", "Reviewer", reviewer, "課長", submitted),
        approver=Signature(
            "稽核主管（批核）", "Approver", approver, "秘書", submitted + dt.timedelta(hours=3)
        ),
        by_staff=[
            CountRow(s, n, lookups // len(staff), max(lookups // len(staff) - 1, 0))
            for s, n in staff
        ],
        by_system=[CountRow(code, name, lookups // 3, lookups // 3) for code, name in SYSTEMS],
        by_purpose=[CountRow("P01", "依民眾授權查詢勞保資料之求職登記表辦理", lookups, explained)],
        findings=[e for e in entries if e.kind == "finding"],
        spot_checks=[e for e in entries if e.kind == "spot_check"],
        lookups=rows,
        history=[
            HistoryEntry(start + dt.timedelta(hours=20), "系統 system", "built"),
            HistoryEntry(submitted, reviewer, "submitted"),
            HistoryEntry(
                submitted + dt.timedelta(hours=1), approver, "returned", "請補充第 1 項理由"
            ),
            HistoryEntry(submitted + dt.timedelta(hours=2), reviewer, "submitted"),
            HistoryEntry(submitted + dt.timedelta(hours=3), approver, "approved"),
        ],
        return_comment="請補充第 1 項理由",
        chain_hash="a" * 64,
        approved_chain_hash="b" * 64,
        rule_hashes={"unexplained": "c" * 64, "off-hours": "d" * 64},
    )


def main(argv: list[str] | None = None) -> None:
    from menshen.web.exports import ods, pdf, xlsx

    parser = argparse.ArgumentParser(description="time the report exports on a synthetic report")
    parser.add_argument("--findings", type=int, default=12)
    parser.add_argument("--spot-checks", type=int, default=200)
    parser.add_argument("--lookups", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args(argv)
    doc = sample_document(options.findings, options.spot_checks, options.lookups)
    for attempt in range(1, options.repeat + 1):
        started = time.perf_counter()
        data, pages = pdf.render_document(doc)
        seconds = time.perf_counter() - started
        print(
            f"PDF  #{attempt}: {pages} pages, {len(data) / 1024:.0f} KiB in {seconds:.2f} s "
            f"= {seconds / pages * 1000:.0f} ms/page"
        )
    for name, module in (("ODS ", ods), ("XLSX", xlsx)):
        started = time.perf_counter()
        data = module.render_document(doc)
        print(
            f"{name}: {options.lookups:,} look-ups, {len(data) / 1024:.0f} KiB in "
            f"{time.perf_counter() - started:.2f} s"
        )


if __name__ == "__main__":
    main()
