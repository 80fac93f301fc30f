"""lab.ui_health: kafka-ui's health endpoint, asked of a local HTTP server, and of nothing."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator

import pytest

from kafkalab.lab.modes import OPTIONAL
from kafkalab.lab.status import after_broker_state, http_health, ui_health


def serving(healthy: bool) -> Iterator[str]:
    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b'{"status":"UP"}' if healthy else b'{"status":"DOWN"}'
            self.send_response(200 if healthy else 503)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("healthy", [True, False])
def test_up_and_down(healthy: bool) -> None:
    for url in serving(healthy):
        status = ui_health(url)
        assert status.healthy is healthy
        assert status.detail.startswith("HTTP 200" if healthy else "HTTP 503")


def test_no_ui_there() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    status = ui_health(f"http://127.0.0.1:{port}")
    assert not status.healthy
    assert "no answer" in status.detail


def test_an_answer_that_is_not_http_is_unhealthy() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()

        def garbage() -> None:
            conn, _ = server.accept()
            with conn:
                conn.recv(1024)
                conn.sendall(b"\x00\x01 not http at all\r\n\r\n")

        answering = threading.Thread(target=garbage, daemon=True)
        answering.start()
        status = ui_health(f"http://127.0.0.1:{server.getsockname()[1]}")
        answering.join(5)
    assert not status.healthy
    assert "no answer (BadStatusLine)" in status.detail


@pytest.mark.parametrize(("healthy", "answered", "running", "up_for", "state"), [
    (True, True, True, 500.0, "healthy"),
    (False, False, True, 3.0, "starting"),  # runs, and has not answered yet: it starts
    (False, False, True, 119.0, "starting"),
    (False, False, True, 120.0, "failed"),  # not answered within the start window
    (False, True, True, 3.0, "failed"),  # it answered, and not UP: it has started, and is not well
    (False, False, False, 3.0, "failed"),  # its container exited
    (False, False, True, None, "failed"),  # when it started is unknown: no grace to give
])
def test_a_service_after_the_broker_is_starting_only_within_its_window(
    healthy: bool, answered: bool, running: bool, up_for: float | None, state: str,
) -> None:
    assert after_broker_state(healthy, answered, running, up_for, window=120.0) == state


def test_only_an_http_answer_counts_as_answered() -> None:
    for url in serving(False):
        assert ui_health(url).answered
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert not ui_health(f"http://127.0.0.1:{port}").answered


def test_connects_answers_while_it_starts_are_not_yet_answers() -> None:
    # Kafka Connect's REST server listens before its resources exist (404), then answers 503 until the
    # worker has started: within the start window that is "starting"; kafka-ui's 503 is an answer.
    connect = OPTIONAL["connect"]
    for url in serving(False):  # 503
        health = http_health(connect, url)
        assert not health.healthy and not health.answered
        assert after_broker_state(health.healthy, health.answered, True, 5.0, window=120.0) == "starting"
        assert after_broker_state(health.healthy, health.answered, True, 130.0, window=120.0) == "failed"
        assert ui_health(url).answered
