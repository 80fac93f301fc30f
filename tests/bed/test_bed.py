"""Tests of the test bed itself: the local images run the shipped compose files, Kafka works from
the host, the kafka-ui stand-in reports health, and nothing is ever pulled. Independent of
kafkalab's CLI and package: compose runs by subprocess (helpers in conftest.py), Kafka by
confluent_kafka.
Run: /tmp/venv/bin/python -m pytest tests/bed -v -s
"""

from __future__ import annotations

import json
import random
import re
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

pytestmark = pytest.mark.bed

START_TIMEOUT = 120  # seconds for a broker to answer metadata after `compose up`
Conf = Callable[..., dict[str, Any]]


def produce(conf: Conf, bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> list[int]:
    """Produce with acks=all; return the offsets, failing on any delivery error."""
    producer = Producer(conf(bootstrap, acks="all", **{"enable.idempotence": True, "linger.ms": 5}))
    offsets: list[int | None] = [None] * len(records)
    errors: list[str] = []

    def on_delivery(i: int) -> Callable[[Any, Any], None]:
        def report(err: Any, msg: Any) -> None:
            if err is not None:
                errors.append(f"record {i}: {err}")
            else:
                offsets[i] = msg.offset()

        return report

    for i, (key, value) in enumerate(records):
        producer.produce(topic, key=key, value=value, on_delivery=on_delivery(i))
        producer.poll(0)
    assert producer.flush(30) == 0, "messages still undelivered after 30 s"
    assert not errors, errors[:5]
    assert None not in offsets
    return offsets  # type: ignore[return-value]


def consume_all(conf: Conf, bootstrap: str, topic: str, count: int, timeout: float = 30) -> list[Any]:
    """Read partition 0 from the start until `count` messages (no group rebalance to wait for)."""
    consumer = Consumer(conf(bootstrap, **{"group.id": "kltbed-readback", "enable.auto.commit": False}))
    try:
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        got: list[Any] = []
        deadline = time.monotonic() + timeout
        while len(got) < count:
            assert time.monotonic() < deadline, f"consumed {len(got)} of {count} within {timeout} s"
            for msg in consumer.consume(num_messages=count - len(got), timeout=1):
                assert msg.error() is None, msg.error()
                got.append(msg)
        return got
    finally:
        consumer.close()


def wait_for_brokers(
    wait_until: Callable[..., Any],
    admin: AdminClient,
    t0: float,
    label: str,
    until: Callable[[Any], bool],
) -> Any:
    """Poll metadata until `until(metadata)`; print the time since `compose up` (t0)."""
    md = wait_until(lambda: admin.list_topics(timeout=2), START_TIMEOUT, f"{label} brokers", until)
    ready = time.monotonic() - t0
    print(f"\n[time-to-ready] {label}: {ready:.1f} s from compose up to broker metadata")
    return md


def health(port: int) -> tuple[int, Any]:
    """GET the stand-in's /actuator/health: (status, JSON body); connection errors raise."""
    url = f"http://127.0.0.1:{port}/actuator/health"
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_standin_question_is_false_at_once_on_a_closed_port() -> None:
    # The stand-in asks with kafkalab/wire.py, copied into its image.
    from kafkalab.wire import answers

    # A bound socket that never listens: connections to its port are refused, and no one else can
    # take the port while the test runs.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        t0 = time.monotonic()
        assert answers("127.0.0.1", port, timeout=2.0) is False
        elapsed = time.monotonic() - t0
    assert elapsed < 0.5, f"took {elapsed:.2f} s: should fail fast, not wait for its 2 s timeout"


@pytest.mark.parametrize("file", ["kraft.yaml", "zookeeper.yaml", "cluster.yaml"])
def test_compose_files_pull_policy_comes_from_kafkalab_pull(
    file: str, compose: Callable[..., Any], images_env: dict[str, str]
) -> None:
    env = images_env
    assert env.get("KAFKALAB_PULL") == "never"
    project = compose(file, f"static-{file.removesuffix('.yaml')}")  # `config` only: creates nothing
    raw = project.config("--no-interpolate")["services"]
    resolved = project.config()["services"]
    assert raw and set(raw) == set(resolved)
    local_images = {v for k, v in env.items() if k.startswith("KAFKALAB_IMAGE_")}
    for name, service in raw.items():
        assert re.fullmatch(r"\$\{KAFKALAB_PULL(:?-[a-z]+)?\}", service.get("pull_policy", "")), (
            f"{file}: service {name} has pull_policy {service.get('pull_policy')!r}"
        )
        assert resolved[name]["pull_policy"] == "never", (file, name)
        assert resolved[name]["image"] in local_images, (file, name, resolved[name]["image"])


def test_pull_never_fails_on_a_missing_image_without_pulling(compose: Callable[..., Any]) -> None:
    missing = "kafkalab-test/does-not-exist:0"
    project = compose("kraft.yaml", "pullnever", KAFKALAB_IMAGE_UI=missing)
    proc = project.run("up", "-d", "--pull", "never", check=False, timeout=60)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert missing in out, out
    assert "Pulling" not in out, out
    for registry in ("docker.io", "ghcr.io", "registry", "https://", "pull access denied"):
        assert registry not in out.lower(), (registry, out)


def test_kraft_broker_round_trips_1000_messages(
    compose: Callable[..., Any], kafka_conf: Conf, wait_until: Callable[..., Any]
) -> None:
    kraft = compose("kraft.yaml", "kraft")
    t0 = time.monotonic()
    kraft.run("up", "-d")
    admin = AdminClient(kafka_conf(kraft.bootstrap))
    label = f"KRaft {kraft.env['KAFKALAB_IMAGE_KAFKA']}"
    md = wait_for_brokers(wait_until, admin, t0, label, until=lambda m: len(m.brokers) == 1)
    broker = next(iter(md.brokers.values()))
    assert (broker.id, broker.host, broker.port) == (1, "localhost", kraft.kafka_port)

    topic = "kltbed-roundtrip"
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(30)

    rng = random.Random(1000)
    records = [(i.to_bytes(4, "big") + rng.randbytes(12), rng.randbytes(rng.randint(1, 2048))) for i in range(1000)]
    assert len({k for k, _ in records}) == len({v for _, v in records}) == 1000
    t1 = time.monotonic()
    assert produce(kafka_conf, kraft.bootstrap, topic, records) == list(range(1000))
    got = consume_all(kafka_conf, kraft.bootstrap, topic, 1000)
    print(f"[kraft] produced and consumed 1000 messages in {time.monotonic() - t1:.1f} s")
    assert [m.offset() for m in got] == list(range(1000))
    assert [(m.key(), m.value()) for m in got] == records


def test_zookeeper_trio(compose: Callable[..., Any], kafka_conf: Conf, wait_until: Callable[..., Any]) -> None:
    zk = compose("zookeeper.yaml", "zk")
    t0 = time.monotonic()
    zk.run("up", "-d")
    admin = AdminClient(kafka_conf(zk.bootstrap))
    label = f"ZooKeeper-mode {zk.env['KAFKALAB_IMAGE_KAFKA_ZK']}"
    md = wait_for_brokers(wait_until, admin, t0, label, until=lambda m: 1 in m.brokers)
    assert list(md.brokers) == [1], md.brokers

    # A topic that doesn't exist is created by the broker on the first produce to it.
    topic = "kltbed-auto-created"  # the project's volumes are new: the topic can't exist yet
    assert topic not in admin.list_topics(timeout=10).topics
    record = (b"key", b"auto-created on first produce")
    assert produce(kafka_conf, zk.bootstrap, topic, [record]) == [0]
    created = admin.list_topics(timeout=10).topics
    assert topic in created and created[topic].error is None
    assert list(created[topic].partitions) == [0]
    [msg] = consume_all(kafka_conf, zk.bootstrap, topic, 1)
    assert (msg.key(), msg.value()) == record

    # The kafka-ui stand-in is UP while the broker answers, DOWN once it is stopped.
    wait_until(lambda: health(zk.ui_port), 60, "stand-in UP", until=lambda r: r == (200, {"status": "UP"}))
    zk.run("stop", "kafka")
    wait_until(
        lambda: health(zk.ui_port),
        30,
        "stand-in DOWN",
        until=lambda r: r == (503, {"status": "DOWN"}),
    )
