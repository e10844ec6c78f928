"""Run the whole test suite (called by `./dev test` and so by CI)."""

from __future__ import annotations

import subprocess
import sys


def main(argv: list[str]) -> int:
    return subprocess.call([sys.executable, "-m", "pytest", *argv])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
