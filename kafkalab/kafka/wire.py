"""The one Kafka request kafkalab makes without confluent-kafka: ApiVersions, to learn whether a
broker answers at an address, in about a millisecond and without importing confluent_kafka (about
0.14 s). The pytest plugin attaches with it.

Standard library only, on purpose: the test bed's kafka-ui stand-in copies this file into its image
(tests/bed/build-images), so that both ask a broker the same question.
"""

from __future__ import annotations

import socket
import struct

_API_VERSIONS = 18
_CORRELATION_ID = 7
_CLIENT_ID = b"kafkalab"
# The most a reply's length field may announce. A broker's ApiVersions answer is a few hundred
# bytes; a peer that is no broker (an HTTP server: "HTTP" read as a length is about 1.2 GB) would
# otherwise have recv() allocate whatever it claims.
MAX_REPLY = 1024 * 1024


def answers(host: str, port: int, timeout: float = 1.0, *, tls: bool = False,
            cert: tuple[str, str] | None = None) -> bool:
    """True when a TCP connection succeeds and a well-formed ApiVersions v0 answer has error code 0.
    A length field under 6 or over MAX_REPLY is no such answer: False, without reading on.
    tls: over TLS (a secured lab's listener), whose certificate is not checked: this only asks
    whether a broker answers; cert: the client's (certificate, key) files, for a listener that asks."""
    body = struct.pack(">hhih", _API_VERSIONS, 0, _CORRELATION_ID, len(_CLIENT_ID)) + _CLIENT_ID
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            conn = raw
            if tls:
                import ssl

                context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
                if cert:
                    context.load_cert_chain(*cert)
                conn = context.wrap_socket(raw, server_hostname=host)
            conn.settimeout(timeout)
            conn.sendall(struct.pack(">i", len(body)) + body)
            (size,) = struct.unpack(">i", _read(conn, 4))
            if not 6 <= size <= MAX_REPLY:
                return False
            reply = _read(conn, size)
            correlation_id, error_code = struct.unpack(">ih", reply[:6])
    except (OSError, struct.error):
        return False
    return bool(correlation_id == _CORRELATION_ID and error_code == 0)


def _read(conn: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise ConnectionError("the broker closed the connection")
        data += chunk
    return data
