"""kafkalab.wire: the ApiVersions question, without a broker."""

from __future__ import annotations


def test_a_listening_socket_that_is_no_broker_does_not_answer() -> None:
    import socket
    import threading

    from kafkalab.wire import answers

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()

        def reply_garbage() -> None:
            conn, _ = server.accept()
            with conn:
                conn.recv(64)
                conn.sendall(b"\x00\x00\x00\x06HTTP/1")

        threading.Thread(target=reply_garbage, daemon=True).start()
        assert answers("127.0.0.1", server.getsockname()[1]) is False
