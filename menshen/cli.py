"""The `menshen` command. Each sub-command lives in the module of its area and is imported
only when it runs, so `menshen --help` stays fast and areas stay independent."""

from __future__ import annotations

import importlib

import click

from menshen import __version__

# name -> "module:attribute". Keep README.md's command table in step (a test checks it).
COMMANDS: dict[str, str] = {
    "synth": "menshen.synth.cli:synth",
    "ingest": "menshen.store.cli:ingest",
    "verify": "menshen.store.cli:verify",
    "status": "menshen.store.cli:status",
    "detect": "menshen.detect.cli:detect",
    "findings": "menshen.detect.cli:findings",
    "evaluate": "menshen.detect.cli:evaluate",
    "rules": "menshen.detect.cli:rules",
    "sync-staff": "menshen.web.cli:sync_staff",
    "build-reports": "menshen.web.cli:build_reports",
    "serve": "menshen.web.cli:serve",
    "demo": "menshen.web.cli:demo",
    "manage": "menshen.web.cli:manage",
    "bench": "menshen.cli:bench",
}

BENCH_COMMANDS: dict[str, str] = {
    "ingest": "menshen.store.bench:bench_ingest",
    "detect": "menshen.detect.bench:bench_detect",
    "web": "menshen.web.bench:bench_web",
}


class LazyGroup(click.Group):
    """A click group whose sub-commands are imported on first use."""

    def __init__(self, *args, lazy: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module_name, attr = self.lazy[cmd_name].split(":")
            command = getattr(importlib.import_module(module_name), attr)
            if not isinstance(command, click.Command):
                raise TypeError(f"{self.lazy[cmd_name]} is not a click command")
            return command
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="menshen")
def main() -> None:
    """門神 menshen — 公務資訊系統個資查詢稽核 / audits look-ups of personal data.

    Evidence store: --home, else $MENSHEN_HOME, else ./menshen-data.
    """


@click.group(cls=LazyGroup, lazy=BENCH_COMMANDS)
def bench() -> None:
    """效能量測 / Benchmarks: print throughput, latency and peak memory."""


if __name__ == "__main__":  # pragma: no cover
    main()
