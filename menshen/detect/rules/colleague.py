"""colleague — the subject is another member of staff (co-worker snooping)."""

from __future__ import annotations

import ibis.expr.types as ir

from menshen.detect.context import RuleContext
from menshen.detect.evidence import concat, hits, text
from menshen.detect.rule import Case, Rule
from menshen.detect.testing import lookup, record


def query(ctx: RuleContext) -> ir.Table:
    t = ctx.lookups
    staff = ctx.staff.filter(ctx.staff.national_id.notnull())
    units = ctx.units.select(u_id=ctx.units.unit_id, u_name=ctx.units.name)
    staff = staff.left_join(units, staff.unit_id == units.u_id)
    staff = staff.select(
        c_staff=staff.staff_id, c_nid=staff.national_id, c_unit=staff.unit_id,
        c_unit_name=staff.u_name, c_title=staff.title,
    )  # fmt: skip
    t = t.filter(t.deliberate & ~t.explained_strong)
    t = t.join(staff, t.subject_id == staff.c_nid)
    t = t.filter(t.staff_id.isnull() | (t.c_staff != t.staff_id))
    same_unit = t.unit_id.notnull() & (t.c_unit == t.unit_id)
    where_zh = text(t.c_unit_name, "本機關") + text(t.c_title, "")
    zh = concat("查詢對象為本機關職員（", where_zh, "）", same_unit.ifelse("，且為同單位同事", ""))
    en = concat(
        "the person looked up is a member of staff (", text(t.c_unit), ")",
        same_unit.ifelse(", in the user's own unit", ""),
    )  # fmt: skip
    return hits(t, zh, en)


CASES = (
    Case(
        "a clerk looks up her section chief through a walk-in purpose",
        positive=True,
        tables={"access": [lookup("c1", "S02", "S01", "2025-02-11 10:00", "HR02")]},
        expect=("c1",),
    ),
    Case(
        "a police officer looks up the employment station's temporary employee",
        positive=True,
        tables={"access": [lookup("c2", "S04", "S05", "2025-02-11 10:00", None, system="PN")]},
        expect=("c2",),
    ),
    Case(
        "a colleague's own application handled by the user explains it; self is another rule",
        positive=False,
        tables={
            "records": [
                record("R-COL", "household_registration", "S01", "S02", "HH01", "2025-02-11 09:00")
            ],
            "access": [
                lookup("y1", "S02", "S01", "2025-02-11 10:00", "HR01"),
                lookup("y2", "S02", "S02", "2025-02-11 10:00", "HR02"),
                lookup("y3", "S02", "S01", "2025-02-11 10:00", "HR02", action="list"),
            ],
        },
    ),
)

RULE = Rule(
    id="colleague",
    title_zh="查詢同機關職員",
    title_en="Subject is a member of staff",
    severity="high",
    motivated_by=(
        "同事間窺探為醫療隱私事件常見類型（Protenus：co-workers）。 / Co-worker snooping, a common "
        "insider case type in healthcare privacy monitoring."
    ),
    false_positives=(
        "同仁以民眾身分臨櫃申辦，由承辦人經辦之案件可說明；免附案件事由不足以排除。 / A colleague "
        "served as a citizen: a record handled by the user explains it; a no-record purpose does not."
    ),
    review_guide=(
        "確認該同仁當日是否有申辦案件或公務往來；必要時詢問被查詢同仁。 / Check whether the colleague "
        "had business that day; ask them if needed."
    ),
    query=query,
    reads=("staff",),
    cases=CASES,
)
