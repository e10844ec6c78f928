"""`menshen serve`'s server: Django's threaded WSGI server, optionally pre-forked.

One Python process is bound by its GIL to one core: with `workers > 1` the parent binds the
listening socket once, then forks that many children; each child serves the same socket
with Django's threaded WSGI server (a thread per connection), and the kernel hands each new
connection to whichever child accepts it first. The parent only supervises: it restarts a
child that dies, and on SIGTERM/SIGINT stops every child and exits. Standard library and
Django only; pre-forking needs `os.fork` (Linux, macOS); elsewhere one process serves.
"""

from __future__ import annotations

import os
import signal
import socketserver
import sys
import time
from collections.abc import Callable
from pathlib import Path


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


def make_server(host: str, port: int):
    """Django's threaded WSGI server bound to (host, port), serving the project's app."""
    from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer
    from django.core.wsgi import get_wsgi_application

    def get_request(self):
        # the listening socket is non-blocking when pre-forked; a connection must not be
        # (BSD accept() passes O_NONBLOCK on, Linux does not)
        conn, address = self.socket.accept()
        conn.setblocking(True)
        return conn, address

    cls = type(
        "WSGIServer", (socketserver.ThreadingMixIn, WSGIServer), {"get_request": get_request}
    )
    httpd = cls((host, port), WSGIRequestHandler)
    httpd.daemon_threads = True
    httpd.set_app(get_wsgi_application())
    return httpd


def _child(httpd) -> None:
    """Serve until killed; never return into the parent's code."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    code = 0
    try:
        httpd.serve_forever(poll_interval=0.5)
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def serve(
    host: str, port: int, workers: int = 1, on_ready: Callable[[], None] | None = None
) -> None:
    """Serve forever on (host, port) with `workers` processes (1: this process only)."""
    httpd = make_server(host, port)
    warm_up()
    if workers <= 1 or not hasattr(os, "fork"):
        if on_ready:
            on_ready()
        try:
            httpd.serve_forever()
        finally:
            httpd.server_close()
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
