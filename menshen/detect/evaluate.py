"""`menshen evaluate`: detection measured against a labelled dataset (labels.csv).

A look-up counts as flagged when it is in a must-review finding. An incident is caught when
any of its look-ups is flagged. The baseline is today's practice: a random 1% sample of
look-ups (at least one), seeded.
"""

from __future__ import annotations

import csv
import random
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from menshen.calendar import decode_bytes


def read_labels(dataset_dir: Path) -> dict[tuple[str, str], dict[str, str]]:
    path = dataset_dir / "labels.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path}: 找不到標註檔 / labels.csv not found")
    text, _ = decode_bytes(path.read_bytes())
    reader = csv.DictReader(text.splitlines())
    need = {"event_id", "system", "misuse"}
    missing = need - set(reader.fieldnames or [])
    if missing:
        raise ValueError(f"{path}:1: 缺少欄位 / missing columns {sorted(missing)}")
    labels: dict[tuple[str, str], dict[str, str]] = {}
    for line, row in enumerate(reader, start=2):
        misuse = (row.get("misuse") or "").strip()
        if misuse not in {"0", "1"}:
            raise ValueError(f"{path}:{line}: column misuse: expected 0 or 1, got {misuse!r}")
        labels[(row["system"].strip(), row["event_id"].strip())] = row
    return labels


def _ratio(num: float, den: float) -> float | None:
    return round(num / den, 4) if den else None


def metrics(
    explanations: pa.Table,
    flagged: set[tuple[str, str]],
    labels: dict[tuple[str, str], dict[str, str]],
    seed: int = 1,
    rules_of: dict[tuple[str, str], list[str]] | None = None,
) -> dict[str, Any]:
    keys = list(
        zip(
            explanations.column("system").to_pylist(),
            explanations.column("event_id").to_pylist(),
            strict=True,
        )
    )
    explained = pc.is_valid(explanations.column("explanation")).to_pylist()
    total = len(keys)
    misuse_events = flagged_misuse = legit = legit_flagged = legit_explained = 0
    incidents: dict[str, bool] = {}
    incident_scenario: dict[str, str] = {}
    per: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"misuse": 0, "events": 0, "flagged": 0, "explained": 0, "rules": defaultdict(int)}
    )
    rng = random.Random(seed)
    sample = set(rng.sample(range(total), max(1, round(total * 0.01)))) if total else set()
    base_incidents: dict[str, bool] = {}
    base_misuse = 0
    for i, key in enumerate(keys):
        label = labels.get(key, {"misuse": "0", "scenario": "", "incident_id": ""})
        is_misuse = label.get("misuse") == "1"
        hit = key in flagged
        scenario = (label.get("scenario") or "").strip() or (
            "legitimate" if not is_misuse else "misuse"
        )
        s = per[scenario]
        s["misuse"] = int(is_misuse)
        s["events"] += 1
        s["flagged"] += hit
        s["explained"] += bool(explained[i])
        if hit and rules_of:
            for rule in rules_of.get(key, []):
                s["rules"][rule] += 1
        if is_misuse:
            misuse_events += 1
            flagged_misuse += hit
            incident = (label.get("incident_id") or "").strip() or f"{key[0]}/{key[1]}"
            incidents[incident] = incidents.get(incident, False) or hit
            incident_scenario[incident] = scenario
            base_incidents[incident] = base_incidents.get(incident, False) or i in sample
            base_misuse += i in sample
        else:
            legit += 1
            legit_flagged += hit
            legit_explained += bool(explained[i])
    flagged_total = flagged_misuse + legit_flagged
    per_scenario: dict[str, Any] = {}
    for name, s in sorted(per.items()):
        row: dict[str, Any] = {
            "misuse": bool(s["misuse"]),
            "events": s["events"],
            "flagged": s["flagged"],
        }
        if s["misuse"]:
            caught = [incidents[i] for i, sc in incident_scenario.items() if sc == name]
            row["incidents"] = len(caught)
            row["incidents_caught"] = sum(caught)
            row["incident_recall"] = _ratio(sum(caught), len(caught))
            row["event_recall"] = _ratio(s["flagged"], s["events"])
        else:
            row["false_alarms_per_1000"] = round(s["flagged"] / s["events"] * 1000, 2)
            row["explained_rate"] = _ratio(s["explained"], s["events"])
        if s["rules"]:
            row["rules"] = dict(sorted(s["rules"].items(), key=lambda kv: -kv[1]))
        per_scenario[name] = row
    return {
        "events": total,
        "misuse_events": misuse_events,
        "incidents": len(incidents),
        "incident_recall": _ratio(sum(incidents.values()), len(incidents)),
        "event_recall": _ratio(flagged_misuse, misuse_events),
        "precision": _ratio(flagged_misuse, flagged_total),
        "review_load_per_1000": round(flagged_total / total * 1000, 2) if total else None,
        "false_alarms_per_1000_legit": round(legit_flagged / legit * 1000, 2) if legit else None,
        "legit_explained_rate": _ratio(legit_explained, legit),
        "baseline_incident_recall": _ratio(sum(base_incidents.values()), len(base_incidents)),
        "baseline_event_recall": _ratio(base_misuse, misuse_events),
        "baseline_precision": _ratio(base_misuse, len(sample)),
        "baseline_review_load_per_1000": round(len(sample) / total * 1000, 2) if total else None,
        "per_scenario": per_scenario,
    }


def evaluate_dataset(
    dataset_dir: Path, engine: str = "duckdb", seed: int = 1, progress: bool = False
) -> dict[str, Any]:
    from menshen.detect.cli import run_store_detection
    from menshen.store import Store

    dataset_dir = Path(dataset_dir)
    labels = read_labels(dataset_dir)
    with tempfile.TemporaryDirectory(prefix="menshen-eval-") as tmp:
        store = Store(Path(tmp) / "store")
        store.ingest(dataset_dir)
        result, _ = run_store_detection(store.home, None, None, engine, write=False)
    if result is None:
        raise ValueError(f"{dataset_dir}: 資料集沒有可用的查詢紀錄 / no usable look-ups")
    findings = result.tables["findings"]
    events = result.tables["finding_events"]
    must = set(pc.filter(findings.column("finding_id"), findings.column("must_review")).to_pylist())
    flagged: set[tuple[str, str]] = set()
    rules_of: dict[tuple[str, str], list[str]] = defaultdict(list)
    for fid, system, event_id, rules in zip(
        events.column("finding_id").to_pylist(),
        events.column("system").to_pylist(),
        events.column("event_id").to_pylist(),
        events.column("rules").to_pylist(),
        strict=True,
    ):
        if fid in must:
            flagged.add((system, event_id))
            rules_of[(system, event_id)].extend(
                r for r in rules if r not in rules_of[(system, event_id)]
            )
    report = metrics(result.tables["explanations"], flagged, labels, seed, rules_of)
    report["engine"] = engine
    report["dataset"] = str(dataset_dir)
    return report


def _fmt(value: Any, percent: bool = False) -> str:
    if value is None:
        return "—"
    return f"{value * 100:.2f}%" if percent else f"{value}"


def format_report(r: dict[str, Any]) -> str:
    lines = [
        f"資料集 dataset: {r['dataset']}  ({r['events']:,} 筆查詢 look-ups, "
        f"{r['incidents']} 件不當事件 incidents, {r['misuse_events']} 筆不當查詢 misuse look-ups)",
        "",
        f"{'指標 metric':<44}{'menshen':>12}{'1% 抽查 sample':>18}",
        f"{'事件召回率 incident recall':<40}{_fmt(r['incident_recall'], True):>12}{_fmt(r['baseline_incident_recall'], True):>18}",
        f"{'查詢召回率 event recall':<40}{_fmt(r['event_recall'], True):>12}{_fmt(r['baseline_event_recall'], True):>18}",
        f"{'精確率 precision':<42}{_fmt(r['precision'], True):>12}{_fmt(r['baseline_precision'], True):>18}",
        f"{'審查量（每千筆）review load /1000':<36}{_fmt(r['review_load_per_1000']):>12}{_fmt(r['baseline_review_load_per_1000']):>18}",
        f"{'誤報（每千筆合法）false alarms /1000 legit':<32}{_fmt(r['false_alarms_per_1000_legit']):>12}",
        f"{'合法查詢自動說明率 legit explained':<34}{_fmt(r['legit_explained_rate'], True):>12}",
        "",
        "各情境 per scenario:",
    ]  # fmt: skip
    for name, s in r["per_scenario"].items():
        if s["misuse"]:
            rules = ", ".join(f"{k}:{v}" for k, v in list(s.get("rules", {}).items())[:4])
            lines.append(
                f"  {name:<26} incidents {s['incidents_caught']}/{s['incidents']}"
                f"  recall {_fmt(s['incident_recall'], True):>8}"
                f"  events {s['flagged']}/{s['events']}  [{rules}]"
            )
        else:
            lines.append(
                f"  {name:<26} legitimate {s['events']:,}  explained {_fmt(s['explained_rate'], True)}"
                f"  false alarms/1000 {s['false_alarms_per_1000']}"
            )
    return "\n".join(lines)
