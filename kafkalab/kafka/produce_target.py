"""The topic a produce sends to (produce_target): it exists, or the broker creates it when its
auto.create.topics.enable says so, as with kcat and Kafka's console producer; and how large a
message it takes (max.message.bytes).

May import: kafkalab.errors, kafkalab.kafka.{clients,cluster,requests,topics}; confluent_kafka inside functions only.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from kafkalab.errors import KafkaRequestError, TopicNotFound
from kafkalab.kafka.clients import CONNECT_AT_ONCE, command_client
from kafkalab.kafka.cluster import command_admin
from kafkalab.kafka.requests import REQUEST_TIMEOUT, list_metadata, request_result, topic_metadata
from kafkalab.kafka.topics import wait_for_topic


@dataclasses.dataclass(frozen=True)
class ProduceTarget:
    topic: str
    partitions: int
    created: bool  # it did not exist, and the broker created it (auto.create.topics.enable)
    max_message_bytes: int | None = None  # the topic's max.message.bytes; None when the cluster does not say


def produce_target(bootstrap: str, topic: str, timeout: float = REQUEST_TIMEOUT) -> ProduceTarget:
    """The topic a produce sends to. One that does not exist follows the broker's own
    auto.create.topics.enable, as with Kafka's console producer and kcat: asked for with a
    metadata request that lets the broker create it (with its num.partitions) when that is true,
    TopicNotFound when it is false. A cluster that does not say (no right to read its configs) is
    asked all the same, and TopicNotFound follows when no topic appears within 2 s.
    """
    admin = command_admin(bootstrap, CONNECT_AT_ONCE)
    try:
        meta = topic_metadata(admin, bootstrap, topic, timeout)
        return ProduceTarget(topic, len(meta.partitions), False, _max_message_bytes(admin, bootstrap, topic, timeout))
    except TopicNotFound:
        auto = _auto_creates(admin, bootstrap, timeout)
        if auto is False:
            raise
    # KRaft brokers answer the first request "unknown topic" while they create it: ask until it is there.
    creating = command_client("admin", bootstrap, {"allow.auto.create.topics": True})
    deadline = time.monotonic() + (timeout if auto else min(timeout, 2.0))
    while True:
        try:
            meta = topic_metadata(creating, bootstrap, topic, max(deadline - time.monotonic(), 0.05))
            break
        except TopicNotFound:
            if time.monotonic() >= deadline:
                raise
        time.sleep(0.05)
    wait_for_topic(admin, bootstrap, topic, timeout)
    return ProduceTarget(topic, len(meta.partitions), True, _max_message_bytes(admin, bootstrap, topic, timeout))


def _max_message_bytes(admin: Any, bootstrap: str, topic: str, timeout: float) -> int | None:
    """The topic's max.message.bytes (its own, or the broker's message.max.bytes it inherits);
    None when the cluster does not say (DescribeConfigs refused)."""
    from confluent_kafka.admin import ConfigResource, ResourceType  # type: ignore[attr-defined]

    future = next(iter(admin.describe_configs([ConfigResource(ResourceType.TOPIC, topic)], request_timeout=timeout)
                       .values()))
    try:
        entries = request_result(future, bootstrap, f"Configs of {topic}", timeout)
    except KafkaRequestError:
        return None
    entry = entries.get("max.message.bytes")
    value = str(entry.value) if entry is not None else ""
    return int(value) if value.isdigit() else None


def _auto_creates(admin: Any, bootstrap: str, timeout: float) -> bool | None:
    """The broker's auto.create.topics.enable; None when it does not say (DescribeConfigs refused)."""
    from confluent_kafka.admin import ConfigResource, ResourceType  # type: ignore[attr-defined]

    md = list_metadata(admin, bootstrap, timeout)
    broker_id = md.orig_broker_id if md.orig_broker_id >= 0 else min(md.brokers)
    resource = ConfigResource(ResourceType.BROKER, str(broker_id))
    future = next(iter(admin.describe_configs([resource], request_timeout=timeout).values()))
    try:
        entries = request_result(future, bootstrap, "The broker's configs", timeout)
    except KafkaRequestError:
        return None
    entry = entries.get("auto.create.topics.enable")
    return None if entry is None else str(entry.value).lower() == "true"
