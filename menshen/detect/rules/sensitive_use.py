"""sensitive-use — a high-sensitivity system used for a purpose not allowed for the user's
unit (or without a listed purpose)."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from menshen.detect.context import RuleContext
from menshen.detect.evidence import concat, hits, text
from menshen.detect.rule import Case, Rule
from menshen.detect.testing import lookup


def query(ctx: RuleContext) -> ir.Table:
    t = ctx.lookups
    t = t.filter(t.deliberate & (t.sensitivity == "high") & (~t.purpose_known | ~t.unit_allowed))
    # Only the narrow columns come from the wide look-ups table; the names and texts are
    # per system / purpose / unit, so they are taken from the small reference tables (the
    # same de-duplicated rows enrich() joined) instead of being read for every look-up.
    t = t.select(t.system, t.event_id, t.unit_id, t.purpose_code, t.purpose_known)
    sy = ctx.systems.select(y_system=ctx.systems.system, system_name=ctx.systems.name)
    t = t.left_join(sy, t.system == sy.y_system).drop("y_system")
    pu = ctx.purposes
    pu = pu.select(
        p_system=pu.system, p_code=pu.purpose_code, purpose_description=pu.description,
        allowed_units=pu.allowed_units,
    )  # fmt: skip
    t = t.left_join(pu, [t.system == pu.p_system, t.purpose_code == pu.p_code])
    t = t.drop("p_system", "p_code")
    units = ctx.units.select(n_unit=ctx.units.unit_id, unit_name=ctx.units.name)
    t = t.left_join(units, t.unit_id == units.n_unit).drop("n_unit")
    name = text(t.system_name, "")
    system = ibis.ifelse(name != "", name, "系統（" + t.system + "）")
    unit = text(t.unit_name, "單位不明")
    zh = ibis.ifelse(
        t.purpose_known,
        concat(
            unit, "人員以「", text(t.purpose_description), "」事由查詢高敏感之", system,
            "；此事由僅限 ", text(t.allowed_units).replace(";", "、"), " 使用",
        ),
        concat(unit, "人員查詢高敏感之", system, "，未填或填列不在清單之查詢事由"),
    )  # fmt: skip
    en = ibis.ifelse(
        t.purpose_known,
        concat(
            "high-sensitivity system ", t.system, " used for '", text(t.purpose_description),
            "', a purpose allowed only for ", text(t.allowed_units).replace(";", ", "),
            ", not the user's unit ", text(t.unit_id),
        ),
        concat("high-sensitivity system ", t.system, " used without a listed purpose"),
    )  # fmt: skip
    return hits(t, zh, en)


CASES = (
    Case(
        "case 3: 戶政 clerk queries criminal records for a criminal-investigation purpose",
        positive=True,
        tables={"access": [lookup("s1", "S02", "P08", "2025-02-15 09:12", "CR03")]},
        expect=("s1",),
    ),
    Case(
        "no purpose on the police network",
        positive=True,
        tables={"access": [lookup("s2", "S04", "P11", "2025-02-11 10:00", None, system="PN")]},
        expect=("s2",),
    ),
    Case(
        "戶政 name-change check and police investigation: allowed; medium systems are out of scope",
        positive=False,
        tables={
            "access": [
                lookup("v1", "S02", "P07", "2025-02-11 10:00", "CR01"),
                lookup("v2", "S04", "P06", "2025-02-11 10:00", "CR03"),
                lookup("v3", "S05", "P12", "2025-02-11 10:00", None, system="LI"),
            ]
        },
    ),
)

RULE = Rule(
    id="sensitive-use",
    title_zh="高敏感系統用於非本單位職掌之事由",
    title_en="High-sensitivity system used for a purpose not allowed for the unit",
    severity="high",
    motivated_by=(
        "戶政機關應用法務部刑事資料注意事項：戶政僅得於姓名、國籍、身分證號變更案件查詢刑事資料；"
        "案例三之戶政人員以刑案系統查詢姪女男友。 / Household-registration offices may query "
        "criminal records only for name, nationality and id changes (case 3)."
    ),
    false_positives=(
        "事由清單之適用單位未更新（組織調整、支援勤務）。 / Allowed-unit lists not updated after a "
        "reorganisation or a temporary assignment."
    ),
    review_guide=(
        "確認該單位是否有法定職掌使用此系統與事由，並調閱查詢紀錄簿。 / Check that the unit has a "
        "legal mandate for this system and purpose; check the query logbook."
    ),
    query=query,
    reads=("purposes", "staff", "systems"),
    cases=CASES,
)
