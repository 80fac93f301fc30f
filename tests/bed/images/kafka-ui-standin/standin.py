#!/usr/bin/env python3
"""STAND-IN for ghcr.io/kafbat/kafka-ui, for kafkalab's test bed only: this is not kafka-ui.

kafka-ui cannot be had on machines with no container registry. This server takes the same settings
(KAFKA_CLUSTERS_0_NAME, KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS, SERVER_PORT) and answers the one thing
kafkalab asks of the real UI: GET /actuator/health is 200 {"status":"UP"} while a broker at the
bootstrap servers accepts a TCP connection and answers a Kafka ApiVersions request, and 503
{"status":"DOWN"} otherwise.

Like the real UI, a Spring Boot application whose web server listens only once it has started, it
listens STANDIN_START_SECONDS after the container starts (10 by default: kafka-ui's own start on a
laptop, which comes seconds after the broker's). Until then a connection is refused.
"""
from __future__ import annotations

import json
import os
import signal
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from wire import answers  # kafkalab/kafka/wire.py, copied in beside this file


def cluster_up() -> bool:
    for server in os.environ.get("KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS", "").split(","):
        host, _, port = server.strip().rpartition(":")
        if host and port.isdigit() and answers(host, int(port), timeout=2.0):
            return True
    return False


class Handler(BaseHTTPRequestHandler):
    server_version = "kafka-ui-standin"

    def do_GET(self) -> None:
        if self.path == "/actuator/health":
            up = cluster_up()
            self._send(200 if up else 503, {"status": "UP" if up else "DOWN"})
        elif self.path == "/":
            name = os.environ.get("KAFKA_CLUSTERS_0_NAME", "local")
            self._send(200, {"standin": "kafka-ui stand-in, not kafka-ui", "cluster": name})
        else:
            self._send(404, {"status": 404, "error": "Not Found"})

    def _send(self, code: int, payload: dict[str, object]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        print("kafka-ui-standin:", format % args, flush=True)


if __name__ == "__main__":
    # As PID 1 in its container, Python would ignore SIGTERM and `docker stop` would wait 10 s.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    port = int(os.environ.get("SERVER_PORT", "8080"))
    starting = float(os.environ.get("STANDIN_START_SECONDS", "10"))
    print(f"kafka-ui-standin: starting, listening in {starting:g} s (a stand-in, not kafka-ui)", flush=True)
    time.sleep(starting)  # what the stand-in stands in for: a JVM application's start
    print(f"kafka-ui-standin: serving on :{port} (a stand-in, not kafka-ui)", flush=True)
    ThreadingHTTPServer(("0.0.0.0", port), Handler).serve_forever()
