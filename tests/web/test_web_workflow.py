"""The report's state machine: every transition, every illegal one, enforced on the server."""

from __future__ import annotations

import pytest
from django.urls import reverse
from webcast import CastTestCase

from menshen.web.accounts.scope import build_access
from menshen.web.investigations.models import Investigation
from menshen.web.reports import workflow
from menshen.web.reports.models import ExplanationRequest, Report, ReportEvent, ReviewItem


class WorkflowTests(CastTestCase):
    def access(self, staff_id: str):
        return build_access(self.people[staff_id].user)

    def decide_all(self, reviewer: str = "chief1") -> None:
        """Decide every item the reviewer may decide; the reviewer's own via the head."""
        for item in ReviewItem.objects.filter(report=self.report, status="pending"):
            who = "head" if item.staff_id == reviewer else reviewer
            workflow.decide(self.access(who), item, "justified", reason="業務需要")

    def fresh(self) -> Report:
        return Report.objects.get(pk=self.report.pk)

    def test_a_reviewer_decides_an_item_as_justified_with_a_reason(self) -> None:
        item = workflow.decide(
            self.access("chief1"), self.item("f-clerk1-a"), "justified", reason="民眾臨櫃申請"
        )
        assert item.status == "justified" and item.decided_by == self.people["chief1"]
        assert ReportEvent.objects.filter(report=self.report, item=item, action="decided").exists()

    def test_justified_without_a_reason_is_refused(self) -> None:
        with pytest.raises(workflow.WorkflowError):
            workflow.decide(self.access("chief1"), self.item("f-clerk1-a"), "justified", reason=" ")
        assert self.item("f-clerk1-a").status == "pending"

    def test_an_unknown_decision_is_refused(self) -> None:
        with pytest.raises(workflow.WorkflowError):
            workflow.decide(self.access("chief1"), self.item("f-clerk1-a"), "maybe")

    def test_improper_opens_an_investigation_for_the_ethics_officer(self) -> None:
        workflow.decide(
            self.access("chief1"), self.item("f-clerk1-a"), "improper", reason="私人好奇"
        )
        case = Investigation.objects.get(item=self.item("f-clerk1-a"))
        assert case.staff_id == "clerk1" and case.status == "open"
        assert build_access(self.people["ethics"].user).investigations().filter(pk=case.pk).exists()
        # the ethics officer's list names the staff member, not only the staff id
        page = self.client_for("ethics").get(reverse("investigations:list")).content.decode()
        assert self.people["clerk1"].name in page and "clerk1" in page

    def test_an_improper_decision_is_final(self) -> None:
        workflow.decide(self.access("chief1"), self.item("f-clerk1-a"), "improper")
        with pytest.raises(workflow.Conflict):
            workflow.decide(self.access("chief1"), self.item("f-clerk1-a"), "justified", reason="x")

    def test_asking_the_staff_member_puts_a_request_in_their_inbox_and_the_answer_comes_back(
        self,
    ) -> None:
        item = workflow.decide(
            self.access("chief1"), self.item("f-clerk2-b"), "ask", reason="請說明查詢原因"
        )
        assert item.status == "asked"
        request = ExplanationRequest.objects.get(item=item)
        assert request.staff == self.people["clerk2"] and request.question == "請說明查詢原因"
        with pytest.raises(workflow.WorkflowError):  # only the addressee answers
            workflow.answer(self.access("clerk1"), request, "不是我")
        workflow.answer(self.access("clerk2"), request, "民眾電話申請補發，案號稍後建檔")
        assert self.item("f-clerk2-b").status == "answered"
        with pytest.raises(workflow.Conflict):  # answered once
            workflow.answer(self.access("clerk2"), request, "再說一次")
        item = workflow.decide(
            self.access("chief1"), self.item("f-clerk2-b"), "justified", reason="已說明"
        )
        assert item.status == "justified"

    def test_an_item_waiting_for_an_answer_cannot_be_decided(self) -> None:
        workflow.decide(self.access("chief1"), self.item("f-clerk2-b"), "ask")
        with pytest.raises(workflow.Conflict):
            workflow.decide(self.access("chief1"), self.item("f-clerk2-b"), "improper")

    def test_nobody_reviews_their_own_look_ups(self) -> None:
        with pytest.raises(workflow.WorkflowError, match=r"own|自己|本人"):
            workflow.decide(self.access("chief1"), self.item("f-chief1-c"), "justified", reason="x")
        # the chief's own supervisor, who reviews the parent unit, may decide it
        item = workflow.decide(
            self.access("head"), self.item("f-chief1-c"), "justified", reason="x"
        )
        assert item.decided_by == self.people["head"]

    def test_a_reviewer_of_another_unit_cannot_decide(self) -> None:
        with pytest.raises(workflow.WorkflowError):
            workflow.decide(self.access("chief2"), self.item("f-clerk1-a"), "justified", reason="x")

    def test_submitting_with_undecided_items_is_refused(self) -> None:
        with pytest.raises(workflow.WorkflowError):
            workflow.submit(self.access("chief1"), self.report)
        assert self.fresh().status == "open"

    def test_submitting_while_a_staff_member_has_not_answered_is_refused(self) -> None:
        self.decide_all()
        ReviewItem.objects.filter(report=self.report, key="f-clerk2-b").update(status="pending")
        workflow.decide(self.access("chief1"), self.item("f-clerk2-b"), "ask")
        with pytest.raises(workflow.WorkflowError):
            workflow.submit(self.access("chief1"), self.report)

    def test_submit_then_approve_locks_the_report_with_chain_hash_and_rule_versions(self) -> None:
        Report.objects.filter(pk=self.report.pk).update(chain_hash="c" * 64)
        self.decide_all()
        report = workflow.submit(self.access("chief1"), self.fresh())
        assert report.status == "submitted" and report.submitted_by == self.people["chief1"]
        report = workflow.approve(self.access("auditor"), report)
        assert report.status == "approved" and report.approved_by == self.people["auditor"]
        assert report.approved_chain_hash == "c" * 64
        assert report.rule_hashes == {"unexplained": "a" * 64}
        with pytest.raises(workflow.Conflict):  # locked: no more decisions
            workflow.decide(self.access("chief1"), self.item("f-clerk1-a"), "justified", reason="y")
        actions = list(report.events.values_list("action", flat=True))
        assert actions[-2:] == ["submitted", "approved"]

    def test_submitting_twice_is_a_conflict(self) -> None:
        self.decide_all()
        workflow.submit(self.access("chief1"), self.fresh())
        with pytest.raises(workflow.Conflict):
            workflow.submit(self.access("chief1"), self.fresh())

    def test_the_approver_returns_with_a_comment_and_the_reviewer_resubmits(self) -> None:
        self.decide_all()
        workflow.submit(self.access("chief1"), self.fresh())
        with pytest.raises(workflow.WorkflowError):  # a comment is required
            workflow.return_report(self.access("auditor"), self.fresh(), "  ")
        report = workflow.return_report(self.access("auditor"), self.fresh(), "請補充理由")
        assert report.status == "returned" and report.return_comment == "請補充理由"
        # a returned report can be revised and submitted again
        workflow.decide(self.access("chief1"), self.item("f-clerk1-a"), "justified", reason="補充")
        assert workflow.submit(self.access("chief1"), self.fresh()).status == "submitted"
        assert workflow.approve(self.access("auditor"), self.fresh()).status == "approved"

    def test_two_approvers_racing_cannot_both_win(self) -> None:
        self.decide_all()
        workflow.submit(self.access("chief1"), self.fresh())
        seen_by_first, seen_by_second = self.fresh(), self.fresh()  # both loaded "submitted"
        workflow.approve(self.access("auditor"), seen_by_first)
        with pytest.raises(workflow.Conflict):
            workflow.approve(self.access("auditor2"), seen_by_second)
        with pytest.raises(workflow.Conflict):
            workflow.return_report(self.access("auditor2"), seen_by_second, "晚了一步")
        report = self.fresh()
        assert report.approved_by == self.people["auditor"]
        assert report.events.filter(action="approved").count() == 1

    def test_approving_an_open_or_returned_report_is_refused(self) -> None:
        with pytest.raises(workflow.Conflict):
            workflow.approve(self.access("auditor"), self.fresh())
        self.decide_all()
        workflow.submit(self.access("chief1"), self.fresh())
        workflow.return_report(self.access("auditor"), self.fresh(), "再看看")
        with pytest.raises(workflow.Conflict):
            workflow.approve(self.access("auditor"), self.fresh())

    def test_the_reviewer_cannot_approve_their_own_report(self) -> None:
        from menshen.web.accounts.models import Role, RoleGrant

        RoleGrant.objects.create(person=self.people["chief1"], role=Role.APPROVER, unit_id=None)
        self.decide_all()
        workflow.submit(self.access("chief1"), self.fresh())
        with pytest.raises(workflow.WorkflowError, match=r"reviewer|審核人"):
            workflow.approve(self.access("chief1"), self.fresh())

    def test_an_approver_who_decided_items_cannot_approve(self) -> None:
        from menshen.web.accounts.models import Role, RoleGrant

        RoleGrant.objects.create(person=self.people["auditor"], role=Role.REVIEWER, unit_id="U1")
        workflow.decide(self.access("auditor"), self.item("f-clerk1-a"), "justified", reason="x")
        self.decide_all()
        workflow.submit(self.access("chief1"), self.fresh())
        with pytest.raises(workflow.WorkflowError):
            workflow.approve(self.access("auditor"), self.fresh())
        assert workflow.approve(self.access("auditor2"), self.fresh()).status == "approved"

    def test_nobody_approves_a_report_holding_their_own_look_ups(self) -> None:
        from menshen.web.accounts.models import Role, RoleGrant

        RoleGrant.objects.create(person=self.people["clerk1"], role=Role.APPROVER, unit_id=None)
        self.decide_all()
        workflow.submit(self.access("chief1"), self.fresh())
        with pytest.raises(workflow.WorkflowError, match=r"own|自己|本人"):
            workflow.approve(self.access("clerk1"), self.fresh())

    def test_a_reviewer_cannot_approve_and_a_staff_member_cannot_submit(self) -> None:
        self.decide_all()
        with pytest.raises(workflow.WorkflowError):
            workflow.submit(self.access("clerk1"), self.fresh())
        workflow.submit(self.access("chief1"), self.fresh())
        with pytest.raises(workflow.WorkflowError):
            workflow.approve(self.access("chief2"), self.fresh())
