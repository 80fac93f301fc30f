"""Kafka through confluent-kafka: readiness, cluster metadata, topics, and preconfigured clients.

confluent_kafka is imported inside the functions (about 0.14 s), so that `kafkalab --help` and
the Docker-only commands never pay for it. librdkafka's own log lines go to the Python logger
"kafkalab.librdkafka", which prints nothing unless the caller configures logging.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from typing import Any

from kafkalab.errors import ReadinessTimeout, BrokerUnreachable, KafkaRequestError

LOGGER_NAME = "kafkalab.librdkafka"


def _quiet_logger() -> logging.Logger:
    logger = logging.getLogger(LOGGER_NAME)
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
    return logger


def client_config(bootstrap: str, **conf: Any) -> dict[str, Any]:
    """A librdkafka configuration for a lab: quiet, and quick to retry a broker that is starting."""
    return {
        "bootstrap.servers": bootstrap,
        "logger": _quiet_logger(),
        "reconnect.backoff.ms": 50,
        "reconnect.backoff.max.ms": 500,
        **{k.replace("_", "."): v for k, v in conf.items()},
    }


def admin_client(bootstrap: str, **conf: Any) -> Any:
    from confluent_kafka.admin import AdminClient

    return AdminClient(client_config(bootstrap, **conf))


def producer(bootstrap: str, **conf: Any) -> Any:
    from confluent_kafka import Producer

    return Producer(client_config(bootstrap, **conf))


def consumer(bootstrap: str, group: str, **conf: Any) -> Any:
    from confluent_kafka import Consumer

    return Consumer(client_config(bootstrap, **{"group.id": group, "auto.offset.reset": "earliest", **conf}))


@dataclasses.dataclass(frozen=True)
class ClusterInfo:
    bootstrap: str
    cluster_id: str | None
    controller_id: int
    brokers: tuple[tuple[int, str], ...]  # (id, host:port)
    topics: int  # not counting internal topics (__consumer_offsets, ...)
    partitions: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "bootstrap": self.bootstrap,
            "cluster_id": self.cluster_id,
            "controller_id": self.controller_id,
            "broker_count": len(self.brokers),
            "brokers": [{"id": i, "address": a} for i, a in self.brokers],
            "topics": self.topics,
            "partitions": self.partitions,
        }


def _metadata(admin: Any, bootstrap: str, timeout: float) -> ClusterInfo:
    """One metadata request; BrokerUnreachable when no broker answers within the timeout."""
    from confluent_kafka import KafkaException

    try:
        md = admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        raise BrokerUnreachable(f"No Kafka broker answered at {bootstrap}: {exc.args[0].str()}.") from None
    user_topics = [t for name, t in md.topics.items() if not name.startswith("__")]
    return ClusterInfo(
        bootstrap=bootstrap,
        cluster_id=md.cluster_id,
        controller_id=md.controller_id,
        brokers=tuple(sorted((b.id, f"{b.host}:{b.port}") for b in md.brokers.values())),
        topics=len(user_topics),
        partitions=sum(len(t.partitions) for t in user_topics),
    )


def cluster_info(bootstrap: str, timeout: float = 2.0) -> ClusterInfo:
    return _metadata(admin_client(bootstrap), bootstrap, timeout)


def wait_for_brokers(
    bootstrap: str, count: int, timeout: float, on_attempt: Callable[[], None] | None = None,
) -> ClusterInfo:
    """Poll with metadata requests of at most 0.5 s each until `count` brokers answer."""
    admin = admin_client(bootstrap)
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        try:
            info = _metadata(admin, bootstrap, max(0.05, min(0.5, remaining)))
            if len(info.brokers) >= count:
                return info
        except BrokerUnreachable:
            pass
        if on_attempt:
            on_attempt()
        if time.monotonic() >= deadline:
            raise ReadinessTimeout(f"The broker at {bootstrap} was not ready within {timeout:g} s.")


def create_topic(
    bootstrap: str, name: str, partitions: int = 1, replication: int = 1,
    config: dict[str, str] | None = None, if_not_exists: bool = False, timeout: float = 10.0,
) -> bool:
    """Create a topic and wait for it; False when it existed and if_not_exists allows that."""
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import NewTopic

    admin = admin_client(bootstrap)
    topic = NewTopic(name, num_partitions=partitions, replication_factor=replication, config=config or {})
    future = admin.create_topics([topic], request_timeout=timeout)[name]
    try:
        future.result(timeout=timeout)
    except KafkaException as exc:
        error = exc.args[0]
        if error.code() == KafkaError.TOPIC_ALREADY_EXISTS and if_not_exists:
            return False
        if error.code() == KafkaError._TRANSPORT or error.code() == KafkaError._TIMED_OUT:
            raise BrokerUnreachable(f"No Kafka broker answered at {bootstrap}: {error.str()}.") from None
        raise KafkaRequestError(f"Could not create topic {name}: {error.str()}") from None
    return True
