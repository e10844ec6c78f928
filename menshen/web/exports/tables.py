"""The spreadsheet exports' content, shared by ODS and XLSX: the same sheets, rows and types.

Sheets: 摘要 Summary, 異常事項 Findings (must-review findings and spot checks with evidence),
決定 Decisions (decision, reason, who, when, explanation requests and answers), 歷程 History,
查詢清單 Look-ups (every look-up of the unit-day with its explanation). Times are real
date-time cells in Asia/Taipei wall-clock time; the report date is also given in the ROC era.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from menshen.web.exports.document import (
    SEVERITY,
    CountRow,
    ReportDocument,
    label,
    local,
    roc_datetime,
)

Cell = str | int | float | dt.datetime | dt.date | None


@dataclass
class Block:
    """A titled table inside a sheet; `title` may be empty."""

    header: Sequence[str]
    rows: Iterable[Sequence[Cell]]
    title: str = ""


@dataclass
class Sheet:
    name: str
    blocks: list[Block]
    widths: Sequence[int] = field(default_factory=tuple)  # column widths in characters


def _naive(moment: dt.datetime | None) -> dt.datetime | None:
    """Spreadsheets have no time zones: Taipei wall-clock time."""
    moment = local(moment)
    return moment.replace(tzinfo=None) if moment is not None else None


def _count_block(title: str, rows: Sequence[CountRow]) -> Block:
    return Block(
        title=title,
        header=("名稱 Name", "代碼 Code", "查詢 Look-ups", "已說明 Explained", "比例 Share"),
        rows=[(r.name, r.key, r.count, r.explained, round(r.share, 4)) for r in rows],
    )


def summary_sheet(doc: ReportDocument) -> Sheet:
    facts: list[Sequence[Cell]] = [
        ("機關 Agency", doc.agency),
        ("單位 Unit", f"{doc.unit_name}（{doc.unit_id}）"),
        ("報表日期 Report date", doc.roc_report_date),
        ("報表日期（西元）Report date (ISO)", doc.report_date),
        ("狀態 Status", doc.status_label),
        ("查詢筆數 Look-ups", doc.lookup_count),
        ("已自動說明 Explained", doc.explained_count),
        ("說明比例 Share explained", round(doc.explained_share, 4)),
        ("須審核異常事項 Must-review findings", len(doc.findings)),
        ("抽查 Spot checks", len(doc.spot_checks)),
        ("單位主管 Reviewer", doc.reviewer.name),
        ("送審時間 Submitted", roc_datetime(doc.reviewer.at)),
        ("稽核主管 Approver", doc.approver.name),
        ("批核時間 Approved", roc_datetime(doc.approver.at)),
        ("退回意見 Return comment", doc.return_comment),
        ("證據鏈雜湊 Evidence-chain hash", doc.approved_chain_hash or doc.chain_hash),
        ("產製時間 Generated", roc_datetime(doc.generated_at)),
    ]
    return Sheet(
        "摘要 Summary",
        [
            Block(
                header=("項目 Item", "內容 Value"),
                rows=facts,
                title="稽核日報表 Audit daily report",
            ),
            _count_block("依承辦人 By staff member", doc.by_staff),
            _count_block("依系統 By system", doc.by_system),
            _count_block("依查詢事由 By stated purpose", doc.by_purpose),
        ],
        widths=(34, 40, 12, 14, 10),
    )


def findings_sheet(doc: ReportDocument) -> Sheet:
    rows = [
        (
            number,
            "異常事項 Finding" if e.kind == "finding" else "抽查 Spot check",
            e.staff_id,
            e.staff_name,
            e.account,
            e.masked_subject,
            _naive(e.first_at),
            _naive(e.last_at),
            e.event_count,
            "、".join(e.rules),
            label(SEVERITY, e.severity) if e.severity else "",
            round(e.risk_score, 1),
            "\n".join(e.evidence_zh),
            "\n".join(e.evidence_en),
            e.status_label,
        )
        for number, e in enumerate(doc.items, start=1)
    ]
    header = (
        "#", "類別 Kind", "承辦人代號 Staff id", "承辦人 Staff", "帳號 Account",
        "查詢對象 Subject", "首次 First", "最後 Last", "筆數 Look-ups", "規則 Rules",
        "嚴重度 Severity", "風險分數 Risk", "證據 Evidence (zh)", "Evidence (en)", "狀態 Status",
    )  # fmt: skip
    return Sheet(
        "異常事項 Findings",
        [Block(header=header, rows=rows)],
        widths=(5, 14, 12, 12, 12, 14, 18, 18, 8, 22, 10, 8, 50, 50, 16),
    )


def decisions_sheet(doc: ReportDocument) -> Sheet:
    rows: list[Sequence[Cell]] = []
    for number, e in enumerate(doc.items, start=1):
        questions = "\n".join(x.question for x in e.exchanges)
        answers = "\n".join(x.answer for x in e.exchanges)
        rows.append(
            (
                number,
                e.staff_name or e.staff_id,
                e.masked_subject,
                e.status_label,
                e.reason,
                e.decided_by,
                _naive(e.decided_at),
                questions,
                answers,
            )
        )
    header = (
        "#", "承辦人 Staff", "查詢對象 Subject", "決定 Decision", "理由 Reason", "決定者 By",
        "決定時間 When", "請承辦人說明 Question", "承辦人說明 Answer",
    )  # fmt: skip
    return Sheet(
        "決定 Decisions",
        [Block(header=header, rows=rows)],
        widths=(5, 14, 14, 16, 40, 12, 18, 40, 40),
    )


def history_sheet(doc: ReportDocument) -> Sheet:
    rows = [(_naive(h.at), h.actor, h.action_label, h.comment) for h in doc.history]
    return Sheet(
        "歷程 History",
        [Block(header=("時間 When", "人員 Who", "動作 What", "說明 Comment"), rows=rows)],
        widths=(20, 14, 28, 50),
    )


def _lookup_rows(doc: ReportDocument) -> Iterator[Sequence[Cell]]:
    for row in doc.lookups:
        yield (
            _naive(row.occurred_at),
            row.system,
            row.event_id,
            row.staff_id,
            row.account,
            row.masked_subject,
            row.action,
            row.purpose_code,
            row.record_ref,
            row.explanation_zh,
            row.explanation_en,
            row.finding_id,
        )


def lookups_sheet(doc: ReportDocument) -> Sheet:
    header = (
        "時間 When", "系統 System", "事件 Event id", "承辦人代號 Staff id", "帳號 Account",
        "查詢對象 Subject", "動作 Action", "查詢事由 Purpose", "案號 Record", "說明 Explanation",
        "Explanation (en)", "異常事項 Finding id",
    )  # fmt: skip
    return Sheet(
        "查詢清單 Look-ups",
        [Block(header=header, rows=_lookup_rows(doc))],
        widths=(18, 10, 16, 12, 12, 14, 8, 12, 18, 30, 30, 18),
    )


def sheets(doc: ReportDocument) -> list[Sheet]:
    return [
        summary_sheet(doc),
        findings_sheet(doc),
        decisions_sheet(doc),
        history_sheet(doc),
        lookups_sheet(doc),
    ]
