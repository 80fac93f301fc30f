"""lab._UiPoll: kafka-ui's health, polled on a thread beside the broker wait, against a local HTTP server."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator

import pytest

from kafkalab.lab import _UiPoll


class _Health(http.server.BaseHTTPRequestHandler):
    healthy = False
    asked = 0

    def do_GET(self) -> None:
        type(self).asked += 1
        body = b'{"status":"UP"}' if type(self).healthy else b'{"status":"DOWN"}'
        self.send_response(200 if type(self).healthy else 503)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def ui() -> Iterator[tuple[str, type[_Health]]]:
    handler = type("Health", (_Health,), {"healthy": False, "asked": 0})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def test_a_poke_asks_again_at_once(ui: tuple[str, type[_Health]]) -> None:
    url, handler = ui
    poll = _UiPoll(url, time.monotonic() + 30, every=30.0)  # without the poke, no second question for 30 s
    deadline = time.monotonic() + 5
    while handler.asked < 1 and time.monotonic() < deadline:
        poll.done.wait(0.01)
    assert not poll.done.is_set()
    handler.healthy = True
    poll.poke()
    assert poll.done.wait(5)
    assert poll.health.healthy
    assert "200" in poll.health.detail


def test_past_the_deadline_it_reports_the_last_answer(ui: tuple[str, type[_Health]]) -> None:
    url, handler = ui
    poll = _UiPoll(url, time.monotonic() + 0.3, every=0.05)
    assert poll.done.wait(5)
    assert not poll.health.healthy
    assert "HTTP 503" in poll.health.detail
    assert handler.asked >= 1


def test_cancel_stops_the_polling(ui: tuple[str, type[_Health]]) -> None:
    url, handler = ui
    poll = _UiPoll(url, time.monotonic() + 60, every=30.0)
    poll.cancel()
    assert poll.done.wait(5)  # set only once the polling loop has ended: long before its 60 s deadline
    assert not poll.health.healthy
    assert handler.asked <= 1


def test_no_ui_there() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    poll = _UiPoll(f"http://127.0.0.1:{port}", time.monotonic() + 0.2, every=0.05)
    assert poll.done.wait(5)
    assert not poll.health.healthy
    assert "no answer" in poll.health.detail


def test_an_answer_that_is_not_http_ends_as_unhealthy() -> None:
    import socket

    finished = threading.Event()
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.settimeout(0.1)

        def garbage() -> None:
            while not finished.is_set():
                try:
                    conn, _ = server.accept()
                except OSError:  # a timeout: look at `finished` again
                    continue
                with conn:
                    conn.recv(1024)
                    conn.sendall(b"\x00\x01 not http at all\r\n\r\n")

        serving = threading.Thread(target=garbage, daemon=True)
        serving.start()
        poll = _UiPoll(f"http://127.0.0.1:{server.getsockname()[1]}", time.monotonic() + 0.3, every=0.05)
        assert poll.done.wait(5)
        finished.set()
        serving.join(5)
    assert not poll.health.healthy
    assert "no answer (BadStatusLine)" in poll.health.detail
