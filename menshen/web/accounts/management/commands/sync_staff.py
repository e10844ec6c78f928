from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from menshen.web.cli import run_sync_staff


class Command(BaseCommand):
    help = "Sync units, staff and roles from the evidence store ($MENSHEN_HOME)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--roles", type=Path, default=None)

    def handle(self, *args, **options) -> None:
        run_sync_staff(Path(settings.HOME), options["roles"])
