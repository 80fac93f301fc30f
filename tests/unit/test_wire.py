"""kafkalab.kafka.wire: the ApiVersions question, without a broker."""

from __future__ import annotations


def test_a_listening_socket_that_is_no_broker_does_not_answer() -> None:
    import socket
    import threading

    from kafkalab.kafka.wire import answers

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


def test_an_http_server_is_refused_without_reading_what_its_length_field_claims() -> None:
    """"HTTP" read as a length is 1,213,486,160 bytes: answers() must not allocate that for recv()."""
    import socket
    import struct
    import threading
    import time
    import tracemalloc

    from kafkalab.kafka.wire import MAX_REPLY, answers

    response = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n"
    assert struct.unpack(">i", response[:4])[0] > 1000 * MAX_REPLY
    done = threading.Event()
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()

        def reply_http() -> None:
            conn, _ = server.accept()
            with conn:
                conn.recv(64)
                conn.sendall(response)
                done.wait(5)  # keep-alive: the connection stays open until the client goes

        threading.Thread(target=reply_http, daemon=True).start()
        tracemalloc.start()
        try:
            started = time.monotonic()
            answered = answers("127.0.0.1", server.getsockname()[1], timeout=2.0)
            took = time.monotonic() - started
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
            done.set()
    assert answered is False
    assert peak < MAX_REPLY, f"answers() allocated {peak:,} bytes"
    assert took < 1.0  # refused at the length field, not after waiting out the timeout
