"""What an exported daily audit report (稽核日報表) contains, as plain data.

The renderers (PDF, ODS, XLSX) take a `ReportDocument`, never a Django model, so they can
be tested and benchmarked on their own. `from_report(report)` builds one from the web app's
`Report` model instance (menshen.web.reports.models), reading its related objects once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from menshen import ids
from menshen.web.roc import roc_date

TAIPEI = ZoneInfo("Asia/Taipei")

REPORT_STATUS = {
    "open": ("待審核", "Awaiting review"),
    "submitted": ("已送審", "Submitted for approval"),
    "returned": ("已退回", "Returned"),
    "approved": ("已批核", "Approved"),
}
ITEM_STATUS = {
    "pending": ("待決定", "Not decided"),
    "asked": ("已請承辦人說明", "Asked the staff member to explain"),
    "answered": ("承辦人已說明", "Staff member answered"),
    "justified": ("合理", "Justified"),
    "improper": ("不當", "Improper"),
}
EVENT_ACTION = {
    "built": ("產製", "Built"),
    "rebuilt": ("依新偵測結果重新產製", "Rebuilt from new detection output"),
    "decided": ("決定異常事項", "Decided an item"),
    "asked": ("請承辦人說明", "Asked the staff member to explain"),
    "answered": ("承辦人說明", "Staff member answered"),
    "submitted": ("線上送審", "Submitted for approval"),
    "returned": ("退回", "Returned"),
    "approved": ("批核", "Approved"),
    "escalated": ("逾期陳報", "Overdue: escalated"),
}
SEVERITY = {
    "low": ("低", "low"),
    "medium": ("中", "medium"),
    "high": ("高", "high"),
    "critical": ("極高", "critical"),
}


def local(moment: dt.datetime | None) -> dt.datetime | None:
    """An aware datetime in Asia/Taipei; naive datetimes are already Taipei wall-clock."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=TAIPEI)
    return moment.astimezone(TAIPEI)


def roc_datetime(moment: dt.datetime | None, seconds: bool = False) -> str:
    """115年11月29日 14:05 in Asia/Taipei ("" for None)."""
    moment = local(moment)
    if moment is None:
        return ""
    return (
        f"{roc_date(moment)} {moment:%H:%M:%S}" if seconds else f"{roc_date(moment)} {moment:%H:%M}"
    )


def label(table: Mapping[str, tuple[str, str]], code: str) -> str:
    """「中文 English」 for a code, or the code itself when unknown."""
    zh_en = table.get(code)
    return f"{zh_en[0]} {zh_en[1]}" if zh_en else code


@dataclass(frozen=True)
class CountRow:
    """One line of a summary table: look-ups and how many of them were explained."""

    key: str
    name: str
    count: int
    explained: int

    @property
    def share(self) -> float:
        return self.explained / self.count if self.count else 1.0


@dataclass(frozen=True)
class Exchange:
    """請承辦人說明: the reviewer's question and the staff member's answer."""

    asked_by: str
    asked_at: dt.datetime | None
    question: str
    answered_at: dt.datetime | None = None
    answer: str = ""


@dataclass(frozen=True)
class ReviewEntry:
    """A must-review finding or a spot check, with its evidence and decision."""

    kind: str  # "finding" | "spot_check"
    staff_id: str
    staff_name: str
    account: str
    masked_subject: str
    first_at: dt.datetime
    last_at: dt.datetime
    event_count: int
    rules: tuple[str, ...]
    severity: str
    risk_score: float
    evidence_zh: tuple[str, ...]
    evidence_en: tuple[str, ...]
    status: str
    reason: str = ""
    decided_by: str = ""
    decided_at: dt.datetime | None = None
    exchanges: tuple[Exchange, ...] = ()

    @property
    def status_label(self) -> str:
        return label(ITEM_STATUS, self.status)


@dataclass(frozen=True)
class LookupRow:
    occurred_at: dt.datetime
    system: str
    event_id: str
    staff_id: str
    account: str
    masked_subject: str
    action: str
    purpose_code: str
    record_ref: str
    explanation_zh: str
    explanation_en: str
    finding_id: str


@dataclass(frozen=True)
class HistoryEntry:
    at: dt.datetime | None
    actor: str
    action: str
    comment: str = ""

    @property
    def action_label(self) -> str:
        return label(EVENT_ACTION, self.action)


@dataclass(frozen=True)
class Signature:
    """One line of the signature block (核章欄)."""

    role_zh: str
    role_en: str
    name: str = ""
    title: str = ""
    at: dt.datetime | None = None


@dataclass
class ReportDocument:
    agency: str
    unit_id: str
    unit_name: str
    report_date: dt.date
    status: str
    lookup_count: int
    explained_count: int
    reviewer: Signature
    approver: Signature
    by_staff: list[CountRow] = field(default_factory=list)
    by_system: list[CountRow] = field(default_factory=list)
    by_purpose: list[CountRow] = field(default_factory=list)
    findings: list[ReviewEntry] = field(default_factory=list)
    spot_checks: list[ReviewEntry] = field(default_factory=list)
    lookups: Sequence[LookupRow] = field(default_factory=list)
    history: list[HistoryEntry] = field(default_factory=list)
    return_comment: str = ""
    chain_hash: str = ""
    approved_chain_hash: str = ""
    rule_hashes: dict[str, str] = field(default_factory=dict)
    generated_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(TAIPEI))

    @property
    def roc_report_date(self) -> str:
        return roc_date(self.report_date)

    @property
    def explained_share(self) -> float:
        return self.explained_count / self.lookup_count if self.lookup_count else 1.0

    @property
    def status_label(self) -> str:
        return label(REPORT_STATUS, self.status)

    @property
    def items(self) -> list[ReviewEntry]:
        return [*self.findings, *self.spot_checks]

    @property
    def title(self) -> str:
        return f"{self.unit_name} 稽核日報表 {self.roc_report_date}"

    @property
    def file_stem(self) -> str:
        """A safe file name: menshen-report-<unit>-<date>."""
        safe_unit = "".join(c if c.isalnum() or c in "-_" else "_" for c in self.unit_id)
        return f"menshen-report-{safe_unit}-{self.report_date.isoformat()}"


# -- the adapter from the web app's models ------------------------------------------------


def _name(person: Any) -> str:
    return getattr(person, "name", "") if person is not None else ""


def _agency_of(unit: Any) -> str:
    """The name of the top of the unit's chain (the agency), or the unit's own name."""
    seen: set[str] = set()
    top = unit
    while getattr(top, "parent", None) is not None and top.pk not in seen:
        seen.add(top.pk)
        top = top.parent
    return top.name


def _count_rows(
    rows: Iterable[Mapping[str, Any]], key: str, names: Mapping[str, str]
) -> list[CountRow]:
    out = []
    for row in rows or ():
        value = str(row.get(key) or "")
        name = str(
            row.get("name") or row.get("description") or names.get(value) or value or "（未填）"
        )
        out.append(
            CountRow(value, name, int(row.get("count") or 0), int(row.get("explained") or 0))
        )
    return out


def _entry(item: Any, names: Mapping[str, str]) -> ReviewEntry:
    exchanges = tuple(
        Exchange(
            asked_by=_name(request.requested_by),
            asked_at=request.created_at,
            question=request.question,
            answered_at=request.answered_at,
            answer=request.answer,
        )
        for request in sorted(item.requests.all(), key=lambda r: (r.created_at, r.pk))
    )
    staff_name = _name(item.staff_person) or names.get(item.staff_id, "")
    return ReviewEntry(
        kind=item.kind,
        staff_id=item.staff_id,
        staff_name=staff_name,
        account=item.account,
        masked_subject=item.masked_subject,
        first_at=item.first_at,
        last_at=item.last_at,
        event_count=item.event_count,
        rules=tuple(item.rules or ()),
        severity=item.severity,
        risk_score=float(item.risk_score or 0.0),
        evidence_zh=tuple(item.evidence_zh or ()),
        evidence_en=tuple(item.evidence_en or ()),
        status=item.status,
        reason=item.reason,
        decided_by=_name(item.decided_by),
        decided_at=item.decided_at,
        exchanges=exchanges,
    )


def from_report(report: Any, include_lookups: bool = True) -> ReportDocument:
    """Build a ReportDocument from a `menshen.web.reports.models.Report` instance."""
    from menshen.web.accounts.models import Person

    items = list(
        report.items.select_related("staff_person", "decided_by").prefetch_related(
            "requests__requested_by"
        )
    )
    staff_ids = {item.staff_id for item in items}
    staff_ids |= {str(r.get("staff_id")) for r in (report.summary or {}).get("by_staff", [])}
    names = dict(
        Person.objects.filter(staff_id__in=staff_ids - {""}).values_list("staff_id", "name")
    )
    lookups: list[LookupRow] = []
    if include_lookups:
        for row in report.lookups.order_by("occurred_at", "id").values_list(
            "occurred_at",
            "system",
            "event_id",
            "staff_id",
            "account",
            "subject_id",
            "action",
            "purpose_code",
            "record_ref",
            "explanation_zh",
            "explanation_en",
            "finding_id",
        ):
            lookups.append(LookupRow(*row[:5], ids.mask(row[5]), *row[6:]))
    summary = report.summary or {}
    entries = [_entry(item, names) for item in items]
    history = [
        HistoryEntry(
            at=event.at,
            actor=_name(event.actor) or "系統 system",
            action=event.action,
            comment=event.comment,
        )
        for event in report.events.select_related("actor").order_by("at", "id")
    ]
    submitted_by, approved_by = report.submitted_by, report.approved_by
    return ReportDocument(
        agency=_agency_of(report.unit),
        unit_id=report.unit.unit_id,
        unit_name=report.unit.name,
        report_date=report.report_date,
        status=report.status,
        lookup_count=report.lookup_count,
        explained_count=report.explained_count,
        reviewer=Signature(
            "單位主管（審核）",
            "Reviewer",
            _name(submitted_by),
            getattr(submitted_by, "title", "") or "",
            report.submitted_at,
        ),
        approver=Signature(
            "稽核主管（批核）",
            "Approver",
            _name(approved_by),
            getattr(approved_by, "title", "") or "",
            report.approved_at,
        ),
        by_staff=_count_rows(summary.get("by_staff", []), "staff_id", names),
        by_system=_count_rows(summary.get("by_system", []), "system", {}),
        by_purpose=_count_rows(summary.get("by_purpose", []), "purpose_code", {}),
        findings=[e for e in entries if e.kind == "finding"],
        spot_checks=[e for e in entries if e.kind != "finding"],
        lookups=lookups,
        history=history,
        return_comment=report.return_comment,
        chain_hash=report.chain_hash,
        approved_chain_hash=report.approved_chain_hash,
        rule_hashes=dict(report.rule_hashes or {}),
    )
