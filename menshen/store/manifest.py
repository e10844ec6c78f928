"""manifest.jsonl: one JSON object per committed batch, chained by SHA-256.

hash = sha256(prev_hash + canonical JSON of the line without "hash"), canonical JSON being
sorted keys, no spaces, UTF-8. content_sha256 = sha256 of the canonical JSON of "files".
The first batch's prev_hash is GENESIS.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

GENESIS = "0" * 64
MANIFEST = "manifest.jsonl"


class ManifestError(Exception):
    """manifest.jsonl cannot be parsed; the message names the line."""


def canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def content_hash(files: list[dict[str, Any]]) -> str:
    return hashlib.sha256(canonical(files)).hexdigest()


def entry_hash(entry: dict[str, Any]) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(str(entry.get("prev_hash", "")).encode() + canonical(body)).hexdigest()


def seal(entry: dict[str, Any], prev_hash: str) -> dict[str, Any]:
    """Fill in content_sha256, prev_hash and hash."""
    entry = dict(entry)
    entry["content_sha256"] = content_hash(entry["files"])
    entry["prev_hash"] = prev_hash
    entry.pop("hash", None)
    entry["hash"] = entry_hash(entry)
    return entry


def sha256_file(path: Path, block: int = 4 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(block):
            digest.update(chunk)
    return digest.hexdigest()


def parse_lines(text: str) -> list[dict[str, Any]]:
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ManifestError(
                f"{MANIFEST}:{number}: 不是有效的 JSON / not valid JSON: {exc}"
            ) from None
        if not isinstance(entry, dict):
            raise ManifestError(f"{MANIFEST}:{number}: 應為 JSON 物件 / expected a JSON object")
        entries.append(entry)
    return entries


def read_manifest(home: Path) -> list[dict[str, Any]]:
    path = home / MANIFEST
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except UnicodeDecodeError as exc:
        raise ManifestError(f"{MANIFEST}: 不是 UTF-8 / not UTF-8: {exc}") from None
    return parse_lines(text)


def dump_lines(entries: list[dict[str, Any]]) -> bytes:
    return b"".join(canonical(e) + b"\n" for e in entries)
