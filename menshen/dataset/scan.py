"""First pass over a CSV file: encoding, header, longest line, unterminated quotes.

The whole file is scanned once in 16 MiB chunks (C-speed decoding and numpy), so that the
second pass (pyarrow's streaming parser) can be configured safely:
- encoding: the given one, else UTF-8 (a BOM is allowed), else Big5/CP950; a file valid in
  neither is refused with the line of the first undecodable byte;
- the longest physical line sets pyarrow's block size (a 1 MB line must not fail);
- an odd number of quote characters means an unterminated quote: the line where the
  quoted field opens is located, so it can be quarantined alone instead of swallowing the
  rest of the file. (Big5 trail bytes never equal `"` or newline, so byte scanning is safe
  for both encodings.)
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa

from menshen.dataset.errors import DatasetError, Problem

CHUNK = 16 << 20
BOM = b"\xef\xbb\xbf"
LABELS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 (BOM)",
    "cp950": "Big5/CP950",
    "big5": "Big5",
}


def encoding_label(encoding: str) -> str:
    return LABELS.get(codecs.lookup(encoding).name, encoding) if encoding else "?"


@dataclass
class ScanResult:
    path: Path
    encoding: str  # a Python codec name
    detected: bool  # False when the caller declared the encoding
    size: int  # bytes after decompression
    lines: int  # physical lines (newline characters, plus a last unterminated line)
    max_line: int  # bytes of the longest physical line
    header: list[str] | None  # None for an empty file
    bad_quote_line: int | None = None  # line where an unterminated quoted field opens
    bad_quote_span: tuple[int, int] | None = None  # its byte range [start, end)
    bad_quote_text: str = ""
    sha256: str | None = None  # of the file's bytes, when asked for

    @property
    def label(self) -> str:
        return encoding_label(self.encoding)


def open_bytes(path: Path) -> BinaryIO:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def _chunks(path: Path) -> Iterator[bytes]:
    with open_bytes(path) as handle:
        while True:
            try:
                chunk = handle.read(CHUNK)
            except (OSError, EOFError) as exc:
                raise DatasetError(
                    Problem(
                        path.name, None, None, None, f"壓縮檔損壞 / corrupt compressed file: {exc}"
                    )
                ) from None
            if not chunk:
                return
            yield chunk


def _line_of_offset(path: Path, offset: int) -> int:
    line = 1
    done = 0
    for chunk in _chunks(path):
        if done + len(chunk) >= offset:
            return line + chunk.count(b"\n", 0, offset - done)
        line += chunk.count(b"\n")
        done += len(chunk)
    return line


def _utf8_valid(path: Path) -> bool:
    """True when the whole file is valid UTF-8, checked by Arrow's vectorised validator
    (about four times faster than Python's decoder). Pieces end after a newline, which is
    never part of a multi-byte character."""
    check = _Utf8Check()
    for chunk in _chunks(path):
        arr = np.frombuffer(chunk, dtype=np.uint8)
        check.feed(chunk, np.flatnonzero(arr == 10))
        if not check.ok:
            return False
    return check.finish()


class _Utf8Check:
    """UTF-8 validation of a file fed chunk by chunk, with the chunk's newline positions:
    the bytes up to a chunk's last newline are validated in place (no copy); only the tail
    after it is carried into the next chunk."""

    def __init__(self) -> None:
        self.carry = b""
        self.ok = True

    def feed(self, chunk: bytes, newlines: np.ndarray) -> None:
        if not self.ok:
            return
        if not newlines.size:
            self.carry += chunk
            return
        first = int(newlines[0]) + 1
        last = int(newlines[-1]) + 1
        view = memoryview(chunk)
        head = self.carry + chunk[:first] if self.carry else view[:first]
        self.ok = _arrow_utf8(head) and (first == last or _arrow_utf8(view[first:last]))
        self.carry = chunk[last:]

    def finish(self) -> bool:
        if self.ok and self.carry:
            self.ok = _arrow_utf8(self.carry)
        return self.ok


def _arrow_utf8(data: bytes | memoryview) -> bool:
    """Arrow's vectorised UTF-8 check of `data`, viewed as one string value (no copy)."""
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64))
    value = pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, pa.py_buffer(data)])
    try:
        value.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _validate(path: Path, encoding: str) -> int | None:
    """Byte offset of the first undecodable byte in `encoding`, or None when all is fine."""
    if codecs.lookup(encoding).name in ("utf-8", "utf-8-sig") and _utf8_valid(path):
        return None  # else the decoder below finds the offset of the first bad byte
    decoder = codecs.getincrementaldecoder(encoding)()
    done = 0
    for chunk in _chunks(path):
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            return done + exc.start
        done += len(chunk)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return done
    return None


def detect_encoding(path: Path, declared: str | None = None) -> tuple[str, bool]:
    """(codec, detected?) or DatasetError naming the line of the first bad byte."""
    name = path.name
    if declared:
        try:
            codec = codecs.lookup(declared).name
        except LookupError:
            raise DatasetError(
                Problem(name, None, None, declared, f"未知的編碼 / unknown encoding {declared!r}")
            ) from None
        if codec == "utf-8":
            with open_bytes(path) as handle:
                if handle.read(3) == BOM:
                    codec = "utf-8-sig"
        bad = _validate(path, codec)
        if bad is None:
            return codec, False
        line = _line_of_offset(path, bad)
        guess = [c for c in ("utf-8", "cp950") if c != codec and _validate(path, c) is None]
        hint = (
            f"此檔看起來是 {encoding_label(guess[0])} 編碼；請改用 --encoding {guess[0]} 或不指定以自動偵測 / "
            f"the file looks like {encoding_label(guess[0])}: use --encoding {guess[0]} or omit "
            "--encoding to detect it"
            if guess
            else ""
        )
        raise DatasetError(
            Problem(
                name,
                line,
                None,
                None,
                f"無法以指定的 {encoding_label(codec)} 編碼解讀（位元組位置 {bad}）/ "
                f"not valid {encoding_label(codec)} as declared (byte offset {bad})",
            ),
            hint,
        )
    with open_bytes(path) as handle:
        has_bom = handle.read(3) == BOM
    if has_bom:
        bad = _validate(path, "utf-8-sig")
        if bad is None:
            return "utf-8-sig", True
    else:
        bad = _validate(path, "utf-8")
        if bad is None:
            return "utf-8", True
        if _validate(path, "cp950") is None:
            return "cp950", True
    line = _line_of_offset(path, bad)
    raise DatasetError(
        Problem(
            name,
            line,
            None,
            None,
            "無法辨識編碼：既非 UTF-8 亦非 Big5/CP950 / encoding not recognised: neither UTF-8 "
            f"nor Big5/CP950 (first bad byte at offset {bad})",
        ),
        "請以 --encoding 指定 / give the encoding with --encoding",
    )


def _parse_header(first_line: bytes, encoding: str, name: str) -> list[str]:
    text = first_line.decode(encoding, errors="replace").lstrip("\ufeff").rstrip("\r\n")
    try:
        cells = next(csv.reader(io.StringIO(text)))
    except (StopIteration, csv.Error) as exc:
        raise DatasetError(
            Problem(name, 1, None, text, f"標題列無法解析 / bad header: {exc}")
        ) from None
    return [cell.strip().lower() for cell in cells]


def _utf8_codec(declared: str | None) -> str | None:
    """The UTF-8 codec a file is checked against in the counting pass (None: another
    declared encoding, checked on its own)."""
    if declared is None:
        return "utf-8"
    try:
        codec = codecs.lookup(declared).name
    except LookupError:
        return None  # detect_encoding reports it
    return codec if codec in ("utf-8", "utf-8-sig") else None


def scan_csv(path: Path, declared: str | None = None, digest: bool = False) -> ScanResult:
    """One read of the file: line and quote counts, the longest line and, when UTF-8 is
    declared or nothing is, the UTF-8 check (other encodings, or a file that is not valid
    UTF-8, go through detect_encoding, which reads it again). `digest`: also the SHA-256
    of its bytes (`ScanResult.sha256`), in the same read."""
    utf8 = _utf8_codec(declared)
    check = _Utf8Check() if utf8 else None
    hasher = hashlib.sha256() if digest else None
    size = 0
    lines = 0
    quotes = 0
    max_line = 0
    last_newline = -1  # global offset of the previous newline
    first_line = b""
    for chunk in _chunks(path):
        if not first_line:
            first_line = chunk[: 1 << 20]
        if hasher is not None:
            hasher.update(chunk)  # releases the GIL for large data
        # numpy, not bytes.count: as fast, and it releases the GIL, so that files are
        # scanned in parallel.
        arr = np.frombuffer(chunk, dtype=np.uint8)
        newlines = np.flatnonzero(arr == 10)
        if newlines.size:
            first = int(newlines[0])
            last = int(newlines[-1])
            inside = int(np.diff(newlines).max()) if newlines.size > 1 else 0
            max_line = max(max_line, size + first - last_newline, inside)
            last_newline = size + last
            lines += int(newlines.size)
        if check is not None:
            check.feed(chunk, newlines)
        quotes += int(np.count_nonzero(arr == 34))
        size += len(chunk)
    if size > last_newline + 1:
        lines += 1
        max_line = max(max_line, size - last_newline - 1)
    if check is not None and check.finish():
        sig = utf8 == "utf-8-sig" or first_line.startswith(BOM)
        encoding = "utf-8-sig" if sig else "utf-8"
        detected = declared is None
    else:
        encoding, detected = detect_encoding(path, declared)
    header = None
    if size:
        first_line = first_line.split(b"\n", 1)[0]
        header = _parse_header(first_line, encoding, path.name)
    result = ScanResult(path, encoding, detected, size, lines, max_line, header)
    if hasher is not None:
        result.sha256 = hasher.hexdigest()
    if quotes % 2:
        _locate_unterminated_quote(result)
    return result


def _locate_unterminated_quote(result: ScanResult) -> None:
    """Find the line after the last newline that lies outside every quoted field."""
    done = 0
    quotes_before = 0
    newline_index = 0
    last_even: tuple[int, int] | None = None  # (newline index, offset)
    for chunk in _chunks(result.path):
        arr = np.frombuffer(chunk, dtype=np.uint8)
        quote_pos = np.flatnonzero(arr == 34)
        newlines = np.flatnonzero(arr == 10)
        if newlines.size:
            parity = (quotes_before + np.searchsorted(quote_pos, newlines)) % 2
            even = np.flatnonzero(parity == 0)
            if even.size:
                k = int(even[-1])
                last_even = (newline_index + k, done + int(newlines[k]))
        quotes_before += int(quote_pos.size)
        newline_index += int(newlines.size)
        done += len(chunk)
    if last_even is None:
        raise DatasetError(
            Problem(
                result.path.name,
                1,
                None,
                None,
                "標題列引號未閉合 / unterminated quote in the header",
            )
        )
    index, offset = last_even
    start = offset + 1
    end = result.size
    with open_bytes(result.path) as handle:
        handle.seek(start)
        rest = handle.read(max(result.max_line, 1) + 1)
        cut = rest.find(b"\n")
        if cut >= 0:
            end = start + cut
            rest = rest[:cut]
    text = rest.decode(result.encoding, errors="replace").rstrip("\r")
    if not (text.startswith('"') or ',"' in text):
        return  # only quotes inside unquoted values: literal characters, nothing to fix
    result.bad_quote_text = text
    result.bad_quote_line = index + 2
    result.bad_quote_span = (start, end)
