"""The fixed catalogue of the synthetic agency: systems, purposes, record kinds, and which
kind of unit uses which purpose how often."""

from __future__ import annotations

from dataclasses import dataclass

# system code -> (name, sensitivity)
SYSTEMS: dict[str, tuple[str, str]] = {
    "RIS": ("戶役政資訊系統", "medium"),
    "LIQ": ("勞工保險資料查詢系統（勞保閘門）", "high"),
    "PKN": ("警政知識聯網", "high"),
    "CRS": ("刑案資料查詢系統（法務部刑事資料）", "high"),
    "PET": ("民眾陳情案件管理系統", "low"),
}

# record kind -> (zh-TW label, short code used in record numbers)
RECORD_KINDS: dict[str, tuple[str, str]] = {
    "household_registration": ("戶籍登記案件", "HJ"),
    "id_card_application": ("國民身分證申請", "ID"),
    "transcript_application": ("戶籍謄本申請", "TR"),
    "official_letter": ("機關來函", "OL"),
    "low_income_review": ("低收入戶資格審核", "LI"),
    "job_seeker_registration": ("求職登記表", "JS"),
    "unemployment_benefit": ("失業給付申請", "UB"),
    "training_application": ("職業訓練報名", "VT"),
    "criminal_case": ("刑案偵查案件", "CC"),
    "police_report": ("受理報案", "PR"),
    "traffic_accident": ("交通事故案件", "TA"),
    "missing_person": ("失蹤人口協尋", "MP"),
    "name_change": ("更名登記案件", "NC"),
    "nationality_change": ("國籍變更案件", "NT"),
    "id_change": ("統一編號變更案件", "IC"),
    "petition": ("陳情案件", "PT"),
    "welfare_batch_review": ("社福資格批次勾稽清冊", "WB"),
}


@dataclass(frozen=True)
class Purpose:
    system: str
    code: str
    description: str
    evidence_kind: str  # "" = needs no record
    before: int  # window_before_days
    after: int  # window_after_days
    allowed_kinds: tuple[str, ...] = ()  # unit kinds allowed; () = all
    scope: str = "person"
    texts: tuple[str, ...] = ()  # free text users sometimes type


PURPOSES: tuple[Purpose, ...] = (
    Purpose("RIS", "R01", "戶籍登記（遷入、遷出、出生、死亡等）案件辦理", "household_registration", 30, 3,
            texts=("遷入登記", "出生登記", "死亡登記", "住址變更")),
    Purpose("RIS", "R02", "國民身分證初領、補領、換領", "id_card_application", 30, 3,
            texts=("補領身分證", "換領身分證")),
    Purpose("RIS", "R03", "戶籍謄本申請核發", "transcript_application", 14, 2, texts=("謄本",)),
    Purpose("RIS", "R04", "民眾臨櫃諮詢（本人到場）", "", 0, 0, texts=("臨櫃詢問", "民眾諮詢")),
    Purpose("RIS", "R05", "低收入戶、中低收入戶資格審核（全戶）", "low_income_review", 60, 7,
            ("social",), "household", texts=("低收複查", "全戶審核")),
    Purpose("RIS", "R06", "機關來函查復", "official_letter", 30, 5, texts=("函查", "來函查復")),
    Purpose("LIQ", "L01", "依民眾授權查詢勞保資料之求職登記表辦理", "job_seeker_registration", 30, 3,
            ("emp_station",), texts=("求職登記", "推介就業")),
    Purpose("LIQ", "L02", "失業給付申請資格審查", "unemployment_benefit", 45, 3, ("emp_station",),
            texts=("失業認定",)),
    Purpose("LIQ", "L03", "低收入戶資格審核查核投保薪資（全戶）", "low_income_review", 60, 7,
            ("social",), "household", texts=("低收複查",)),
    Purpose("LIQ", "L04", "職業訓練報名資格審查", "training_application", 30, 3, ("emp_station",)),
    Purpose("LIQ", "L05", "社會福利資格批次勾稽", "welfare_batch_review", 10, 2, ("social",)),
    Purpose("PKN", "P01", "刑案偵查", "criminal_case", 90, 3, ("police_station", "police_inv"),
            texts=("偵查", "案件偵辦")),
    Purpose("PKN", "P02", "受理民眾報案", "police_report", 30, 2, ("police_station", "police_inv"),
            texts=("受理報案",)),
    Purpose("PKN", "P03", "臨檢盤查身分查證", "", 0, 0, ("police_station", "police_inv"),
            texts=("盤查", "路檢")),
    Purpose("PKN", "P04", "交通事故處理", "traffic_accident", 30, 2, ("police_station",),
            texts=("車禍處理",)),
    Purpose("PKN", "P05", "失蹤人口協尋", "missing_person", 60, 2, ("police_station", "police_inv")),
    Purpose("CRS", "C01", "更名案件辦理", "name_change", 30, 3, ("hr_reg",)),
    Purpose("CRS", "C02", "國籍變更案件辦理", "nationality_change", 30, 3, ("hr_reg",)),
    Purpose("CRS", "C03", "身分證統一編號變更案件辦理", "id_change", 30, 3, ("hr_reg",)),
    Purpose("CRS", "C04", "刑案偵查查詢前科資料", "criminal_case", 90, 3, ("police_inv",)),
    Purpose("PET", "X01", "民眾陳情案件處理", "petition", 30, 3, texts=("陳情",)),
    Purpose("PET", "X02", "民眾電話諮詢", "", 0, 0, texts=("電話諮詢",)),
)  # fmt: skip

PURPOSE_BY_CODE: dict[str, Purpose] = {p.code: p for p in PURPOSES}

# unit kind -> (system, purpose code, weight) for everyday case work of that unit
WORK_MIX: dict[str, tuple[tuple[str, str, float], ...]] = {
    "hr_reg": (("RIS", "R01", 40), ("RIS", "R02", 16), ("RIS", "R03", 16), ("RIS", "R04", 12),
               ("RIS", "R06", 3), ("CRS", "C01", 1.6), ("CRS", "C02", 0.5), ("CRS", "C03", 0.4)),
    "hr_it": (("RIS", "R06", 6), ("RIS", "R04", 2)),
    "emp_station": (("LIQ", "L01", 55), ("LIQ", "L02", 20), ("LIQ", "L04", 13)),
    "police_station": (("PKN", "P02", 34), ("PKN", "P03", 34), ("PKN", "P04", 20),
                       ("PKN", "P05", 5), ("PKN", "P01", 7)),
    "police_inv": (("PKN", "P01", 60), ("PKN", "P05", 8), ("PKN", "P03", 14), ("CRS", "C04", 18)),
    "civil": (("RIS", "R06", 30), ("RIS", "R04", 25), ("PET", "X01", 30), ("PET", "X02", 15)),
    "social": (("RIS", "R05", 32), ("LIQ", "L03", 16), ("RIS", "R04", 22), ("PET", "X01", 30)),
}  # fmt: skip

# Systems each unit kind holds accounts on; CRS only for designated users (see org.py).
UNIT_SYSTEMS: dict[str, tuple[str, ...]] = {
    "hr_reg": ("RIS", "CRS"),
    "hr_it": ("RIS",),
    "emp_station": ("LIQ",),
    "police_station": ("PKN",),
    "police_inv": ("PKN", "CRS"),
    "civil": ("RIS", "PET"),
    "social": ("RIS", "LIQ", "PET"),
}

# Units that work in shifts around the clock, every day (police).
ROUND_THE_CLOCK = frozenset({"police_station", "police_inv"})
