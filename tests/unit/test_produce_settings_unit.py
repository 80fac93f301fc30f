"""Issue 23: the settings of produce's and consume's clients (lz4, connections at once), and that
the user's -X still wins over them; the producer asks for no metadata of its own."""

from __future__ import annotations

import io
from typing import Any

import pytest

from kafkalab.kafka import clients, consume, produce, produce_target


class Made:
    """Stands in for confluent-kafka's client classes: records the configuration each was given."""

    def __init__(self, kind: str, configs: list[dict[str, Any]]) -> None:
        self.kind, self.configs = kind, configs

    def __call__(self, config: dict[str, Any]) -> Any:
        self.configs.append({"kind": self.kind, **config})
        return Client()


class Client:
    """A producer that delivers everything and fails the test if it is asked for metadata."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def produce(self, _topic: str, value: bytes, *_args: Any, **_kwargs: Any) -> None:
        self.sent.append(value)

    def poll(self, _timeout: float = 0) -> int:
        return 0

    def flush(self, _timeout: float | None = None) -> int:
        return 0

    def __len__(self) -> int:
        return 0

    def list_topics(self, *_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("the producer asked for metadata: produce_target has the partitions")

    def close(self) -> None:
        pass


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    import confluent_kafka

    configs: list[dict[str, Any]] = []
    monkeypatch.setattr(confluent_kafka, "Producer", Made("producer", configs))
    monkeypatch.setattr(confluent_kafka, "Consumer", Made("consumer", configs))
    monkeypatch.setattr(produce, "produce_target", lambda _b, topic, _t=5: produce_target.ProduceTarget(topic, 2, False))
    return configs


def test_the_producer_sends_lz4_and_connects_at_once(made: list[dict[str, Any]]) -> None:
    result = produce.produce_lines("h:1", "t", io.BytesIO(b"a\nb\n"), partition=1)
    assert (result.messages, result.failed) == (2, 0)
    (config,) = made
    assert config["compression.type"] == "lz4"
    assert config["enable.sparse.connections"] is False
    assert config["delivery.report.only.error"] is True


def test_the_users_settings_win_over_produces(made: list[dict[str, Any]]) -> None:
    with clients.client_settings({"compression.type": "none", "enable.sparse.connections": "true"}):
        produce.produce_lines("h:1", "t", io.BytesIO(b"a\n"))
    (config,) = made
    assert (config["compression.type"], config["enable.sparse.connections"]) == ("none", "true")


def test_the_consumer_connects_at_once(made: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(consume, "check_reachable", lambda _b: None)

    class Stop(Exception):
        pass

    def stop(*_args: Any) -> None:
        raise Stop

    monkeypatch.setattr(consume._Consume, "start", stop)
    with pytest.raises(Stop):
        consume.consume_to("h:1", "t", io.BytesIO())
    (config,) = made
    assert (config["kind"], config["enable.sparse.connections"]) == ("consumer", False)
