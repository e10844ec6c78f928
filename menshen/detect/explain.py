"""Explain before you flag: give every look-up its explanation, or none.

Order of preference (the first that applies wins):

| code | strength | when |
|---|---|---|
| list_screen | weak | action = list: a list screen shows people incidentally; not deliberate |
| own_record | strong | a record of the purpose's evidence_kind about the subject, handled by the user, open within [occurred_at − window_before_days, occurred_at + window_after_days] (closed_at may be empty) |
| unit_record | strong | the same, handled by the user's unit (colleagues covering for each other) |
| household_record | strong | purpose scope household: the record is about a member of the subject's household (persons.household_id), handled by the user or the unit |
| continuation | strong | the same user looked up the same subject within continuation_days before, that look-up was explained by a record, and this one's purpose needs no record or a record of that kind |
| no_record_needed | weak | the stated purpose exists and needs no record (purposes.evidence_kind empty) |

When the user cited a record (record_ref) that qualifies, it is the one recorded.
A weak explanation never silences the relationship, repeat, volume, watchlist or account rules.
"""

from __future__ import annotations

from collections.abc import Callable

import ibis
import ibis.expr.types as ir

DAY = 86400
# Explained by a record of the look-up's own (a continuation carries one over).
BY_RECORD = ("own_record", "unit_record", "household_record")
STRONG = (*BY_RECORD, "continuation")

EXPLANATION_TEXT: dict[str, tuple[str, str]] = {
    "own_record": ("承辦人本人經辦之業務案件", "a business record handled by the user"),
    "unit_record": ("承辦人所屬單位經辦之業務案件", "a business record handled by the user's unit"),
    "household_record": (
        "同戶成員之業務案件（查詢事由以全戶為範圍）",
        "a record about a member of the subject's household (household-scope purpose)",
    ),
    "continuation": (
        "延續先前已有案件依據之查詢",
        "continues an earlier explained look-up of the same person by the same user",
    ),
    "no_record_needed": ("查詢事由毋須業務案件（弱說明）", "the purpose needs no record (weak)"),
    "list_screen": ("清單畫面附帶顯示，非特定查詢", "shown incidentally on a list screen"),
}


# An int64 unique per look-up, the same in every query (pipeline.load_access): explain's
# joins use it rather than the (system, event_id) strings.
ROW_ID = "row_id"

# The columns of the look-ups that explaining them reads (before the final join).
EXPLAIN_INPUTS = (
    ROW_ID, "subject_id", "purpose_scope", "evidence_kind", "ts", "staff_id", "unit_id",
    "record_ref", "window_before_days", "window_after_days", "deliberate",
)  # fmt: skip


def _record_candidates(looked: ir.Table, records: ir.Table, persons: ir.Table) -> ir.Table:
    """(row_id, r_id, record_ref, own, unit, household) for every record in the window."""
    need = looked.filter(looked.evidence_kind.notnull() & looked.deliberate)
    need = need.select(
        ROW_ID,
        "subject_id",
        "purpose_scope",
        "evidence_kind",
        "staff_id",
        "unit_id",
        "record_ref",
        lo=need.ts - need.window_before_days * DAY,
        hi=need.ts + need.window_after_days * DAY,
    )
    rec = records.select(
        r_id=records.record_id,
        r_kind=records.kind,
        r_subject=records.subject_id,
        r_staff=records.staff_id,
        r_unit=records.unit_id,
        r_open=records.opened_ts,
        r_close=records.closed_ts,
    )

    # Whose records count: the subject's own, and for a household-scope look-up those of the
    # other members of the subject's household (persons.household_id), looked up for those
    # look-ups only (a join of every look-up to persons costs more). Then one join to the
    # records for both (each join reads every record).
    cols = [ROW_ID, "evidence_kind", "staff_id", "unit_id", "record_ref", "lo", "hi"]
    direct = need.select(*cols, target=need.subject_id, household=ibis.literal(False))
    hh_need = need.filter(need.purpose_scope == "household")
    subj = persons.select(h_id=persons.person_id, h_household=persons.household_id)
    hh_need = hh_need.join(subj, hh_need.subject_id == subj.h_id)
    hh_need = hh_need.filter(hh_need.h_household.notnull())
    members = persons.select(m_id=persons.person_id, m_household=persons.household_id)
    hh = hh_need.join(members, hh_need.h_household == members.m_household)
    hh = hh.filter(hh.m_id != hh.subject_id)
    hh = hh.select(*cols, target=hh.m_id, household=ibis.literal(True))
    targets = direct.union(hh)
    both = targets.join(rec, [targets.target == rec.r_subject, targets.evidence_kind == rec.r_kind])
    both = both.filter(
        (both.r_open <= both.hi) & (both.r_close.isnull() | (both.r_close >= both.lo))
    )
    both = both.select(
        ROW_ID, "record_ref", "staff_id", "unit_id", "r_id", "r_staff", "r_unit", "household"
    )
    return both.mutate(
        own=both.staff_id.notnull() & (both.r_staff == both.staff_id),
        unit=both.unit_id.notnull() & (both.r_unit == both.unit_id),
    )


def _as_is(_name: str, table: ir.Table) -> ir.Table:
    return table


def explain(
    looked: ir.Table,
    records: ir.Table,
    persons: ir.Table,
    continuation_days: int,
    keep: Callable[[str, ir.Table], ir.Table] = _as_is,
    inputs: ir.Table | None = None,
    anchors: ir.Table | None = None,
) -> ir.Table:
    """`looked` plus explanation and explanation_record_id (the strength follows from the
    code: pipeline.widen derives explanation_strength and explained_strong from STRONG).

    `looked` has ROW_ID, deliberate, purpose_known and evidence_kind; `inputs` (default
    `looked`) the same rows with EXPLAIN_INPUTS, and may be a cheaper expression. Only
    `inputs` is read until the final join, so `looked` may be a wide expression that is
    computed once, at the end. `keep(name, table)` may materialise an intermediate result
    that is read more than once (the best-record and continuation tables); by default
    nothing is kept. `anchors`: look-ups explained earlier (not in `looked`) that a record
    explains — staff_id, subject_id, ts, evidence_kind, explanation_record_id — which a
    look-up of `looked` may continue."""
    narrow = (looked if inputs is None else inputs).select(*EXPLAIN_INPUTS)
    cand = _record_candidates(narrow, records, persons)
    cand = cand.filter(cand.own | cand.unit)
    # rank 1 = own & direct, 2 = unit & direct, 3 = household; prefer the cited record; then
    # the smallest record id.
    rank = ibis.cases((~cand.household & cand.own, 1), (~cand.household & cand.unit, 2), else_=3)
    cand = cand.mutate(
        sort_key=rank.cast("string")
        + ibis.ifelse(cand.r_id == cand.record_ref.fill_null(""), "0", "1")
        + cand.r_id
    )
    best = cand.group_by(ROW_ID).agg(best_key=cand.sort_key.min())
    best = best.select(
        b_row=best[ROW_ID],
        rec_code=best.best_key.substr(0, 1),
        rec_id=best.best_key.substr(2),
    )
    best = keep("best_record", best)

    def with_best(table: ir.Table) -> ir.Table:
        table = table.left_join(best, table[ROW_ID] == best.b_row).drop("b_row")
        rec_expl = ibis.cases(
            (table.rec_code == "1", "own_record"),
            (table.rec_code == "2", "unit_record"),
            (table.rec_code == "3", "household_record"),
            else_=ibis.null("string"),
        )
        return table.mutate(rec_expl=rec_expl)

    # Continuation: the latest record-explained look-up of the same subject by the same user
    # within continuation_days before, when the later look-up's purpose needs no record or
    # needs a record of the kind that explained the earlier one (its evidence_kind). A case
    # carries over to a follow-up; it does not make a purpose that needs another kind of
    # record true (a household-register case does not explain opening the person's
    # criminal record "for a nationality change"). A join on (staff, subject) restricted to
    # the look-ups that a record does not explain (a window over every look-up is far
    # slower). It reads only a few columns: the narrow inputs, so that the wide look-up
    # rows are joined once, at the end.
    t = with_best(
        narrow.filter(narrow.deliberate & narrow.staff_id.notnull()).select(
            ROW_ID, "staff_id", "subject_id", "ts", "evidence_kind"
        )
    )
    horizon = continuation_days * DAY
    extra = anchors
    anchors = t.filter(t.rec_expl.notnull())
    anchors = anchors.select(
        a_kind=anchors.evidence_kind, a_staff=anchors.staff_id, a_subject=anchors.subject_id,
        a_ts=anchors.ts, a_rec=anchors.rec_id,
    )  # fmt: skip
    if extra is not None:
        earlier = extra.select(
            a_kind=extra.evidence_kind, a_staff=extra.staff_id, a_subject=extra.subject_id,
            a_ts=extra.ts, a_rec=extra.explanation_record_id,
        )  # fmt: skip
        anchors = anchors.union(earlier)
    open_ = t.filter(t.rec_expl.isnull())
    open_ = open_.select(ROW_ID, "staff_id", "subject_id", "ts", "evidence_kind")
    pairs = open_.join(
        anchors,
        [
            open_.staff_id == anchors.a_staff,
            open_.subject_id == anchors.a_subject,
            open_.evidence_kind.isnull() | (open_.evidence_kind == anchors.a_kind),
            anchors.a_ts <= open_.ts,
            anchors.a_ts >= open_.ts - horizon,
        ],
    )
    latest = pairs.group_by(ROW_ID).agg(
        anchor_key=(pairs.a_ts.cast("string").lpad(12, "0") + pairs.a_rec).max()
    )
    latest = latest.select(k_row=latest[ROW_ID], anchor_key=latest.anchor_key)
    latest = keep("continuation", latest)
    t = with_best(looked)
    t = t.left_join(latest, t[ROW_ID] == latest.k_row).drop("k_row")
    continued = t.anchor_key.notnull()
    explanation = ibis.cases(
        (~t.deliberate, "list_screen"),
        (t.rec_expl.notnull(), t.rec_expl),
        (continued, "continuation"),
        (t.purpose_known & t.evidence_kind.isnull(), "no_record_needed"),
        else_=ibis.null("string"),
    )
    t = t.mutate(explanation=explanation)
    t = t.mutate(
        explanation_record_id=ibis.cases(
            (t.rec_expl.notnull() & t.deliberate, t.rec_id),
            (t.explanation == "continuation", t.anchor_key.substr(12)),
            else_=ibis.null("string"),
        ),
    )
    return t.drop("rec_code", "rec_id", "rec_expl", "anchor_key")
