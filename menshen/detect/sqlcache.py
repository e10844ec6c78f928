"""Compiled SQL kept across runs.

Ibis takes a noticeable part of a second of Python to compile each large query; a daily
run compiles about 30 and spends ~2 s of CPU on it, every night, for the same queries. Only
the run's dates differ from one night to the next (and epoch seconds computed from them).

A query's SQL is kept under a digest of its expression tree in which every date, timestamp
and large integer literal stands as a numbered parameter (`_TEMPLATED`); the file holds the
SQL with those parameters as placeholders. A later run whose tree has the same digest gets
the SQL by putting its own literals, rendered as Ibis renders them, in the placeholders.

Nothing is kept that was not checked: a template is stored only when filling it with the
query's own literals gives back, character for character, the SQL Ibis compiled for it.
Everything else in the tree (table names and schemas, columns, operations, every other
literal) is in the digest, so a different query never shares a digest.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.operations as ops
import ibis.expr.schema as sch
import ibis.expr.types as ir
from ibis.common.collections import FrozenDict

# Integers at least this large are parameters (epoch seconds); smaller ones (window sizes,
# thresholds, frame bounds) stay in the digest, as Ibis may render them in special places.
_LARGE_INT = 10**8
# Entries beyond this many: the least recently used are removed when one is added.
MAX_ENTRIES = 2000
# Sentinels: values no real query holds, each rendering to a text found nowhere else.
_SENTINEL_DAY = dt.date(1111, 1, 1)
_SENTINEL_INT = 1_357_924_680  # fits an int32, as the literal it stands for may be one
_MARK = "\x00{}\x00"
_EXCLUDE = re.compile(r"EXCLUDE \(([^()]*)\)")


def default_folder() -> Path | None:
    """$MENSHEN_SQL_CACHE (a folder, or "off"), else $XDG_CACHE_HOME/menshen/sql, else
    ~/.cache/menshen/sql."""
    env = os.environ.get("MENSHEN_SQL_CACHE")
    if env:
        return None if env.lower() in ("off", "0", "no", "false") else Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "menshen" / "sql"


def _templated(op: ops.Node) -> bool:
    if not isinstance(op, ops.Literal) or op.value is None:
        return False
    dtype = op.dtype
    if dtype.is_date() or dtype.is_timestamp():
        return True
    return dtype.is_integer() and not isinstance(op.value, bool) and abs(op.value) >= _LARGE_INT


def _post_order(root: ops.Node) -> Iterator[ops.Node]:
    """Every node of the tree once, children before their parents."""
    seen: set[ops.Node] = set()
    stack: list[tuple[ops.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            yield node
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        stack.extend((child, False) for child in node.__children__ if child not in seen)


class SqlCache:
    """Compiled SQL by expression digest, in `folder` (one small JSON file a query)."""

    def __init__(self, folder: Path, salt: str) -> None:
        self.folder = folder
        # What else the SQL depends on: the Ibis version, its options, the dialect.
        self.salt = salt
        self.hits = 0
        self.misses = 0

    def compile(
        self,
        expr: ir.Expr,
        compile_fn: Callable[[ir.Expr], str],
        render: Callable[[ops.Literal], str],
    ) -> str:
        """`compile_fn(expr)`, from the cache when an earlier run compiled the same query.
        `render`: one literal's SQL text, as `compile_fn` writes it."""
        root = expr.op()
        params: dict[ops.Node, int] = {}
        digest = hashlib.blake2b(self.salt.encode(), digest_size=20)
        index: dict[ops.Node, int] = {}
        for node in _post_order(root):
            index[node] = len(index)
            if _templated(node):
                params.setdefault(node, len(params))
                text = f"P{params[node]}:{node.dtype}"
            else:
                kind = type(node)
                text = (
                    f"{kind.__module__}.{kind.__qualname__}("
                    + ",".join(
                        f"{name}={_encode(arg, index)}"
                        for name, arg in zip(node.__argnames__, node.__args__, strict=True)
                    )
                    + ")"
                )
            digest.update(text.encode())
            digest.update(b"\x1f")
        path = self.folder / f"{digest.hexdigest()}.json"
        literals = list(params)
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            entry = json.loads(path.read_text(encoding="utf-8"))
            if entry["params"] == len(literals):
                sql = _fill(entry["sql"], [render(lit) for lit in literals])  # type: ignore[arg-type]
                self.hits += 1
                with contextlib.suppress(OSError):
                    os.utime(path)
                return sql
        self.misses += 1
        sql = compile_fn(expr)
        with contextlib.suppress(Exception):  # a query that cannot be templated is not kept
            self._store(path, expr, sql, literals, compile_fn, render)
        return sql

    def _store(
        self,
        path: Path,
        expr: ir.Expr,
        sql: str,
        literals: list[ops.Node],
        compile_fn: Callable[[ir.Expr], str],
        render: Callable[[ops.Literal], str],
    ) -> None:
        sentinels = {lit: _sentinel(lit, k) for k, lit in enumerate(literals)}  # type: ignore[arg-type]
        template = sql
        if literals:
            marked = compile_fn(expr.op().replace(sentinels).to_expr())
            for k, sentinel in enumerate(sentinels.values()):
                text = render(sentinel)
                if marked.count(text) == 0:
                    return
                marked = marked.replace(text, _MARK.format(k))
            template = marked
        filled = _fill(template, [render(lit) for lit in literals])  # type: ignore[arg-type]
        if _canonical(filled) != _canonical(sql):
            return
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=self.folder, suffix=".tmp", delete=False
        ) as handle:
            json.dump({"params": len(literals), "sql": template}, handle)
        os.replace(handle.name, path)
        self._prune()

    def _prune(self) -> None:
        entries = list(self.folder.glob("*.json"))
        if len(entries) <= MAX_ENTRIES:
            return
        entries.sort(key=lambda p: p.stat().st_mtime)
        for old in entries[: len(entries) - MAX_ENTRIES]:
            with contextlib.suppress(OSError):
                old.unlink()


def _encode(arg: Any, index: dict[ops.Node, int]) -> str:
    if isinstance(arg, ops.Node):
        return f"#{index[arg]}"
    if isinstance(arg, (tuple, list)):
        return "(" + ",".join(_encode(a, index) for a in arg) + ")"
    if isinstance(arg, (set, frozenset)):  # in an order that does not vary with hash seeds
        return "{" + ",".join(sorted(_encode(a, index) for a in arg)) + "}"
    if isinstance(arg, (dict, FrozenDict)):
        return "{" + ",".join(f"{k!r}:{_encode(v, index)}" for k, v in arg.items()) + "}"
    if isinstance(arg, sch.Schema):
        return "schema" + repr([(name, str(dtype)) for name, dtype in arg.items()])
    if type(arg).__module__.startswith("ibis.backends"):
        return "backend"  # a table's source: the name and schema identify it
    return f"{type(arg).__name__}:{arg!r}"


def _sentinel(lit: ops.Literal, k: int) -> ops.Literal:
    dtype = lit.dtype
    if dtype.is_date():
        value: Any = _SENTINEL_DAY + dt.timedelta(days=k)
    elif dtype.is_timestamp():
        value = dt.datetime.combine(_SENTINEL_DAY, dt.time()) + dt.timedelta(seconds=k)
        if isinstance(lit.value, dt.datetime) and lit.value.tzinfo is not None:
            value = value.replace(tzinfo=lit.value.tzinfo)
    else:
        value = _SENTINEL_INT + k if lit.value > 0 else -(_SENTINEL_INT + k)
    return ops.Literal(value, dtype)


def _canonical(sql: str) -> str:
    """`sql` with each EXCLUDE list's columns sorted: Ibis writes them in the order of a
    set's iteration, which may differ between two compiles of equal trees."""
    return _EXCLUDE.sub(lambda m: "EXCLUDE (" + ", ".join(sorted(m[1].split(", "))) + ")", sql)


def _fill(template: str, texts: list[str]) -> str:
    parts = template.split("\x00")
    # Odd positions are placeholder numbers.
    return "".join(texts[int(part)] if i % 2 else part for i, part in enumerate(parts))


def _private(folder: Path) -> bool:
    """Whether only this user can change what `folder` holds (or it does not exist yet): a
    run executes the SQL it reads there, so a folder others may write to is not used."""
    try:
        info = folder.stat()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return info.st_uid == os.getuid() and not info.st_mode & 0o022


def duckdb_cache() -> SqlCache | None:
    """The cache for DuckDB engines, or None when turned off or not private."""
    folder = default_folder()
    if folder is None or not _private(folder):
        return None
    options = json.dumps(
        {"fuse_selects": ibis.options.sql.fuse_selects, "version": ibis.__version__},
        sort_keys=True,
    )
    return SqlCache(folder, f"duckdb|{options}")
