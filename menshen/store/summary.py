"""The ingest summary printed by `menshen ingest` (format documented in docs/store.md)."""

from __future__ import annotations

from menshen.store.ingest import IngestReport

COUNTS = (
    ("rows_read", "讀取 read"),
    ("kept", "保留 kept"),
    ("quarantined", "隔離 quarantined"),
    ("invalid_ids", "證號無效 invalid ids"),
    ("duplicates", "重複略過 duplicates"),
    ("conflicts", "衝突 conflicts"),
)


def summary_lines(report: IngestReport, max_problems: int = 20) -> list[str]:
    lines = [f"匯入 / ingest: {report.source} → {report.home}"]
    if report.batch_id:
        lines.append(f"已提交批次 / committed batch: {report.batch_id}")
    else:
        lines.append("沒有新資料，未新增批次 / nothing new: no batch added")
    lines.append("")
    for f in report.files:
        counts = ", ".join(f"{label} {getattr(f, attr):,}" for attr, label in COUNTS)
        lines.append(f"{f.file} [{f.encoding}]: {counts}")
        notes = list(f.notes)
        if f.unchanged:
            notes.append(
                "與現存版本相同，未另存 / identical to the stored version, not stored again"
            )
        if f.blank_lines:
            notes.append(f"略過空白行 / blank lines skipped: {f.blank_lines}")
        if f.extra_columns:
            notes.append(f"未使用的額外欄位 / extra columns ignored: {', '.join(f.extra_columns)}")
        lines.extend(f"    {note}" for note in notes)
    quarantine = [f for f in report.files if f.quarantine_path]
    if quarantine:
        lines.append("")
        lines.append("隔離檔 / quarantine files:")
        lines.extend(f"  {f.file}: {f.quarantine_path}" for f in quarantine)
    problems = [p for f in report.files for p in f.problems]
    if problems:
        total = report.quarantined
        lines.append("")
        lines.append(
            f"問題（共 {total:,} 列被隔離，列出前 {min(len(problems), max_problems)} 項）/ problems:"
        )
        lines.extend(f"  {p}" for p in problems[:max_problems])
    warnings = [w for f in report.files for w in f.warnings]
    if warnings:
        invalid = sum(f.invalid_ids for f in report.files)
        lines.append("")
        lines.append(f"警告（證號檢查碼不符共 {invalid:,} 筆，已保留並標記）/ warnings:")
        lines.extend(f"  {w}" for w in warnings[:max_problems])
    return lines
