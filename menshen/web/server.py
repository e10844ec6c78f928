"""`menshen serve`'s server: Django's threaded WSGI server, optionally pre-forked.

One Python process is bound by its GIL to one core: with `workers > 1` the parent binds the
listening socket once, then forks that many children; each child serves the same socket
with Django's threaded WSGI server (a thread per connection), and the kernel hands each new
connection to whichever child accepts it first. The parent only supervises: it restarts a
child that dies, and on SIGTERM/SIGINT stops every child and exits. Standard library and
Django only; pre-forking needs `os.fork` (Linux, macOS); elsewhere one process serves.

Admission: each process runs at most `threads` requests in the Django app at once (a
connection still gets a thread of its own, so idle keep-alive connections hold nothing),
and its accept loop accepts a new connection only while it has a free slot. A full process
therefore leaves new connections to a process with a free slot, or in the kernel's listen
backlog, first come first served, instead of taking them in and sharing its core between
ever more threads (which made every request as slow as the slowest: 20 reviewers arriving
together each waited for all 20 pages). The listen backlog is deep enough for that.
"""

from __future__ import annotations

import os
import re
import selectors
import signal
import socketserver
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

# requests in the app at once, per process. Measured on 2 shared cores (20 reviewers back
# to back): 1 → 23 req/s (a core idles while a request waits for SQLite), 2 → 52 req/s,
# p95 529 ms; 4 → 44 req/s, p95 700 ms; unlimited → 41 req/s, p95 1,457 ms.
DEFAULT_THREADS = 2
# Exports (a PDF takes seconds) run outside the slots, so that they never hold up the pages.
UNADMITTED = re.compile(r"/export\.[a-z]+$")
LISTEN_BACKLOG = 1024  # Django's WSGIServer listens with 10: a full backlog drops SYNs (1 s)


def default_workers() -> int:
    """The CPUs this process may run on (at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def warm_up() -> int:
    """Do once, before serving (and before forking, so every child inherits it), what the
    first requests would otherwise each do at once: import the views, build the URL
    resolver, load the translation catalogues and the rule catalogue, compile every
    template (~1 s of CPU; 20 reviewers arriving together on a cold process waited seconds).
    Returns the number of templates compiled."""
    from django.conf import settings
    from django.template import TemplateDoesNotExist, TemplateSyntaxError, engines
    from django.template.loader import get_template
    from django.urls import get_resolver, reverse
    from django.utils import translation

    get_resolver().url_patterns  # noqa: B018 - imports every view module
    reverse("reports:home")  # fills the namespaces' reverse dictionaries
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            translation.gettext("Summary")
    # the rule titles the report page shows come from the detection catalogue, whose first
    # load imports ibis (~0.8 s): under the import lock every thread waited for it
    from menshen.web.reports.templatetags.menshen_tags import _rule_titles

    _rule_titles()
    _warm_pages()
    compiled = 0
    for engine in engines.all():
        dirs = list(getattr(engine, "template_dirs", ()))
        for directory in dirs:
            root = Path(directory)
            for path in sorted(root.rglob("*.html")):
                try:
                    get_template(path.relative_to(root).as_posix())
                    compiled += 1
                except (TemplateDoesNotExist, TemplateSyntaxError, UnicodeDecodeError):
                    continue
    return compiled


class Admission:
    """At most `limit` requests of this process in the app at once; the accept loop waits
    for a free slot before it accepts. A connection accepted holds a slot for its first
    request until that request has run (or the connection ends without one). Connections
    are served one per thread, so "this connection" is "this thread"."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        # requests in the app, plus accepted connections whose first request has not run
        self.busy = 0
        self.changed = threading.Condition()
        self.local = threading.local()

    def wait_for_slot(self, timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.busy < self.limit, timeout)

    def reserve(self) -> None:
        """A connection was accepted (by the accept loop): its first request has a slot."""
        with self.changed:
            self.busy += 1

    def leave(self) -> None:
        with self.changed:
            self.busy -= 1
            self.changed.notify_all()

    # in the connection's thread
    def adopt(self) -> None:
        """This thread serves the connection just accepted, and holds its reservation."""
        self.local.reserved = True

    def enter(self) -> None:
        """A request is about to run in the app: use the reservation, or wait for a slot
        (a further request on a kept-alive connection)."""
        if getattr(self.local, "reserved", False):
            self.local.reserved = False
            return
        with self.changed:
            self.changed.wait_for(lambda: self.busy < self.limit)
            self.busy += 1

    def release_unused(self) -> None:
        """The connection ends: give back its reservation if no request used it."""
        if getattr(self.local, "reserved", False):
            self.local.reserved = False
            self.leave()


def admitted(app, admission: Admission):  # type: ignore[no-untyped-def]
    """The WSGI app, run within the process's admission slots."""

    def application(environ, start_response):  # type: ignore[no-untyped-def]
        if UNADMITTED.search(environ.get("PATH_INFO", "")):
            admission.release_unused()
            return app(environ, start_response)
        admission.enter()
        try:
            return app(environ, start_response)
        finally:
            admission.leave()

    return application


def _warm_pages() -> None:
    """Run once what the first report page and look-up list page of a process ran for the
    first time (the locale's date and number formats — an import —, the CSRF token, the
    card and row renderers, the ORM's compilation of the pages' queries), so that the
    first wave of requests does not pay it (~30 ms a page, under the import lock)."""
    import datetime as dt

    from django.conf import settings
    from django.http import HttpRequest
    from django.utils import formats, timezone, translation

    from menshen.web.reports import views
    from menshen.web.reports.fragments import CardRenderer, lookup_rows
    from menshen.web.reports.models import Lookup, Report, ReviewItem

    now = timezone.now()
    item = ReviewItem(
        pk=0,
        kind="finding",
        status="pending",
        staff_id="-",
        first_at=now,
        last_at=now + dt.timedelta(minutes=1),
        event_count=2,
        rules=["unexplained"],
        severity="high",
        risk_score=1.0,
        evidence_zh=["-"],
        evidence_en=["-"],
    )
    lookup = Lookup(pk=0, system="-", occurred_at=now, subject_id="A123456789", finding_id="-")
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            formats.get_format("DATE_FORMAT")
            formats.number_format(1.5, 0)
            request = HttpRequest()
            request.path = "/"
            cards = CardRenderer(
                request,
                items_base="/",
                can_review=True,
                can_reveal=True,
                reauth_recent=False,
                me_staff_id=None,
            )
            cards.render(item)
            lookup_rows(request, 0, [lookup], {}, True, True)
    try:
        Report.objects.select_related("unit", "submitted_by", "approved_by").filter(pk=0).first()
        items = ReviewItem.objects.filter(report_id=0).select_related("staff_person", "decided_by")
        list(views._ranked(items)[:1])
        list(Lookup.objects.filter(report_id=0).order_by("occurred_at", "id")[:1])
    except Exception:  # no schema yet, or no database access: warming is best effort
        pass


def make_server(host: str, port: int, threads: int = DEFAULT_THREADS):
    """Django's threaded WSGI server bound to (host, port), serving the project's app with
    at most `threads` requests in the app at once (see Admission)."""
    from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer
    from django.core.wsgi import get_wsgi_application

    admission = Admission(threads)

    class Handler(WSGIRequestHandler):
        def setup(self) -> None:
            admission.adopt()
            try:
                super().setup()
            except BaseException:
                admission.release_unused()  # finish() is not called after a failed setup
                raise

        def finish(self) -> None:
            try:
                super().finish()
            finally:
                admission.release_unused()

    def get_request(self):  # type: ignore[no-untyped-def]
        # the listening socket is non-blocking when pre-forked; a connection must not be
        # (BSD accept() passes O_NONBLOCK on, Linux does not)
        conn, address = self.socket.accept()
        conn.setblocking(True)
        admission.reserve()
        return conn, address

    def process_request(self, request, client_address):  # type: ignore[no-untyped-def]
        try:
            socketserver.ThreadingMixIn.process_request(self, request, client_address)
        except BaseException:
            admission.leave()  # no thread was started to serve it
            raise

    cls = type(
        "WSGIServer",
        (socketserver.ThreadingMixIn, WSGIServer),
        {
            "get_request": get_request,
            "process_request": process_request,
            "request_queue_size": LISTEN_BACKLOG,
        },
    )
    httpd = cls((host, port), Handler)
    httpd.daemon_threads = True
    httpd.block_on_close = False
    httpd.admission = admission
    httpd.set_app(admitted(get_wsgi_application(), admission))
    return httpd


def serve_admitted(httpd, poll_interval: float = 0.5) -> None:
    """Accept connections only while this process has a free slot; serve each in a thread.
    Runs until interrupted (KeyboardInterrupt) or killed."""
    admission: Admission = httpd.admission
    with selectors.DefaultSelector() as selector:
        selector.register(httpd.socket, selectors.EVENT_READ)
        while True:
            if not admission.wait_for_slot(poll_interval):
                continue
            if selector.select(poll_interval):
                # another process may have taken the connection: accept() then fails with
                # EAGAIN, which _handle_request_noblock ignores
                httpd._handle_request_noblock()


def _child(httpd) -> None:
    """Serve until killed; never return into the parent's code."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    code = 0
    try:
        serve_admitted(httpd)
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def serve(
    host: str,
    port: int,
    workers: int = 1,
    on_ready: Callable[[], None] | None = None,
    threads: int = DEFAULT_THREADS,
) -> None:
    """Serve forever on (host, port) with `workers` processes (1: this process only), each
    running at most `threads` requests at once. Warms up before it binds the socket: no
    connection is accepted (nor left waiting in the backlog) before the app is ready."""
    warm_up()
    httpd = make_server(host, port, threads)
    if workers <= 1 or not hasattr(os, "fork"):
        if on_ready:
            on_ready()
        previous = None
        if threading.current_thread() is threading.main_thread():
            # SIGTERM stops it like Ctrl-C: the socket is closed, the exit code is 0
            previous = signal.signal(signal.SIGTERM, _interrupt)
        try:
            serve_admitted(httpd)
        finally:
            httpd.server_close()
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
        return
    from django.db import connections

    connections.close_all()  # no database connection is shared across fork
    # A connection wakes every child's selector; the losers' accept() must not block.
    httpd.socket.setblocking(False)
    children: set[int] = set()
    stopping = False

    def spawn() -> None:
        pid = os.fork()
        if pid == 0:
            _child(httpd)
        children.add(pid)

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                children.discard(pid)

    old = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        for _ in range(workers):
            spawn()
        if on_ready:
            on_ready()
        while children:
            try:
                pid, _status = os.wait()
            except ChildProcessError:
                break
            except InterruptedError:
                continue
            children.discard(pid)
            if not stopping:
                time.sleep(0.5)  # a child died: replace it, without a tight loop
                spawn()
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
        httpd.server_close()
