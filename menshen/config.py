"""Locations and settings read from the environment."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_HOME = "menshen-data"


def menshen_home(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The evidence-store directory: explicit argument, else $MENSHEN_HOME, else ./menshen-data."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    env = os.environ.get("MENSHEN_HOME")
    if env:
        return Path(env).expanduser().resolve()
    return (Path.cwd() / DEFAULT_HOME).resolve()


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{name}={raw!r} is not a boolean (use 1/0, true/false)")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not an integer") from None
