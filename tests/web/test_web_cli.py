"""`menshen sync-staff` and `menshen build-reports` on a small evidence store."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import click
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.test import TestCase
from webcast import small_world

from menshen.store import Store
from menshen.web.accounts.models import Person, RoleGrant, Unit
from menshen.web.cli import run_build_reports, run_sync_staff
from menshen.web.reports.models import Report

UNITS = [
    {"unit_id": "AG", "name": "南區區公所", "parent_unit_id": None},
    {"unit_id": "U1", "name": "戶籍課", "parent_unit_id": "AG"},
    {"unit_id": "U2", "name": "役政課", "parent_unit_id": "AG"},
    {"unit_id": "ETH", "name": "政風室", "parent_unit_id": "AG"},
]
STAFF = [
    ("head", "AG", "區長", None, None),
    ("chief1", "U1", "課長", "head", None),
    ("chief2", "U2", "課長", "head", None),
    ("clerk1", "U1", "課員", "chief1", None),
    ("clerk2", "U1", "約僱人員", "chief1", None),
    ("clerk3", "U2", "課員", "chief2", None),
    ("gone", "U2", "課員", "chief2", dt.date(2020, 1, 1)),
    ("ethics", "ETH", "政風室主任", "head", None),
    ("it", "AG", "資訊管理員", "head", None),
]


def write_store(home: Path) -> Store:
    store = Store(home)
    staff = [
        {
            "staff_id": s,
            "name": f"{title}{s}",
            "national_id": None,
            "unit_id": unit,
            "title": title,
            "employment": "permanent",
            "supervisor_id": boss,
            "active_from": dt.date(2010, 1, 1),
            "active_to": until,
        }
        for s, unit, title, boss, until in STAFF
    ]
    with store.writer() as writer:
        staged = writer.new_batch("ingest")
        for table, rows in (("units", UNITS), ("staff", staff)):
            pq.write_table(
                pa.Table.from_pylist(rows), staged.file(f"ref/{table}.parquet", table=table)
            )
        writer.commit(staged, "test")
    explanations, findings, events = small_world()
    store.write_derived(
        {"explanations": explanations, "findings": findings, "finding_events": events}, "test"
    )
    return store


class CliTests(TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls._tmp = tempfile.TemporaryDirectory()
        cls.home = Path(cls._tmp.name)
        cls.store = write_store(cls.home)

    @classmethod
    def tearDownClass(cls) -> None:
        cls._tmp.cleanup()
        super().tearDownClass()

    def test_sync_staff_creates_units_people_and_roles_from_the_org_chart(self) -> None:
        run_sync_staff(self.home)
        assert Unit.objects.get(unit_id="U1").parent_id == "AG"
        chief1 = Person.objects.get(staff_id="chief1")
        assert chief1.supervisor.staff_id == "head" and chief1.user.username == "chief1"
        assert not chief1.user.has_usable_password()
        grants = set(RoleGrant.objects.values_list("person__staff_id", "role", "unit_id"))
        assert ("chief1", "reviewer", "U1") in grants and ("head", "reviewer", "AG") in grants
        assert ("ethics", "ethics", None) in grants and ("it", "admin", None) in grants
        # nobody is titled 稽核: the agency head approves
        assert ("head", "approver", None) in grants
        assert ("clerk1", "reviewer", "U1") not in grants
        gone = Person.objects.get(staff_id="gone")
        assert not gone.active and not gone.user.is_active  # departed staff cannot sign in

    def test_sync_staff_twice_changes_nothing_and_keeps_manual_grants(self) -> None:
        run_sync_staff(self.home)
        RoleGrant.objects.create(
            person=Person.objects.get(staff_id="clerk3"), role="approver", source="manual"
        )
        before = sorted(
            RoleGrant.objects.values_list("person__staff_id", "role", "unit_id", "source")
        )
        run_sync_staff(self.home)
        after = sorted(
            RoleGrant.objects.values_list("person__staff_id", "role", "unit_id", "source")
        )
        assert before == after and Person.objects.count() == len(STAFF)

    def test_a_roles_file_adds_grants_and_a_bad_line_names_file_line_and_column(self) -> None:
        roles = self.home / "roles.csv"
        roles.write_text("staff_id,role,unit_id\nclerk3,approver,\n", encoding="utf-8")
        run_sync_staff(self.home, roles)
        assert RoleGrant.objects.filter(
            person__staff_id="clerk3", role="approver", unit=None
        ).exists()
        roles.write_text("staff_id,role,unit_id\nclerk3,boss,\n", encoding="utf-8")
        with pytest.raises(click.ClickException, match=r"roles.csv:2: column role"):
            run_sync_staff(self.home, roles)
        roles.unlink()

    def test_build_reports_from_the_store_is_idempotent(self) -> None:
        run_sync_staff(self.home)
        run_build_reports(self.home)
        reports = {(r.unit_id, r.report_date): r for r in Report.objects.all()}
        assert len(reports) == 2
        report = next(iter(reports.values()))
        assert report.chain_hash == self.store.snapshot().chain_hash
        before = list(Report.objects.order_by("pk").values_list("pk", "fingerprint", "built_at"))
        run_build_reports(self.home)
        assert (
            list(Report.objects.order_by("pk").values_list("pk", "fingerprint", "built_at"))
            == before
        )

    def test_build_reports_can_be_limited_to_report_dates(self) -> None:
        run_sync_staff(self.home)
        run_build_reports(self.home, start=dt.date(2025, 3, 4))
        assert Report.objects.count() == 0
        run_build_reports(self.home, start=dt.date(2025, 3, 3), end=dt.date(2025, 3, 3))
        assert Report.objects.count() == 2

    def test_detection_output_without_needed_columns_is_a_clear_error(self) -> None:
        with tempfile.TemporaryDirectory() as other:
            store = Store(Path(other))
            store.write_derived({"explanations": pa.table({"system": ["HR"]})}, "old detect")
            with pytest.raises(click.ClickException, match=r"explanations\.parquet.*event_id"):
                run_build_reports(Path(other))

    def test_sync_staff_on_an_empty_store_says_what_to_do(self) -> None:
        with (
            tempfile.TemporaryDirectory() as empty,
            pytest.raises(click.ClickException, match="ingest"),
        ):
            run_sync_staff(Path(empty))
