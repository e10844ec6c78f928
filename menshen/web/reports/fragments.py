"""The two repeated fragments of the busiest pages, rendered in Python rather than by the
template engine: the report page's item cards (a finding or a spot check the reviewer
decides) and the rows of the look-up list.

The report page shows 40 cards (20 findings, 20 spot checks); through `{% include %}` each
card cost ~1.3 ms of Django template rendering (two thirds of the page's CPU), so 20
reviewers opening the report together queued behind each other. This renderer produces
the same HTML (same markup, test ids, translations, escaping; checked against the old
template by tests/web/test_web_fragments.py) at a fraction of the cost: what is the same
for every card of a page (the viewer's rights, the CSRF input, the item URL prefix, the
re-authentication link) is worked out once per page in `CardRenderer`. Likewise the 50
rows of a look-up list page (`lookup_rows`) were ~60% of that page's CPU.

Every value from the database goes through `escape`; translated labels are output as
`{% translate %}` outputs them (not escaped: they come from our own catalogue).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from urllib.parse import quote

from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, ngettext

from menshen.web.reports.models import ReviewItem
from menshen.web.reports.templatetags.menshen_tags import rule_titles, severity
from menshen.web.roc import roc_date, roc_datetime


def escape(value: object) -> str:
    """What the template engine's autoescape outputs for a value (django.utils.html.escape
    is html.escape; called directly, without its lazy-string wrapper, it is 3× faster)."""
    return html.escape(str(value))


def _t(message: str) -> str:
    """`{% translate message %}`: the translation of a literal, which the template engine
    treats as safe (our own catalogue) and does not escape."""
    return gettext(message)


@dataclass
class CardRenderer:
    """Renders the item cards of one report page for one viewer."""

    request: HttpRequest
    items_base: str  # "/reports/<pk>/items/"
    can_review: bool
    can_reveal: bool
    reauth_recent: bool
    me_staff_id: str | None  # the viewer's staff id (None: not a member of staff)
    _csrf_input: str = field(init=False, default="")
    _labels: dict[str, str] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._csrf_input = csrf_input(self.request)
        self._reauth_next = (
            reverse("accounts:reauth") + "?next=" + quote(self.request.path, safe="/") + "%23item-"
        )
        # labels in the active language, translated once per page
        self._labels = {
            key: _t(key)
            for key in (
                "Tick for the bulk decision",
                "Finding",
                "Spot check",
                "Rules",
                "Risk",
                "See the look-ups",
                "Show full id (logged)",
                "Show full id (password needed, logged)",
                "Asked",
                "Answer",
                "Waiting for the staff member's answer.",
                "Your own look-up: another reviewer decides it.",
                "Reason, or the question for the staff member",
                "Justified",
                "Ask the staff member to explain",
                "Improper",
            )
        }
        # `_("several people")` in a template filter argument is translated, not escaped
        self._several = gettext("several people")
        # get_status_display() rebuilds the choices dict on every call
        self._status_labels = {value: escape(label) for value, label in ReviewItem.Status.choices}

    def render(self, item) -> SafeString:  # type: ignore[no-untyped-def]
        label = self._labels
        pk = str(item.pk)
        kind = item.kind
        status = item.status
        decided = item.is_decided
        status_label = self._status_labels.get(status) or escape(status)
        out: list[str] = []
        add = out.append

        add(f'<article class="card{" decided" if decided else ""}" id="item-{pk}" '
            f'data-testid="item-{pk}" data-kind="{escape(kind)}" data-status="{escape(status)}">\n'
            "<h3>")  # fmt: skip
        if self.can_review and kind == "spot_check" and status == "pending":
            add(f'<input type="checkbox" name="items" value="{pk}" form="bulk-spot" checked '
                f'aria-label="{label["Tick for the bulk decision"]}" '
                f'data-testid="bulk-spot-item-{pk}"> ')  # fmt: skip
        add(label["Finding"] if kind == "finding" else label["Spot check"])
        person = item.staff_person
        who = (person.name if person is not None else "") or item.staff_id or item.account
        add(f" ·\n  {escape(who)} →\n"
            f'  <span class="mono" data-testid="item-subject-{pk}">'
            f"{escape(item.masked_subject) or self._several}</span>\n"
            f'  <span class="status status-{escape(status)}" data-testid="item-status-{pk}">'
            f"{status_label}</span></h3>\n"
            f'<p class="meta"><span>{escape(roc_datetime(item.first_at))}')  # fmt: skip
        if item.last_at != item.first_at:
            add(f" – {escape(roc_datetime(item.last_at))}")
        count = item.event_count
        add("</span>\n  <span>"
            + ngettext("%(n)s look-up", "%(n)s look-ups", count) % {"n": count}
            + "</span>\n  ")  # fmt: skip
        if item.rules:
            add(f'<span>{label["Rules"]}: <span title="'
                + escape(", ").join(escape(r) for r in item.rules)
                + f'">{escape(rule_titles(item.rules))}</span></span>')  # fmt: skip
        add("\n  ")
        if kind == "finding":
            add(f'<span>{label["Risk"]} {floatformat(item.risk_score, 0)} '
                f"({escape(severity(item.severity))})</span>")  # fmt: skip
        add(f'</p>\n<ul class="evidence" data-testid="item-evidence-{pk}">')
        for sentence in item.evidence:
            add(f"<li>{escape(sentence)}</li>")
        base = self.items_base + pk
        add(f'</ul>\n<p class="meta"><a href="{base}/" data-testid="item-detail-{pk}">'
            f'{label["See the look-ups"]}</a>\n')  # fmt: skip
        if self.can_reveal and item.subject_id:
            add(" · ")
            if self.reauth_recent:
                add(f'<form method="post" action="{base}/reveal/" class="inline">'
                    f'{self._csrf_input}<button type="submit" class="link" '
                    f'data-testid="reveal-{pk}">{label["Show full id (logged)"]}</button></form>')  # fmt: skip
            else:
                add(f'<a href="{self._reauth_next}{pk}" data-testid="reveal-{pk}">'
                    f'{label["Show full id (password needed, logged)"]}</a>')  # fmt: skip
        add("</p>\n")
        request = getattr(item, "latest_request", None)
        if request:
            add(f'<div class="card" data-testid="item-request-{pk}"><strong>{label["Asked"]}:'
                f"</strong> {escape(request.question)}\n  ")  # fmt: skip
            if request.answer:
                add(f'<br><strong>{label["Answer"]}:</strong> <span data-testid="item-answer-{pk}">'
                    f"{escape(request.answer)}</span>")  # fmt: skip
            else:
                add('<br><span class="meta">'
                    + label["Waiting for the staff member's answer."]
                    + "</span>")  # fmt: skip
            add("</div>")
        add("\n")
        if decided:
            add(f"<p><strong>{status_label}</strong>")
            if item.reason:
                add(f": {escape(item.reason)}")
            decider = item.decided_by
            add(f' <span class="meta">— {escape(decider.name if decider is not None else "")} '
                f"{escape(roc_datetime(item.decided_at))}</span></p>")  # fmt: skip
        add("\n")
        if self.can_review and status != "asked" and status != "improper":
            add("\n")
            if self.me_staff_id is not None and item.staff_id == self.me_staff_id:
                add(f'<p class="meta">{label["Your own look-up: another reviewer decides it."]}'
                    "</p>\n")  # fmt: skip
            else:
                add(f"\n"
                    f'<form method="post" action="{base}/decide/" class="decision" '
                    f'data-testid="decide-form-{pk}">{self._csrf_input}\n'
                    f'  <label for="reason-{pk}">'
                    f'{label["Reason, or the question for the staff member"]}</label>\n'
                    f'  <textarea id="reason-{pk}" name="reason" data-testid="reason-{pk}">'
                    "</textarea>\n"
                    f'  <button type="submit" name="decision" value="justified" '
                    f'data-testid="decide-justified-{pk}">{label["Justified"]}</button>\n'
                    f'  <button type="submit" name="decision" value="ask" class="secondary" '
                    f'data-testid="decide-ask-{pk}">{label["Ask the staff member to explain"]}'
                    "</button>\n"
                    f'  <button type="submit" name="decision" value="improper" class="danger" '
                    f'data-testid="decide-improper-{pk}">{label["Improper"]}</button>\n'
                    "</form>")  # fmt: skip
        add("\n</article>\n")
        return mark_safe("".join(out))  # every value above is escaped


def csrf_input(request: HttpRequest) -> str:
    """What `{% csrf_token %}` renders."""
    return (
        '<input type="hidden" name="csrfmiddlewaretoken" value="'
        + escape(get_token(request))
        + '">'
    )


def lookup_rows(
    request: HttpRequest,
    report_pk: int,
    lookups,  # type: ignore[no-untyped-def]
    names: dict[str, str],
    can_reveal: bool,
    reauth_recent: bool,
) -> SafeString:
    """The `<tr>` rows of the look-up list (reports/lookup_list.html): time, staff member,
    system, masked subject (with the reveal button after a recent re-authentication),
    purpose, case number, explanation."""
    reveal = can_reveal and reauth_recent
    if reveal:
        marker = 987654321
        head, _, tail = reverse("reports:reveal_lookup", args=[report_pk, marker]).partition(
            str(marker)
        )
        form_tail = (
            f'" class="inline">{csrf_input(request)}<button type="submit" class="link">'
            f"{_t('show')}</button></form>"
        )
    finding = f'<strong class="error-text">{_t("finding")}</strong> '
    not_explained = gettext("not explained")  # `_("…")` in a filter argument: not escaped
    zone = timezone.get_current_timezone()
    out: list[str] = []
    add = out.append
    for lk in lookups:
        at = lk.occurred_at
        if timezone.is_aware(at):
            at = timezone.localtime(at, zone)
        add(f'<tr data-testid="lookup-row">\n'
            f'<td>{at:%H:%M:%S}<br><span class="meta">{roc_date(at.date())}</span></td>\n'
            f"<td>{escape(names.get(lk.staff_id, '') or lk.staff_id)}<br>"
            f'<span class="meta">{escape(lk.account)}</span></td>\n'
            f'<td>{escape(lk.system)}<br><span class="meta">{escape(lk.action)}</span></td>\n'
            f'<td class="mono">{escape(lk.masked_subject)}')  # fmt: skip
        if reveal:
            add(f'<form method="post" action="{head}{lk.pk}{tail}{form_tail}')
        add(f"</td>\n<td>{escape(lk.purpose_code)}</td><td>{escape(lk.record_ref)}</td>\n<td>")
        if lk.finding_id:
            add(finding)
        add(f"{escape(lk.explanation_text) or not_explained}</td>\n</tr>")
    return mark_safe("".join(out))  # every value above is escaped
