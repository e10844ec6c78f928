"""Small network helpers shared by the test runner, the browser test and the web benchmark."""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request

LOOPBACK = "127.0.0.1"


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port that is free on `host` right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for_http(url: str, timeout: float = 60.0, is_alive=None) -> None:
    """Poll `url` until it answers (any HTTP status), or raise TimeoutError.

    `is_alive`, when given, is called between attempts; returning False stops waiting
    early (the server process died) with a RuntimeError.
    """
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if is_alive is not None and not is_alive():
            raise RuntimeError(f"the server for {url} exited before answering")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except urllib.error.HTTPError:
            return  # it answered, even if with an error status
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as error:
            last_error = error
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s ({last_error})")
