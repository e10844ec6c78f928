"""The first pass (menshen.dataset.scan): one read gives the counts, the UTF-8 check and,
when asked, the SHA-256 — also when characters and lines straddle the read pieces."""

from __future__ import annotations

from pathlib import Path

import pytest

from menshen.dataset import scan
from menshen.dataset.errors import DatasetError
from menshen.store.manifest import sha256_file

TEXT = (
    '"event_id","purpose_text"\n"E1","受理報案　查詢"\n"E2","戶籍謄本"\r\n'
    '"E3","a very long line to cross several pieces: 臺北市中正區"\n"E4",""'
)


@pytest.mark.parametrize("piece", [*range(28, 48), 1 << 20])  # the header fits the first
def test_utf8_in_small_pieces_is_detected_with_counts_and_digest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, piece: int
) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(TEXT.encode("utf-8"))
    monkeypatch.setattr(scan, "CHUNK", piece)
    result = scan.scan_csv(path, digest=True)
    assert (result.encoding, result.detected) == ("utf-8", True)
    assert result.lines == 5 and result.header == ["event_id", "purpose_text"]
    assert result.max_line == max(len(line) for line in TEXT.encode().split(b"\n")) + 1
    assert result.sha256 == sha256_file(path)
    assert scan.scan_csv(path).sha256 is None


@pytest.mark.parametrize("piece", [28, 29, 30, 31, 1 << 20])
def test_big5_and_bad_bytes_are_still_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, piece: int
) -> None:
    monkeypatch.setattr(scan, "CHUNK", piece)
    big5 = tmp_path / "b.csv"
    big5.write_bytes(TEXT.encode("cp950"))
    assert scan.scan_csv(big5).encoding == "cp950"
    with pytest.raises(DatasetError):
        scan.scan_csv(big5, "utf-8")
    bom = tmp_path / "c.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + TEXT.encode("utf-8"))
    assert scan.scan_csv(bom).encoding == "utf-8-sig"
    assert scan.scan_csv(bom, "utf-8").encoding == "utf-8-sig"
    bad = tmp_path / "d.csv"
    bad.write_bytes(TEXT.encode("utf-8") + b"\n\xff\xfe\x00\x81")
    with pytest.raises(DatasetError):
        scan.scan_csv(bad)
