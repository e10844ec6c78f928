"""A finding as text a supervisor can check in a minute (`menshen findings`). Ids are
masked; the confidential risk register is never named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from menshen import ids

SEVERITY_ZH = {"low": "低", "medium": "中", "high": "高", "critical": "極高"}
FACTOR_TEXT = {
    "temporary_on_high_sensitivity": ("臨時／約聘人員使用高敏感系統", "temporary/contract staff on a high-sensitivity system"),
    "long_tenure": ("同一權限逾輪調期限", "same privilege beyond the rotation period"),
}  # fmt: skip

_cache: dict[str, dict[str, dict[str, Any]]] = {}


def _lookup(path: Path | None, key: str) -> dict[str, dict[str, Any]]:
    if path is None:
        return {}
    cache_key = f"{path}:{key}"
    if cache_key not in _cache:
        rows = pq.read_table(path).to_pylist()
        _cache[cache_key] = {r[key]: r for r in rows if r.get(key)}
    return _cache[cache_key]


def render_finding(
    row: dict[str, Any], refs: dict[str, Path | None], events: Any = None, english: bool = False
) -> str:
    staff = _lookup(refs.get("staff"), "staff_id").get(row["staff_id"] or "", {})
    units = _lookup(refs.get("units"), "unit_id")
    unit_name = units.get(row["unit_id"] or "", {}).get("name") or row["unit_id"] or "—"
    who = f"{staff.get('name') or '—'}（{row['staff_id'] or '未知 unknown'}"
    if staff.get("title"):
        who += f"，{staff['title']}"
    who += f"，{unit_name}）"
    subject = ids.mask(row["subject_id"]) if row["subject_id"] else "多人 / several people"
    when = f"{row['first_at']:%Y-%m-%d %H:%M}"
    if row["last_at"] != row["first_at"]:
        when += f" – {row['last_at']:%Y-%m-%d %H:%M}"
    review = "須審查 must review" if row["must_review"] else "參考 for information"
    evidence = row["evidence_en"] if english else row["evidence_zh"]
    factors = [
        FACTOR_TEXT[f][1 if english else 0] for f in row["risk_factors"] or [] if f in FACTOR_TEXT
    ]
    lines = [
        "",
        f"━━ 異常事項 finding {row['finding_id']}  風險分數 risk {row['risk_score']:.1f}  "
        f"嚴重度 {SEVERITY_ZH.get(row['severity'], row['severity'])}/{row['severity']}  [{review}]",
        f"承辦人 staff：{who}　帳號 account：{row['account']}",
        f"查詢對象 subject：{subject}　時間 time：{when}　共 {row['event_count']} 筆 look-ups",
        f"觸發規則 rules：{', '.join(row['rules'])}",
        "證據 evidence：",
        *[f"  • {sentence}" for sentence in evidence],
    ]
    if factors and not evidence:
        lines.append(f"風險因子 risk factors：{'、'.join(factors)}")
    return "\n".join(lines)
