"""`menshen build-reports`: one daily audit report per (unit, report_date) from the
evidence store's derived tables (explanations, findings, finding_events).

Idempotent: each report keeps a fingerprint of the detection output it was built from; the
same input changes nothing. A report already submitted or approved is never rebuilt. An
open or returned report whose input changed is rebuilt and keeps the reviewer's decisions
on items that are still there.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq
from django.db import transaction
from django.utils import timezone

from menshen.calendar import GovCalendar
from menshen.web.accounts.models import Person, Unit
from menshen.web.reports.models import Lookup, Report, ReportEvent, ReviewItem
from menshen.web.reports.overdue import due_date

TAIPEI = ZoneInfo("Asia/Taipei")
BATCH = 2000
SPOT_CHECK_RATE = 0.01


@dataclass
class BuildSummary:
    created: int = 0
    rebuilt: int = 0
    unchanged: int = 0
    locked: int = 0  # submitted/approved reports whose input changed: left as they are
    lookups: int = 0
    items: int = 0
    without_unit: int = 0
    unknown_units: set[str] = field(default_factory=set)


REQUIRED = {
    "explanations": {"system", "event_id", "occurred_at", "report_date", "unit_id", "subject_id"},
    "findings": {"finding_id", "report_date", "unit_id", "first_at"},
    "finding_events": {"finding_id", "system", "event_id"},
}


class BuildError(Exception):
    """Detection output the builder cannot use; the message names the file and columns."""


def _read(paths: Iterable[Path], table: str = "") -> pa.Table | None:
    tables = []
    for path in paths:
        try:
            data = pq.read_table(path)
        except (OSError, pa.ArrowException) as error:
            raise BuildError(f"{path}: 無法讀取 / cannot read: {error}") from None
        missing = REQUIRED.get(table, set()) - set(data.column_names)
        if missing:
            raise BuildError(
                f"{path}: 缺少欄位 / missing columns: {', '.join(sorted(missing))} "
                "(run `menshen detect` again with this version)"
            )
        tables.append(data)
    if not tables:
        return None
    return pa.concat_tables(tables, promote_options="default")


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=TAIPEI)
    return value


def _clip(value: object, size: int) -> str:
    return "" if value is None else str(value)[:size]


def _list(value: object) -> list:
    if value is None:
        return []
    return list(value)


def _hashes(value: object) -> dict:
    if not value:
        return {}
    if isinstance(value, dict):
        return value
    try:
        parsed = json.loads(str(value))
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def fingerprint(lookups: list[dict], findings: list[dict]) -> str:
    digest = hashlib.sha256()
    keys = ("system", "event_id", "staff_id", "explanation", "finding_id", "occurred_at")
    for row in sorted(lookups, key=lambda r: (str(r["system"]), str(r["event_id"]))):
        digest.update(json.dumps([str(row.get(k)) for k in keys], ensure_ascii=False).encode())
    for row in sorted(findings, key=lambda r: str(r["finding_id"])):
        digest.update(json.dumps(row, ensure_ascii=False, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def spot_check_sample(unit_id: str, report_date: dt.date, lookups: list[dict]) -> list[dict]:
    """1% of the unit's look-ups (at least one), drawn from explained deliberate look-ups not
    in a finding; seeded by unit and date so a rebuild draws the same sample."""
    candidates = sorted(
        (
            r
            for r in lookups
            if r.get("explanation") and r.get("deliberate", True) and not r.get("finding_id")
        ),
        key=lambda r: (str(r["system"]), str(r["event_id"])),
    )
    if not candidates:
        return []
    size = min(len(candidates), max(1, int(len(lookups) * SPOT_CHECK_RATE)))
    seed = int(hashlib.sha256(f"{unit_id}|{report_date.isoformat()}".encode()).hexdigest()[:16], 16)
    return random.Random(seed).sample(candidates, size)


def _summary(lookups: list[dict], names: dict[str, str], purposes: dict[str, str]) -> dict:
    def tally(key: Callable[[dict], str]) -> list[tuple[str, int, int]]:
        counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for row in lookups:
            bucket = counts[key(row)]
            bucket[0] += 1
            bucket[1] += 1 if row.get("explanation") else 0
        return sorted(((k, c, e) for k, (c, e) in counts.items()), key=lambda t: (-t[1], t[0]))

    return {
        "by_staff": [
            {"staff_id": k, "name": names.get(k, ""), "count": c, "explained": e}
            for k, c, e in tally(lambda r: r.get("staff_id") or "")
        ],
        "by_system": [
            {"system": k, "count": c, "explained": e} for k, c, e in tally(lambda r: r["system"])
        ],
        "by_purpose": [
            {
                "purpose_code": k.split("|", 1)[1],
                "system": k.split("|", 1)[0],
                "description": purposes.get(k, ""),
                "count": c,
                "explained": e,
            }
            for k, c, e in tally(lambda r: f"{r['system']}|{r.get('purpose_code') or ''}")
        ],
    }


def _lookup(report: Report, row: dict) -> Lookup:
    return Lookup(
        report=report,
        system=_clip(row["system"], 32),
        event_id=_clip(row["event_id"], 64),
        occurred_at=_aware(row["occurred_at"]),
        staff_id=_clip(row.get("staff_id"), 64),
        account=_clip(row.get("account"), 64),
        subject_id=_clip(row.get("subject_id"), 32),
        action=_clip(row.get("action") or "query", 16),
        purpose_code=_clip(row.get("purpose_code"), 64),
        record_ref=_clip(row.get("record_ref"), 128),
        explanation=_clip(row.get("explanation"), 32),
        explanation_zh=_clip(row.get("explanation_zh"), 300),
        explanation_en=_clip(row.get("explanation_en"), 300),
        finding_id=_clip(row.get("finding_id"), 32),
    )


def _items(
    report: Report,
    findings: list[dict],
    events: dict[str, list[str]],
    sample: list[dict],
    people: dict[str, Person],
) -> list[ReviewItem]:
    items = []
    for f in findings:
        if not f.get("must_review", True):
            continue
        staff_id = _clip(f.get("staff_id"), 64)
        items.append(
            ReviewItem(
                report=report,
                kind=ReviewItem.Kind.FINDING,
                key=_clip(f["finding_id"], 128),
                staff_id=staff_id,
                staff_person=people.get(staff_id),
                account=_clip(f.get("account"), 64),
                subject_id=_clip(f.get("subject_id"), 32),
                first_at=_aware(f["first_at"]),
                last_at=_aware(f.get("last_at") or f["first_at"]),
                event_count=int(f.get("event_count") or 1),
                rules=_list(f.get("rules")),
                severity=_clip(f.get("severity"), 16),
                risk_score=float(f.get("risk_score") or 0.0),
                evidence_zh=_list(f.get("evidence_zh")),
                evidence_en=_list(f.get("evidence_en")),
                rule_hashes=_hashes(f.get("rule_hashes")),
                event_keys=events.get(str(f["finding_id"]), []),
            )
        )
    for row in sample:
        staff_id = _clip(row.get("staff_id"), 64)
        key = f"{row['system']}:{row['event_id']}"
        items.append(
            ReviewItem(
                report=report,
                kind=ReviewItem.Kind.SPOT_CHECK,
                key=key[:128],
                staff_id=staff_id,
                staff_person=people.get(staff_id),
                account=_clip(row.get("account"), 64),
                subject_id=_clip(row.get("subject_id"), 32),
                first_at=_aware(row["occurred_at"]),
                last_at=_aware(row["occurred_at"]),
                event_count=1,
                evidence_zh=[f"隨機抽查：{row.get('explanation_zh') or row.get('explanation')}"],
                evidence_en=[
                    f"Random spot check: {row.get('explanation_en') or row.get('explanation')}"
                ],
                event_keys=[key],
            )
        )
    return items


def _replace_content(report: Report, lookups: list[dict], items: list[ReviewItem]) -> int:
    """Swap the report's look-ups and undecided items; keep decisions on items still there."""
    Lookup.objects.filter(report=report).delete()
    for start in range(0, len(lookups), BATCH):
        Lookup.objects.bulk_create([_lookup(report, r) for r in lookups[start : start + BATCH]])
    existing = {(i.kind, i.key): i for i in ReviewItem.objects.filter(report=report)}
    fresh = {(i.kind, i.key) for i in items}
    ReviewItem.objects.filter(report=report, status=ReviewItem.Status.PENDING).exclude(
        pk__in=[i.pk for k, i in existing.items() if k in fresh]
    ).delete()
    new = [i for i in items if (i.kind, i.key) not in existing]
    ReviewItem.objects.bulk_create(new, batch_size=BATCH)
    for item in items:
        old = existing.get((item.kind, item.key))
        if old is not None:  # refresh evidence, keep the decision
            ReviewItem.objects.filter(pk=old.pk).update(
                evidence_zh=item.evidence_zh,
                evidence_en=item.evidence_en,
                rules=item.rules,
                rule_hashes=item.rule_hashes,
                risk_score=item.risk_score,
                event_keys=item.event_keys,
                event_count=item.event_count,
                last_at=item.last_at,
            )
    return len(items)


def build(
    explanations: pa.Table | None,
    findings: pa.Table | None,
    finding_events: pa.Table | None,
    *,
    chain_hash: str = "",
    purposes: pa.Table | None = None,
    calendar: GovCalendar | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BuildSummary:
    """Upsert every (unit, report_date) report found in the explanations table."""
    summary = BuildSummary()
    if explanations is None or explanations.num_rows == 0:
        return summary
    calendar = calendar or GovCalendar()
    by_key: dict[tuple[str, dt.date], list[dict]] = defaultdict(list)
    for row in explanations.to_pylist():
        if not row.get("unit_id"):
            summary.without_unit += 1
            continue
        by_key[(str(row["unit_id"]), row["report_date"])].append(row)
    findings_by_key: dict[tuple[str, dt.date], list[dict]] = defaultdict(list)
    for row in findings.to_pylist() if findings is not None else []:
        if row.get("unit_id"):
            findings_by_key[(str(row["unit_id"]), row["report_date"])].append(row)
    events: dict[str, list[str]] = defaultdict(list)
    for row in finding_events.to_pylist() if finding_events is not None else []:
        events[str(row["finding_id"])].append(f"{row['system']}:{row['event_id']}")
    purpose_names = {
        f"{r['system']}|{r['purpose_code']}": str(r.get("description") or "")
        for r in (purposes.to_pylist() if purposes is not None else [])
    }
    units = set(Unit.objects.values_list("unit_id", flat=True))
    people = {p.staff_id: p for p in Person.objects.all()}
    names = {k: p.name for k, p in people.items()}
    existing = {(r.unit_id, r.report_date): r for r in Report.objects.all()}
    keys = sorted(by_key)
    for done, key in enumerate(keys, start=1):
        unit_id = key[0]
        if unit_id not in units:
            summary.unknown_units.add(unit_id)
            continue
        rows = by_key[key]
        unit_findings = findings_by_key.get(key, [])
        print_ = fingerprint(rows, unit_findings)
        report = existing.get(key)
        if report is not None and report.fingerprint == print_:
            summary.unchanged += 1
        elif report is not None and report.status not in (
            Report.Status.OPEN,
            Report.Status.RETURNED,
        ):
            summary.locked += 1
        else:
            with transaction.atomic():
                summary.items += _build_one(
                    report,
                    key,
                    rows,
                    unit_findings,
                    events,
                    people,
                    names,
                    purpose_names,
                    print_,
                    chain_hash,
                    calendar,
                    summary,
                )
            summary.lookups += len(rows)
        if progress:
            progress(done, len(keys))
    return summary


def _build_one(
    report: Report | None,
    key: tuple[str, dt.date],
    rows: list[dict],
    unit_findings: list[dict],
    events: dict[str, list[str]],
    people: dict[str, Person],
    names: dict[str, str],
    purpose_names: dict[str, str],
    print_: str,
    chain_hash: str,
    calendar: GovCalendar,
    summary: BuildSummary,
) -> int:
    unit_id, report_date = key
    rule_hashes: dict[str, str] = {}
    for f in unit_findings:
        rule_hashes.update(_hashes(f.get("rule_hashes")))
    values = {
        "fingerprint": print_,
        "chain_hash": chain_hash,
        "rule_hashes": rule_hashes,
        "lookup_count": len(rows),
        "explained_count": sum(1 for r in rows if r.get("explanation")),
        "summary": _summary(rows, names, purpose_names),
        "built_at": timezone.now(),
        "due_date": due_date(report_date, calendar),
    }
    if report is None:
        report = Report.objects.create(unit_id=unit_id, report_date=report_date, **values)
        action = ReportEvent.Action.BUILT
        summary.created += 1
    else:
        updated = Report.objects.filter(
            pk=report.pk, status__in=(Report.Status.OPEN, Report.Status.RETURNED)
        ).update(**values)
        if updated != 1:  # submitted meanwhile: never rebuild
            summary.locked += 1
            return 0
        action = ReportEvent.Action.REBUILT
        summary.rebuilt += 1
    sample = spot_check_sample(unit_id, report_date, rows)
    items = _items(report, unit_findings, events, sample, people)
    count = _replace_content(report, rows, items)
    ReportEvent.objects.create(
        report=report,
        action=action,
        comment=f"{len(rows)} 筆查詢、{count} 項待審 / {len(rows)} look-ups, {count} items",
    )
    return count


def _between(table: pa.Table | None, start: dt.date | None, end: dt.date | None) -> pa.Table | None:
    """Only the rows whose report_date is within [start, end] (pyarrow, before any Python)."""
    if table is None or (start is None and end is None) or "report_date" not in table.column_names:
        return table
    import pyarrow.compute as pc

    mask = None
    column = table.column("report_date")
    if start is not None:
        mask = pc.greater_equal(column, pa.scalar(start, pa.date32()))
    if end is not None:
        upper = pc.less_equal(column, pa.scalar(end, pa.date32()))
        mask = upper if mask is None else pc.and_(mask, upper)
    return table.filter(mask)


def build_from_store(
    home: Path,
    progress: Callable[[int, int], None] | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> BuildSummary:
    """Read the store's latest snapshot and build the reports it covers (optionally only the
    report dates within [start, end])."""
    from menshen.store import Store

    snap = Store(home).snapshot()
    purposes_path = snap.reference("purposes")
    calendar_path = snap.reference("calendar")
    calendar = GovCalendar()
    if calendar_path is not None:
        from menshen.calendar import DayInfo

        for row in pq.read_table(calendar_path).to_pylist():
            if row.get("date") is not None:
                calendar.overrides[row["date"]] = DayInfo(bool(row.get("is_workday")), "")
    findings = _between(_read(snap.derived("findings"), "findings"), start, end)
    finding_events = _read(snap.derived("finding_events"), "finding_events")
    if finding_events is not None and findings is not None and (start or end):
        import pyarrow.compute as pc

        finding_events = finding_events.filter(
            pc.is_in(finding_events.column("finding_id"), value_set=findings.column("finding_id"))
        )
    return build(
        _between(_read(snap.derived("explanations"), "explanations"), start, end),
        findings,
        finding_events,
        chain_hash=snap.chain_hash or "",
        purposes=pq.read_table(purposes_path) if purposes_path else None,
        calendar=calendar,
        progress=progress,
    )
