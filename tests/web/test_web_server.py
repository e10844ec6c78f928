"""`menshen serve`'s admission: at most --threads requests of a process in the app at once,
new connections accepted only while a slot is free, kept-alive idle connections holding
no slot, exports outside the slots."""

from __future__ import annotations

import http.client
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from menshen.web.server import UNADMITTED, Admission


def test_admission_counts_reservations_and_waits_for_a_slot() -> None:
    admission = Admission(1)
    assert admission.wait_for_slot(0.01)
    admission.reserve()  # the accept loop took a connection
    assert not admission.wait_for_slot(0.01)  # full: it accepts no other one
    admission.adopt()  # the connection's thread
    admission.enter()  # its first request uses the reservation, does not wait
    assert admission.busy == 1
    entered = threading.Event()

    def second_request() -> None:  # another connection's further request
        admission.enter()
        entered.set()
        admission.leave()

    thread = threading.Thread(target=second_request)
    thread.start()
    assert not entered.wait(0.2), "a request ran while the only slot was taken"
    admission.leave()
    assert entered.wait(5)
    thread.join(5)
    assert admission.busy == 0
    admission.reserve()
    admission.adopt()
    admission.release_unused()  # the connection closed before sending a request
    assert admission.busy == 0 and admission.wait_for_slot(0.01)


def test_exports_run_outside_the_slots() -> None:
    assert UNADMITTED.search("/reports/12/export.pdf")
    assert UNADMITTED.search("/reports/12/export.xlsx")
    assert not UNADMITTED.search("/reports/12/")
    assert not UNADMITTED.search("/reports/12/lookups/")


def test_an_idle_kept_alive_connection_holds_no_slot(tmp_path: Path) -> None:
    """One process, one slot: a browser's idle keep-alive connection must not block others,
    and concurrent requests beyond the slots wait (in the backlog), none is refused."""
    from menshen.testing.browser import ServedHome

    served = ServedHome(
        tmp_path / "home", tmp_path / "serve.log", args=("--workers", "1", "--threads", "1")
    )
    port = served.port
    try:
        served.wait(120.0)
        idle = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        idle.request("GET", "/accounts/login/")
        first = idle.getresponse()
        first.read()
        assert first.status == 200 and first.getheader("Connection", "") != "close"

        def fetch(_: int) -> int:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                conn.request("GET", "/accounts/login/", headers={"Connection": "close"})
                response = conn.getresponse()
                response.read()
                return response.status
            finally:
                conn.close()

        began = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(fetch, range(16)))
        assert statuses == [200] * 16
        assert time.monotonic() - began < 25
        idle.request("GET", "/accounts/login/")  # the kept-alive connection still works
        again = idle.getresponse()
        again.read()
        assert again.status == 200
        idle.close()
    finally:
        code = served.stop()
    assert code == 0, (tmp_path / "serve.log").read_text(errors="replace")
    assert "1 requests at once" in (tmp_path / "serve.log").read_text(errors="replace")
