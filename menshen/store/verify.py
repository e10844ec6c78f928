"""`menshen verify`: recompute every file's SHA-256 and the manifest's hash chain."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from menshen.store.manifest import (
    GENESIS,
    ManifestError,
    content_hash,
    entry_hash,
    read_manifest,
    sha256_file,
)
from menshen.store.store import PENDING


@dataclass
class VerifyResult:
    batches: int = 0
    files: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        out = [f"  ! {p}" for p in self.problems] + [f"  · {n}" for n in self.notes]
        if self.ok:
            out.append(
                f"證據庫完整 / store intact: {self.batches} 個批次 batches, {self.files} 個檔案 files, "
                "雜湊鏈正確 / hash chain verified"
            )
        else:
            out.append(
                f"驗證失敗 / verification FAILED: {len(self.problems)} 個問題 problems "
                f"({self.batches} batches checked)"
            )
        return out


def verify_store(home: Path) -> VerifyResult:
    result = VerifyResult()
    if not (home / "manifest.jsonl").exists() and not (home / "batches").exists():
        result.problems.append(f"{home}: 找不到證據庫 / no evidence store here")
        return result
    try:
        entries = read_manifest(home)
    except ManifestError as exc:
        result.problems.append(str(exc))
        return result
    result.batches = len(entries)
    prev = GENESIS
    listed: set[str] = set()
    for index, entry in enumerate(entries, start=1):
        batch = str(entry.get("batch_id", f"(line {index})"))
        where = f"batch {batch}"
        if entry.get("seq") != index:
            result.problems.append(
                f"{where}: 順序錯誤，位於第 {index} 行但序號為 {entry.get('seq')} / out of order: "
                f"seq {entry.get('seq')} at manifest line {index}"
            )
        if entry.get("prev_hash") != prev:
            result.problems.append(
                f"{where}: 雜湊鏈斷裂（prev_hash 不符）/ chain broken: prev_hash does not match the "
                "previous batch (reordered, removed or inserted batch)"
            )
        if entry.get("hash") != entry_hash(entry):
            result.problems.append(
                f"{where}: 清單內容遭修改（hash 不符）/ manifest line altered: hash mismatch"
            )
        files = entry.get("files") or []
        if entry.get("content_sha256") != content_hash(files):
            result.problems.append(
                f"{where}: 檔案清單遭修改 / file list altered: content_sha256 mismatch"
            )
        prev = str(entry.get("hash"))
        for item in files:
            rel = str(item.get("path", ""))
            listed.add(rel)
            path = home / rel
            result.files += 1
            if not path.is_file():
                result.problems.append(f"{where}: 檔案遺失 / missing file {rel}")
            elif sha256_file(path) != item.get("sha256"):
                result.problems.append(f"{where}: 檔案遭修改（SHA-256 不符）/ altered file {rel}")
        batch_dir = home / "batches" / batch
        if batch_dir.is_dir():
            for path in sorted(batch_dir.rglob("*")):
                rel = path.relative_to(home).as_posix()
                if path.is_file() and rel not in listed and path.name != PENDING:
                    result.problems.append(f"{where}: 多出的檔案 / extra file {rel}")
        elif files:
            result.problems.append(f"{where}: 批次目錄遺失 / batch directory missing")
    committed = {str(e.get("batch_id")) for e in entries}
    batches_dir = home / "batches"
    if batches_dir.is_dir():
        for batch_dir in sorted(batches_dir.iterdir()):
            if batch_dir.name in committed:
                continue
            if (batch_dir / PENDING).exists():
                result.notes.append(
                    f"batch {batch_dir.name}: 中斷的匯入所留下，下次寫入時清除 / left by an "
                    "interrupted write, never committed; removed on the next write"
                )
            else:
                result.problems.append(
                    f"batch {batch_dir.name}: 多出的批次，不在清單中 / extra batch not in the manifest"
                )
    return result
