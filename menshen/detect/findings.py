"""Findings: group rule hits into what a reviewer decides on, score them, and explain them.

- A finding groups the hits of one user (staff, else account) about one subject per
  report_date; hits that carry a `group_key` (a burst over many subjects) are grouped by it.
- risk_score = points of the most severe rule + `secondary_rule_factor` × the points of every
  other rule that fired (menshen.detect.rule.SEVERITY_POINTS) + risk weights:
  temporary/contract staff on a high-sensitivity system, the same privilege held longer than
  `rotation_years`, staff on the confidential risk register (staff_risk: weight points until
  the date `until`; empty weight = `weight_risk_register_default`).
- must_review when risk_score >= `must_review_threshold`.
The register is confidential: it raises the score and is listed in risk_factors, but no
evidence sentence mentions it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from menshen.detect.rule import SEVERITY_POINTS, Rule
from menshen.detect.settings import Settings

SEVERITY_ORDER = ("low", "medium", "high", "critical")
MAX_SENTENCES_PER_RULE = 3

FINDINGS_SCHEMA = pa.schema(
    [
        ("finding_id", pa.string()),
        ("report_date", pa.date32()),
        ("unit_id", pa.string()),
        ("staff_id", pa.string()),
        ("account", pa.string()),
        ("subject_id", pa.string()),
        ("first_at", pa.timestamp("us")),
        ("last_at", pa.timestamp("us")),
        ("event_count", pa.int64()),
        ("rules", pa.list_(pa.string())),
        ("severity", pa.string()),
        ("risk_score", pa.float64()),
        ("must_review", pa.bool_()),
        ("evidence_zh", pa.list_(pa.string())),
        ("evidence_en", pa.list_(pa.string())),
        ("rule_hashes", pa.string()),
        ("risk_factors", pa.list_(pa.string())),
    ]
)
FINDING_EVENTS_SCHEMA = pa.schema(
    [
        ("finding_id", pa.string()),
        ("system", pa.string()),
        ("event_id", pa.string()),
        ("rules", pa.list_(pa.string())),
    ]
)
# Columns of the hit events that findings need (fetched from ctx.lookups).
EVENT_COLUMNS = (
    "system", "event_id", "occurred_at", "report_date", "account", "staff_id", "unit_id",
    "subject_id", "employment", "sensitivity", "account_granted_at",
)  # fmt: skip


@dataclass
class _Group:
    kind: str
    report_date: dt.date
    staff_id: str | None
    account: str
    unit_id: str | None
    events: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    event_rules: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    evidence: dict[str, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))
    seen: set[tuple[str, str, str]] = field(default_factory=set)


def risk_register(staff_risk: pa.Table, settings: Settings) -> dict[str, list[tuple[float, Any]]]:
    out: dict[str, list[tuple[float, Any]]] = defaultdict(list)
    for row in staff_risk.to_pylist():
        if row.get("staff_id"):
            weight = row.get("weight")
            weight = settings.weight_risk_register_default if weight is None else float(weight)
            out[row["staff_id"]].append((weight, row.get("until")))
    return out


def score(rule_ids: Iterable[str], severities: Mapping[str, str], settings: Settings) -> float:
    points = sorted((SEVERITY_POINTS[severities[r]] for r in set(rule_ids)), reverse=True)
    if not points:
        return 0.0
    return points[0] + settings.secondary_rule_factor * sum(points[1:])


def finding_id(kind: str, staff: str, subject: str, first_event: str) -> str:
    raw = "\x1f".join((kind, staff, subject, first_event))
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _hit_order(info: Mapping[tuple[str, str], Mapping[str, Any]]) -> Any:
    def order(hit: Mapping[str, Any]) -> tuple[Any, ...]:
        at = info[(hit["system"], hit["event_id"])]["occurred_at"]
        return (
            at is None,
            at or dt.datetime.min,
            hit["system"] or "",
            hit["event_id"] or "",
            hit["evidence_zh"] or "",
            hit["evidence_en"] or "",
        )

    return order


def build_findings(
    hits: pa.Table,
    events: pa.Table,
    rules: Mapping[str, Rule],
    staff_risk: pa.Table,
    settings: Settings,
) -> tuple[pa.Table, pa.Table]:
    """hits: rule_id, system, event_id, evidence_zh, evidence_en, group_key (nullable).
    events: EVENT_COLUMNS for every hit event. Returns (findings, finding_events)."""
    info = {(r["system"], r["event_id"]): r for r in events.to_pylist()}
    severities = {rid: rule.severity for rid, rule in rules.items()}
    hashes = {rid: rule.content_hash() for rid, rule in rules.items()}
    register = risk_register(staff_risk, settings)
    groups: dict[tuple[Any, ...], _Group] = {}
    # A rule's hits come in no particular order: take them by time so that evidence sentences
    # (and the order of finding_events) are the same on every run and engine.
    rows = [h for h in hits.to_pylist() if (h["system"], h["event_id"]) in info]
    rows.sort(key=_hit_order(info))
    for hit in rows:
        key = (hit["system"], hit["event_id"])
        ev = info[key]  # a rule may flag an event outside the range: those are left out above
        who = ev["staff_id"] or f"account:{ev['system']}:{ev['account']}"
        gk = hit.get("group_key")
        kind = f"burst:{gk}" if gk else "subject"
        gkey = (ev["report_date"], who, kind, ev["subject_id"] if not gk else "")
        group = groups.get(gkey)
        if group is None:
            group = groups[gkey] = _Group(
                kind, ev["report_date"], ev["staff_id"], ev["account"], ev["unit_id"]
            )
        group.events[key] = ev
        group.event_rules[key].add(hit["rule_id"])
        pair = (hit["evidence_zh"] or "", hit["evidence_en"] or "")
        if (hit["rule_id"], *pair) not in group.seen:
            group.seen.add((hit["rule_id"], *pair))
            group.evidence[hit["rule_id"]].append(pair)

    f_rows: list[dict[str, Any]] = []
    e_rows: list[dict[str, Any]] = []
    for (_rd, who, kind, _subject), g in groups.items():
        ordered = sorted(
            g.events.values(), key=lambda e: (e["occurred_at"], e["system"], e["event_id"])
        )
        first, last = ordered[0], ordered[-1]
        subjects = {e["subject_id"] for e in ordered}
        subject = next(iter(subjects)) if len(subjects) == 1 else None
        fired = sorted(
            {r for rs in g.event_rules.values() for r in rs},
            key=lambda r: (-SEVERITY_ORDER.index(severities[r]), r),
        )
        evidence_zh: list[str] = []
        evidence_en: list[str] = []
        for rid in fired:
            sentences = g.evidence[rid]
            for zh, en in sentences[:MAX_SENTENCES_PER_RULE]:
                evidence_zh.append(zh)
                evidence_en.append(en)
            if len(sentences) > MAX_SENTENCES_PER_RULE:
                more = len(sentences) - MAX_SENTENCES_PER_RULE
                evidence_zh.append(f"（另有 {more} 則同類說明）")
                evidence_en.append(f"({more} more of the same kind)")
        factors: list[str] = []
        weight = 0.0
        if first["employment"] in ("temporary", "contract") and any(
            e["sensitivity"] == "high" for e in ordered
        ):
            factors.append("temporary_on_high_sensitivity")
            weight += settings.weight_temporary_high
            label = "臨時人員" if first["employment"] == "temporary" else "約聘人員"
            evidence_zh.append(f"承辦人為{label}，使用高敏感系統")
            evidence_en.append(
                f"the user is {first['employment']} staff using a high-sensitivity system"
            )
        granted = first["account_granted_at"]
        if granted is not None:
            years = (first["occurred_at"] - granted).days / 365.25
            if years > settings.rotation_years:
                factors.append("long_tenure")
                weight += settings.weight_long_tenure
                evidence_zh.append(
                    f"同一查詢權限自 {granted.date().isoformat()} 起已逾 {settings.rotation_years} 年未輪調"
                )
                evidence_en.append(
                    f"the same privilege held since {granted.date().isoformat()}, over "
                    f"{settings.rotation_years} years without rotation"
                )
        for w, until in register.get(g.staff_id or "", []):
            if until is None or until >= g.report_date:
                factors.append("risk_register")
                weight += w
                break
        risk = round(score(fired, severities, settings) + weight, 1)
        fid = finding_id(kind, who, subject or "", f"{first['system']}/{first['event_id']}")
        f_rows.append(
            {
                "finding_id": fid,
                "report_date": g.report_date,
                "unit_id": g.unit_id,
                "staff_id": g.staff_id,
                "account": g.account,
                "subject_id": subject,
                "first_at": first["occurred_at"],
                "last_at": last["occurred_at"],
                "event_count": len(ordered),
                "rules": fired,
                "severity": SEVERITY_ORDER[max(SEVERITY_ORDER.index(severities[r]) for r in fired)],
                "risk_score": risk,
                "must_review": risk >= settings.must_review_threshold,
                "evidence_zh": evidence_zh,
                "evidence_en": evidence_en,
                "rule_hashes": json.dumps({r: hashes[r] for r in fired}, sort_keys=True),
                "risk_factors": factors,
            }
        )
        for e in ordered:
            key = (e["system"], e["event_id"])
            e_rows.append(
                {"finding_id": fid, "system": e["system"], "event_id": e["event_id"],
                 "rules": sorted(g.event_rules[key])}
            )  # fmt: skip
    f_rows.sort(
        key=lambda r: (r["report_date"], r["unit_id"] or "", -r["risk_score"], r["finding_id"])
    )
    return (
        pa.Table.from_pylist(f_rows, schema=FINDINGS_SCHEMA),
        pa.Table.from_pylist(e_rows, schema=FINDING_EVENTS_SCHEMA),
    )
