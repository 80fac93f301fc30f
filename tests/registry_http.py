"""One HTTP request to a Schema Registry, for the tests of the bed's registry image and of the lab's
registry: JSON in and out, never through a proxy, 4xx and 5xx answered too. Imported by name:
tests/conftest.py's folder is on sys.path."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


def request(url: str, method: str = "GET", body: Any = None) -> tuple[int, Any]:
    """(status, JSON body) of the request; an error answer's body as text."""
    data = None if body is None else json.dumps(body).encode()
    sent = urllib.request.Request(url, data=data, method=method)
    sent.add_header("Content-Type", "application/vnd.schemaregistry.v1+json")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(sent, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(errors="replace")


def app_client(url: str) -> Any:
    """confluent-kafka's registry client as an application would make it, with a timeout: without one
    (its default) a request the registry never answers hangs the test; with one, confluent-kafka
    retries it (max.retries) on a new connection, as kafkalab's own client does."""
    from confluent_kafka.schema_registry import SchemaRegistryClient

    return SchemaRegistryClient({"url": url, "timeout": 10})
