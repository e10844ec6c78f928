from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from menshen.web.cli import run_build_reports


class Command(BaseCommand):
    help = "Build the daily audit reports from the evidence store's detection output."

    def handle(self, *args, **options) -> None:
        run_build_reports(Path(settings.HOME))
