"""Reading PDFs in tests with poppler's pdftotext/pdffonts/pdfinfo (Debian poppler-utils,
installed by `./dev test`)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path


class PopplerMissing(RuntimeError):
    """poppler-utils is not installed."""


def _run(tool: str, pdf: bytes, *args: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise PopplerMissing(f"{tool} not found: install Debian's poppler-utils (./dev test does)")
    with tempfile.TemporaryDirectory(prefix="menshen-pdf-") as tmp:
        source = Path(tmp) / "document.pdf"
        source.write_bytes(pdf)
        result = subprocess.run([path, *args, str(source), *(["-"] if tool == "pdftotext" else [])],
                                capture_output=True, check=True)  # fmt: skip
    return result.stdout.decode("utf-8", errors="replace")


def pdf_text(pdf: bytes) -> str:
    """The PDF's text in reading order (pdftotext, UTF-8); pages separated by form feeds."""
    return _run("pdftotext", pdf, "-enc", "UTF-8")


def flat(text: str) -> str:
    """Text without white space, so a sentence wrapped over two lines still matches."""
    return re.sub(r"\s+", "", text)


def pdf_fonts(pdf: bytes) -> list[dict[str, str]]:
    """One dict per font (name, emb, sub) as pdffonts lists them."""
    fonts = []
    for line in _run("pdffonts", pdf).splitlines()[2:]:
        parts = line.split()  # name type… encoding emb sub uni object ID: the last 5 are fixed
        fonts.append({"name": parts[0], "emb": parts[-5], "sub": parts[-4]})
    return fonts


def font_family(name: str) -> str:
    """`ABCDEF+Noto-Sans-CJK-TC-Bold` -> `Noto-Sans-CJK-TC` (subset tag and style removed)."""
    base = name.split("+", 1)[-1]
    return re.sub(r"[-,]?(Bold|Regular|Italic|Oblique|Medium|Light)+$", "", base)


def pdf_pages(pdf: bytes) -> int:
    match = re.search(r"^Pages:\s+(\d+)", _run("pdfinfo", pdf), re.MULTILINE)
    if not match:
        raise ValueError("pdfinfo did not report a page count")
    return int(match.group(1))
