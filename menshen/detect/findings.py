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

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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


def _first_index(codes: np.ndarray, n: int) -> np.ndarray:
    """Index of the first row of each code 0..n-1 (every code occurs)."""
    first = np.full(n, len(codes), dtype=np.int64)
    np.minimum.at(first, codes, np.arange(len(codes), dtype=np.int64))
    return first


def _codes(array: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, pa.Array]:
    """Dictionary codes in order of first occurrence (null: its own code) and the values."""
    enc = pc.dictionary_encode(_arr(array), null_encoding="encode")  # one dictionary
    return enc.indices.to_numpy(zero_copy_only=False).astype(np.int64), enc.dictionary


def _segments(*keys: np.ndarray) -> np.ndarray:
    """For rows sorted by `keys`: True where a new (keys) segment starts."""
    n = len(keys[0])
    start = np.zeros(n, dtype=bool)
    if n:
        start[0] = True
        for k in keys:
            start[1:] |= k[1:] != k[:-1]
    return start


def _lists(group: np.ndarray, n_groups: int, values: pa.Array) -> pa.ListArray:
    """List array of n_groups lists; `values` are sorted by `group`."""
    offsets = np.zeros(n_groups + 1, dtype=np.int32)
    np.cumsum(np.bincount(group, minlength=n_groups), out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), values)


def _arr(x: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(x, pa.ChunkedArray):
        return x.combine_chunks() if x.num_chunks != 1 else x.chunk(0)
    return x


def _empty() -> tuple[pa.Table, pa.Table]:
    return FINDINGS_SCHEMA.empty_table(), FINDING_EVENTS_SCHEMA.empty_table()


def build_findings(
    hits: pa.Table,
    events: pa.Table,
    rules: Mapping[str, Rule],
    staff_risk: pa.Table,
    settings: Settings,
) -> tuple[pa.Table, pa.Table]:
    """hits: rule_id, system, event_id, evidence_zh, evidence_en, group_key (nullable).
    events: EVENT_COLUMNS for every hit event. Returns (findings, finding_events).

    Vectorised (Arrow compute and NumPy over all hits at once); Python runs per distinct
    set of fired rules and per finding only for its id (sha256) and the rounding of the
    score."""
    severities = {rid: rule.severity for rid, rule in rules.items()}
    hashes = {rid: rule.content_hash() for rid, rule in rules.items()}
    if hits.num_rows == 0 or events.num_rows == 0:
        return _empty()
    # One row per event (the last, as a dict keyed by event would keep).
    events = events.select(list(EVENT_COLUMNS))
    if events.num_rows > 1:
        idx = pa.array(np.arange(events.num_rows, dtype=np.int64))
        last = (
            events.select(["system", "event_id"]).append_column("_i", idx)
            .group_by(["system", "event_id"], use_threads=False).aggregate([("_i", "max")])
        )  # fmt: skip
        if last.num_rows != events.num_rows:
            events = events.take(pc.sort_indices(last.column("_i_max")))
    h = hits.select(["rule_id", "system", "event_id", "evidence_zh", "evidence_en", "group_key"])
    h = h.set_column(3, "evidence_zh", pc.fill_null(h.column("evidence_zh"), ""))
    h = h.set_column(4, "evidence_en", pc.fill_null(h.column("evidence_en"), ""))
    h = h.append_column("_h", pa.array(np.arange(h.num_rows, dtype=np.int64)))
    # A rule may flag an event outside the range: the inner join leaves those out.
    j = h.join(events, ["system", "event_id"], join_type="inner", use_threads=False)
    if j.num_rows == 0:
        return _empty()
    # A rule's hits come in no particular order: take them by time so that evidence sentences
    # (and the order of finding_events) are the same on every run and engine. Nulls sort
    # last (the default), the hits' own order breaks ties.
    j = j.take(
        pc.sort_indices(
            j,
            sort_keys=[
                ("occurred_at", "ascending"), ("system", "ascending"), ("event_id", "ascending"),
                ("evidence_zh", "ascending"), ("evidence_en", "ascending"), ("_h", "ascending"),
            ],
        )
    )  # fmt: skip
    n = j.num_rows
    j = j.combine_chunks()

    def col(name: str) -> pa.Array:
        return _arr(j.column(name))

    # Grouping: (report_date, who, kind, subject); codes in order of the first hit.
    gk = col("group_key")
    has_gk = pc.fill_null(pc.not_equal(gk, ""), False)
    staff = col("staff_id")
    who = pc.if_else(
        pc.fill_null(pc.not_equal(staff, ""), False),
        staff,
        pc.binary_join_element_wise(
            "account", col("system"), col("account"), ":",
            null_handling="replace", null_replacement="None",
        ),
    )  # fmt: skip
    kind = pc.if_else(has_gk, pc.binary_join_element_wise("burst:", gk, ""), "subject")
    subj = pc.if_else(has_gk, pa.scalar(""), col("subject_id"))
    key = pc.binary_join_element_wise(
        pc.cast(col("report_date"), pa.string()), who, kind,
        pc.if_else(pc.is_null(subj), pa.scalar("\x00"), pc.binary_join_element_wise("=", subj, "")),
        "\x1f", null_handling="replace", null_replacement="\x00",
    )  # fmt: skip
    g, _ = _codes(key)
    n_groups = int(g.max()) + 1
    first = _first_index(g, n_groups)  # the group's first hit = its first event in time
    last = (n - 1) - _first_index(g[::-1], n_groups)
    ev, _ = _codes(pc.binary_join_element_wise(col("system"), col("event_id"), "\x1f"))
    subject_code, _ = _codes(col("subject_id"))

    # Rules: fired order (most severe first, then id), and alphabetical for finding_events.
    rule_ids, rule_dict = _codes(col("rule_id"))
    names = rule_dict.to_pylist()
    fired_order = sorted(
        range(len(names)), key=lambda i: (-SEVERITY_ORDER.index(severities[names[i]]), names[i])
    )
    rank = np.empty(len(names), dtype=np.int64)
    rank[fired_order] = np.arange(len(names))
    alpha_order = sorted(range(len(names)), key=lambda i: names[i])
    alpha = np.empty(len(names), dtype=np.int64)
    alpha[alpha_order] = np.arange(len(names))
    r = rank[rule_ids]
    n_rules = len(names)
    by_rank = pa.array([names[i] for i in fired_order], pa.string())
    by_alpha = pa.array([names[i] for i in alpha_order], pa.string())
    points_by_rank = np.array(
        [SEVERITY_POINTS[severities[names[i]]] for i in fired_order], dtype=np.float64
    )

    # Fired rules per group (sorted by group, then fired order).
    pair = np.unique(g * n_rules + r)
    pg, pr = pair // n_rules, pair % n_rules
    fired = _lists(pg, n_groups, pc.take(by_rank, pa.array(pr)))
    top = np.full(n_groups, n_rules, dtype=np.int64)
    np.minimum.at(top, pg, pr)
    total_points = np.bincount(pg, weights=points_by_rank[pr], minlength=n_groups)
    top_points = points_by_rank[top]
    score = top_points + settings.secondary_rule_factor * (total_points - top_points)
    severity = pc.take(
        pa.array([severities[names[i]] for i in fired_order], pa.string()), pa.array(top)
    )
    # One JSON of rule hashes per distinct set of fired rules, shared by its groups.
    fired_sets = pc.dictionary_encode(pc.binary_join(fired, "\x1f"))
    set_json = [
        json.dumps({r: hashes[r] for r in rules.split("\x1f")}, sort_keys=True)
        for rules in fired_sets.dictionary.to_pylist()
    ]
    rule_hashes = pc.take(pa.array(set_json, pa.string()), fired_sets.indices)

    # Events per group: distinct, in time order (= order of their first hit).
    ge = g * (int(ev.max()) + 1) + ev
    _, ge_first = np.unique(ge, return_index=True)
    ge_rows = ge_first[np.lexsort((ge_first, g[ge_first]))]
    event_count = np.bincount(g[ge_rows], minlength=n_groups)
    gs = np.unique(g * (int(subject_code.max()) + 1) + subject_code)
    n_subjects = np.bincount(gs // (int(subject_code.max()) + 1), minlength=n_groups)

    firsts = j.take(pa.array(first)).combine_chunks()

    def fcol(name: str) -> pa.Array:
        return _arr(firsts.column(name))

    subject = pc.if_else(
        pa.array(n_subjects == 1), fcol("subject_id"), pa.nulls(n_groups, pa.string())
    )

    # Risk weights (all from the group's first event, as the sentences say).
    employment = fcol("employment")
    is_high = pc.fill_null(pc.equal(col("sensitivity"), "high"), False).to_numpy(
        zero_copy_only=False
    )
    any_high = np.bincount(g, weights=is_high.astype(np.float64), minlength=n_groups) > 0
    temporary = (
        pc.fill_null(pc.is_in(employment, pa.array(["temporary", "contract"])), False)
        .to_numpy(zero_copy_only=False) & any_high
    )  # fmt: skip
    granted = fcol("account_granted_at").cast(pa.timestamp("us"))
    at_us = (
        fcol("occurred_at").cast(pa.timestamp("us")).cast(pa.int64()).to_numpy(zero_copy_only=False)
    )
    has_granted = pc.is_valid(granted).to_numpy(zero_copy_only=False)
    gr_us = pc.fill_null(granted.cast(pa.int64()), 0).to_numpy(zero_copy_only=False)
    days = (at_us - gr_us) // 86_400_000_000
    long_tenure = has_granted & (days / 365.25 > settings.rotation_years)
    register_w = np.zeros(n_groups, dtype=np.float64)
    on_register = np.zeros(n_groups, dtype=bool)
    register = risk_register(staff_risk, settings)
    if register:
        staff_ids = fcol("staff_id").to_pylist()
        dates = fcol("report_date").to_pylist()
        for i, sid in enumerate(staff_ids):
            for w, until in register.get(sid or "", []):
                if until is None or until >= dates[i]:
                    on_register[i] = True
                    register_w[i] = w
                    break
    weight = np.zeros(n_groups, dtype=np.float64)
    weight = np.where(temporary, weight + settings.weight_temporary_high, weight)
    weight = np.where(long_tenure, weight + settings.weight_long_tenure, weight)
    weight = np.where(on_register, weight + register_w, weight)
    risk = [round(x, 1) for x in (score + weight).tolist()]
    must_review = [x >= settings.must_review_threshold for x in risk]

    factor_parts = []
    for flag, name in (
        (temporary, "temporary_on_high_sensitivity"), (long_tenure, "long_tenure"),
        (on_register, "risk_register"),
    ):  # fmt: skip
        idx = np.nonzero(flag)[0]
        factor_parts.append(
            (idx, np.full(len(idx), len(factor_parts)), pa.array([name] * len(idx), pa.string()))
        )
    f_g = np.concatenate([p[0] for p in factor_parts])
    f_s = np.concatenate([p[1] for p in factor_parts])
    f_order = np.lexsort((f_s, f_g))
    risk_factors = _lists(
        f_g[f_order], n_groups,
        pa.concat_arrays([p[2] for p in factor_parts]).take(pa.array(f_order)),
    )  # fmt: skip

    # Evidence: per group and rule, the distinct (zh, en) pairs in hit order; the first
    # MAX_SENTENCES_PER_RULE shown, then a count of the rest; then the risk weights' sentences.
    zh_code, _ = _codes(col("evidence_zh"))
    en_code, _ = _codes(col("evidence_en"))
    pos = np.arange(n, dtype=np.int64)
    o = np.lexsort((pos, en_code, zh_code, r, g))
    keep = o[_segments(g[o], r[o], zh_code[o], en_code[o])]  # first of each distinct pair
    keep = keep[np.lexsort((keep, r[keep], g[keep]))]
    seg = _segments(g[keep], r[keep])
    seg_start = np.maximum.accumulate(np.where(seg, np.arange(len(keep)), 0))
    nth = np.arange(len(keep)) - seg_start
    seg_id = np.cumsum(seg) - 1
    seg_len = np.bincount(seg_id)[seg_id]
    shown = keep[nth < MAX_SENTENCES_PER_RULE]
    more_rows = keep[seg & (seg_len > MAX_SENTENCES_PER_RULE)]
    more = (seg_len[seg & (seg_len > MAX_SENTENCES_PER_RULE)] - MAX_SENTENCES_PER_RULE).astype(str)
    more_zh = pa.array(
        np.char.add(np.char.add("（另有 ", more), " 則同類說明）").tolist(), pa.string()
    )
    more_en = pa.array(
        np.char.add(np.char.add("(", more), " more of the same kind)").tolist(), pa.string()
    )
    parts_g = [g[shown], g[more_rows]]
    parts_sec = [r[shown], r[more_rows]]
    parts_sub = [nth[nth < MAX_SENTENCES_PER_RULE], np.full(len(more_rows), MAX_SENTENCES_PER_RULE)]
    parts_zh = [col("evidence_zh").take(pa.array(shown)), more_zh]
    parts_en = [col("evidence_en").take(pa.array(shown)), more_en]
    t_idx = np.nonzero(temporary)[0]
    if len(t_idx):
        emp = employment.take(pa.array(t_idx))
        parts_g.append(t_idx)
        parts_sec.append(np.full(len(t_idx), n_rules))
        parts_sub.append(np.zeros(len(t_idx), dtype=np.int64))
        parts_zh.append(
            pc.if_else(pc.equal(emp, "temporary"), "承辦人為臨時人員，使用高敏感系統",
                       "承辦人為約聘人員，使用高敏感系統")
        )  # fmt: skip
        parts_en.append(
            pc.binary_join_element_wise(
                "the user is ", emp, " staff using a high-sensitivity system", ""
            )
        )
    l_idx = np.nonzero(long_tenure)[0]
    if len(l_idx):
        since = granted.take(pa.array(l_idx)).cast(pa.date32()).cast(pa.string())
        years = str(settings.rotation_years)
        parts_g.append(l_idx)
        parts_sec.append(np.full(len(l_idx), n_rules + 1))
        parts_sub.append(np.zeros(len(l_idx), dtype=np.int64))
        parts_zh.append(
            pc.binary_join_element_wise("同一查詢權限自 ", since, f" 起已逾 {years} 年未輪調", "")
        )
        parts_en.append(
            pc.binary_join_element_wise(
                "the same privilege held since ", since,
                f", over {years} years without rotation", "",
            )
        )  # fmt: skip
    e_g = np.concatenate(parts_g).astype(np.int64)
    e_order = np.lexsort(
        (
            np.concatenate(parts_sub).astype(np.int64),
            np.concatenate(parts_sec).astype(np.int64),
            e_g,
        )
    )
    e_take = pa.array(e_order)
    evidence_zh = _lists(
        e_g[e_order],
        n_groups,
        pa.concat_arrays([_arr(p).cast(pa.string()) for p in parts_zh]).take(e_take),
    )
    evidence_en = _lists(
        e_g[e_order],
        n_groups,
        pa.concat_arrays([_arr(p).cast(pa.string()) for p in parts_en]).take(e_take),
    )

    # finding ids: sha256(kind, who, subject, first event)
    kinds = kind.take(pa.array(first)).to_pylist()
    whos = who.take(pa.array(first)).to_pylist()
    subjects = subject.to_pylist()
    f_sys = fcol("system").to_pylist()
    f_ev = fcol("event_id").to_pylist()
    fids = pa.array(
        [
            finding_id(k, w, s or "", f"{a}/{b}")
            for k, w, s, a, b in zip(kinds, whos, subjects, f_sys, f_ev, strict=True)
        ],
        pa.string(),
    )
    findings = pa.table(
        {
            "finding_id": fids,
            "report_date": fcol("report_date"),
            "unit_id": fcol("unit_id"),
            "staff_id": fcol("staff_id"),
            "account": fcol("account"),
            "subject_id": subject,
            "first_at": fcol("occurred_at"),
            "last_at": col("occurred_at").take(pa.array(last)),
            "event_count": pa.array(event_count, pa.int64()),
            "rules": fired,
            "severity": severity,
            "risk_score": pa.array(risk, pa.float64()),
            "must_review": pa.array(must_review, pa.bool_()),
            "evidence_zh": evidence_zh,
            "evidence_en": evidence_en,
            "rule_hashes": rule_hashes,
            "risk_factors": risk_factors,
        }
    ).cast(FINDINGS_SCHEMA)
    findings = findings.take(
        pc.sort_indices(
            findings.set_column(2, "unit_id", pc.fill_null(findings.column("unit_id"), ""))
            .select(["report_date", "unit_id", "risk_score", "finding_id"]),
            sort_keys=[
                ("report_date", "ascending"), ("unit_id", "ascending"),
                ("risk_score", "descending"), ("finding_id", "ascending"),
            ],
        )
    )  # fmt: skip

    # finding_events: groups in order of their first hit, events in time order, rules sorted.
    a = alpha[rule_ids]
    ger = ge * n_rules + a
    trip = np.unique(ger)
    t_ge = trip // n_rules
    ev_rules_vals = pc.take(by_alpha, pa.array(trip % n_rules))
    ge_sorted = ge[ge_rows]  # event keys of the finding_events rows, in output order
    # rules of each (group, event): the triples are sorted by ge; map each output row to them
    uniq_ge, starts = np.unique(t_ge, return_index=True)
    counts = np.diff(np.append(starts, len(t_ge)))
    where = np.searchsorted(uniq_ge, ge_sorted)
    seg_starts = starts[where]
    seg_counts = counts[where]
    take_idx = np.repeat(seg_starts, seg_counts) + (
        np.arange(seg_counts.sum()) - np.repeat(np.cumsum(seg_counts) - seg_counts, seg_counts)
    )
    offsets = np.zeros(len(ge_rows) + 1, dtype=np.int32)
    np.cumsum(seg_counts, out=offsets[1:])
    ev_rules = pa.ListArray.from_arrays(
        pa.array(offsets, pa.int32()), ev_rules_vals.take(pa.array(take_idx))
    )
    rows = pa.array(ge_rows)
    finding_events = pa.table(
        {
            "finding_id": fids.take(pa.array(g[ge_rows])),
            "system": col("system").take(rows),
            "event_id": col("event_id").take(rows),
            "rules": ev_rules,
        }
    ).cast(FINDING_EVENTS_SCHEMA)
    return findings, finding_events
