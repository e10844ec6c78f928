"""The whole daily review in real Chromium, as the people who do it would click through it:
a reviewer decides every item and asks a staff member to explain one; the staff member
answers; the reviewer decides it and submits; the approver returns the report once with a
comment; the reviewer resubmits; the approver approves; the PDF is downloaded and holds the
report's findings."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from menshen.testing.browser import ServedHome
from menshen.testing.pdf import flat, pdf_text
from menshen.testing.world import DemoAccount

pytestmark = pytest.mark.browser

QUESTION = "請說明本筆查詢之公務目的與案號"
ANSWER = "民眾臨櫃申請戶籍謄本，案件於隔日補登，案號另案陳報"
RETURN_COMMENT = "第一項理由請再具體說明後重新送審"


class Desk:
    """One person at their own browser (own cookies), taking numbered screenshots."""

    counter = 0

    def __init__(self, browser: Any, server: ServedHome, account: DemoAccount, shots: Path):
        self.context = browser.new_context(locale="zh-TW", viewport={"width": 1280, "height": 900})
        self.context.set_default_timeout(30_000)
        self.page = self.context.new_page()
        self.server = server
        self.account = account
        self.shots = shots

    def shot(self, name: str, focus: str | None = None) -> None:
        """A screenshot of the window (reports are long), scrolled to `focus` if given."""
        if focus:
            self.page.locator(focus).first.scroll_into_view_if_needed()
        Desk.counter += 1
        path = self.shots / f"{Desk.counter:02d}-{self.account.role}-{name}.png"
        self.page.screenshot(path=str(path))

    def goto(self, path: str) -> None:
        self.page.goto(self.server.url + path)

    def login(self) -> None:
        self.goto("/accounts/login/")
        self.page.fill("[data-testid=login-username]", self.account.username)
        self.page.fill("[data-testid=login-password]", self.account.password)
        with self.page.expect_navigation():
            self.page.click("[data-testid=login-submit]")
        current = self.page.locator("[data-testid=current-user]")
        assert self.account.name in current.inner_text(), self.page.content()[:2000]

    def click_and_wait(self, selector: str) -> None:
        with self.page.expect_navigation():
            self.page.click(selector)

    def status(self) -> str:
        return self.page.get_attribute("[data-testid=report-status]", "data-status") or ""

    def close(self) -> None:
        self.context.close()


ALL_ITEMS = "?spot=all"  # decided spot checks are folded away unless asked for


def item_kinds(page: Any) -> dict[int, str]:
    """pk -> kind (finding / spot_check) of every item card on the page."""
    pairs = page.eval_on_selector_all(
        "article[data-kind]", "nodes => nodes.map(n => [n.dataset.testid, n.dataset.kind])"
    )
    return {int(testid.removeprefix("item-")): kind for testid, kind in pairs}


def item_statuses(page: Any) -> dict[int, str]:
    pairs = page.eval_on_selector_all(
        "article[data-kind]", "nodes => nodes.map(n => [n.dataset.testid, n.dataset.status])"
    )
    return {int(testid.removeprefix("item-")): status for testid, status in pairs}


def find_report_to_review(desk: Desk, staff_name: str) -> tuple[str, int]:
    """A report on the reviewer's home page whose every item the reviewer may decide and
    that holds an item of the demo staff member's. Returns (report path, that item's pk)."""
    desk.goto("/")
    links = desk.page.eval_on_selector_all(
        "[data-testid=to-review] a[data-testid^=open-report-]",
        "nodes => nodes.map(n => n.getAttribute('href'))",
    )
    assert links, "the reviewer's home page lists no report to review"
    for href in links:
        desk.goto(href + ALL_ITEMS)
        pks = list(item_kinds(desk.page))
        decidable = [
            pk for pk in pks if desk.page.locator(f"[data-testid=decide-form-{pk}]").count()
        ]
        if not pks or len(decidable) != len(pks):
            continue
        for pk in pks:
            heading = desk.page.inner_text(f"[data-testid=item-{pk}] h3")
            if staff_name in heading:
                return href, pk
    pytest.fail(f"no report of the reviewer's holds a decidable item of {staff_name}")


def expect_no_error(desk: Desk, what: str) -> None:
    errors = desk.page.locator("[data-testid=message-error]").all_inner_texts()
    if errors:
        desk.shot("error")
        pytest.fail(f"{what}: {errors} at {desk.page.url}")


def decide(desk: Desk, pk: int, decision: str, reason: str) -> None:
    desk.page.fill(f"[data-testid=reason-{pk}]", reason)
    desk.click_and_wait(f"[data-testid=decide-{decision}-{pk}]")
    expect_no_error(desk, f"deciding item {pk} {decision}")
    assert desk.page.locator("[data-testid=message-success]").count() == 1


def test_a_daily_report_goes_from_review_to_approval_and_prints(
    browser: Any,
    served: ServedHome,
    demo_world: tuple[Path, dict[str, DemoAccount]],
    shots_dir: Path,
) -> None:
    _, accounts = demo_world
    reviewer = Desk(browser, served, accounts["reviewer"], shots_dir)
    reviewer.goto("/")
    assert "/accounts/login/" in reviewer.page.url, "an anonymous visitor must be sent to sign in"
    reviewer.shot("login-page")
    reviewer.login()
    reviewer.shot("home")

    # 1. The reviewer decides every item: asks the staff member about one, finds one
    #    finding improper, justifies the other findings one by one and the spot checks at once.
    report_path, asked_pk = find_report_to_review(reviewer, accounts["staff"].name)
    assert reviewer.status() == "open"
    kinds = item_kinds(reviewer.page)
    evidence = {
        pk: reviewer.page.locator(f"[data-testid=item-evidence-{pk}] li").all_inner_texts()
        for pk in kinds
    }
    reviewer.goto(report_path)
    reviewer.shot("report-to-review")
    submit_button = reviewer.page.locator("[data-testid=submit-report]")
    assert submit_button.is_disabled(), "a report with undecided items cannot be submitted"
    decide(reviewer, asked_pk, "ask", QUESTION)
    findings = [pk for pk, kind in kinds.items() if kind == "finding" and pk != asked_pk]
    improper = findings[:1] if len(findings) > 1 else []
    for number, pk in enumerate(findings, start=1):
        if pk in improper:
            decide(reviewer, pk, "improper", "查無公務需要，移送政風室調查")
        else:
            decide(reviewer, pk, "justified", f"經查為受理民眾申請案件（第 {number} 項）")
    reviewer.goto(report_path + ALL_ITEMS)
    if reviewer.page.locator("[data-testid^=bulk-spot-item-]").count():
        reviewer.page.fill("[data-testid=bulk-spot-reason]", "已逐筆核對業務案件，相符")
        reviewer.click_and_wait("[data-testid=bulk-spot-submit]")
        expect_no_error(reviewer, "justifying the spot checks")
    reviewer.goto(report_path + ALL_ITEMS)
    statuses = item_statuses(reviewer.page)
    assert set(statuses) == set(kinds)
    assert statuses.pop(asked_pk) == "asked"
    assert all(statuses[pk] == "improper" for pk in improper)
    assert set(statuses.values()) <= {"justified", "improper"}, statuses
    reviewer.shot("all-decided-but-one-asked", focus=f"[data-testid=item-{asked_pk}]")
    assert reviewer.page.locator("[data-testid=submit-report]").is_disabled()

    # 2. The staff member answers from their inbox.
    staff = Desk(browser, served, accounts["staff"], shots_dir)
    staff.login()
    staff.click_and_wait("[data-testid=nav-inbox]")
    request = staff.page.locator("article[data-testid^=request-][data-status=open]").filter(
        has_text=QUESTION
    )
    assert request.count() == 1, staff.page.content()[:3000]
    request_id = (request.get_attribute("data-testid") or "").removeprefix("request-")
    staff.shot("inbox")
    staff.page.fill(f"[data-testid=answer-{request_id}]", ANSWER)
    staff.click_and_wait(f"[data-testid=answer-submit-{request_id}]")
    assert (
        staff.page.get_attribute(f"[data-testid=request-{request_id}]", "data-status") == "answered"
    )
    staff.shot("answered")
    staff.close()

    # 3. The reviewer sees the answer, decides the item and submits.
    reviewer.goto(report_path + ALL_ITEMS)
    assert ANSWER in reviewer.page.inner_text(f"[data-testid=item-answer-{asked_pk}]")
    reviewer.shot("sees-the-answer", focus=f"[data-testid=item-answer-{asked_pk}]")
    decide(reviewer, asked_pk, "justified", "承辦人說明合理，已核對補登案號")
    assert reviewer.page.locator("[data-testid=submit-report]").is_enabled()
    reviewer.click_and_wait("[data-testid=submit-report]")
    assert reviewer.status() == "submitted"
    reviewer.shot("submitted")

    # 4. The approver returns it once with a comment.
    approver = Desk(browser, served, accounts["approver"], shots_dir)
    approver.login()
    listed = approver.page.locator(f"[data-testid=to-approve] a[href='{report_path}']")
    assert listed.count() == 1, "the submitted report is not on the approver's home page"
    approver.click_and_wait(f"[data-testid=to-approve] a[href='{report_path}']")
    approver.page.fill("[data-testid=return-comment-input]", RETURN_COMMENT)
    approver.click_and_wait("[data-testid=return-report]")
    assert approver.status() == "returned"
    approver.shot("returned")

    # 5. The reviewer reads the comment and resubmits.
    reviewer.goto(report_path)
    assert RETURN_COMMENT in reviewer.page.inner_text("[data-testid=return-comment]")
    reviewer.shot("sees-return-comment", focus="[data-testid=return-comment]")
    reviewer.click_and_wait("[data-testid=submit-report]")
    assert reviewer.status() == "submitted"

    # 6. The approver approves, confirming with their password.
    approver.goto(report_path)
    approver.page.fill("[data-testid=approve-comment]", "同意備查")
    approver.page.fill("[data-testid=approve-password]", accounts["approver"].password)
    approver.click_and_wait("[data-testid=approve-report]")
    assert approver.status() == "approved", approver.page.content()[:3000]
    assert approver.page.locator("[data-testid=approved-lock]").is_visible()
    history = approver.page.inner_text("[data-testid=history]")
    assert RETURN_COMMENT in history
    approver.shot("approved", focus="[data-testid=approved-lock]")

    # 7. The PDF is downloaded and holds the report's findings and signatures.
    with approver.page.expect_download() as download_info:
        approver.page.click("[data-testid=export-pdf]")
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf")
    pdf = Path(download.path()).read_bytes()
    assert pdf.startswith(b"%PDF")
    text = flat(pdf_text(pdf))
    for pk, sentences in evidence.items():
        for sentence in sentences:
            assert flat(sentence) in text, f"item {pk}: {sentence!r} not in the PDF"
    assert flat(ANSWER) in text and flat(QUESTION) in text
    assert flat(accounts["reviewer"].name) in text and flat(accounts["approver"].name) in text
    assert re.search(r"第1頁／共\d+頁", text)
    (shots_dir / "approved-report.pdf").write_bytes(pdf)
    reviewer.close()
    approver.close()
