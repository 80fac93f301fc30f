"""Topics, as `kafkalab topic` and the Python API handle them: create, list, describe, delete,
their partitions' offsets, and the limits of a new topic (MAX_PARTITIONS, MAX_REPLICATION).

May import: kafkalab.errors, kafkalab.kafka.{bootstrap,cluster,requests}; confluent_kafka inside functions only.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from kafkalab.errors import KafkaRequestError, TopicNotFound
from kafkalab.kafka.bootstrap import unreachable
from kafkalab.kafka.cluster import command_admin
from kafkalab.kafka.requests import REQUEST_TIMEOUT, list_metadata, request_result, sentence, topic_metadata

# librdkafka's own limits of a new topic (NewTopic refuses more): the CLI's options take these too.
MAX_PARTITIONS = 100_000
MAX_REPLICATION = 10_000


def is_internal(topic: str) -> bool:
    """Kafka's own topics (__consumer_offsets, __transaction_state, ...), hidden unless asked for."""
    return topic.startswith("__")


def create_topic(  # the positional order is public API
    bootstrap: str, name: str, partitions: int = 1, replication: int = -1,
    config: dict[str, str] | None = None, if_not_exists: bool = False, timeout: float = 10.0,
) -> bool:
    """Create a topic and wait for it; False when it existed and if_not_exists allows that.

    A replication of -1 leaves it to the broker (its default.replication.factor).
    """
    from concurrent.futures import TimeoutError as FutureTimeout

    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import NewTopic  # type: ignore[attr-defined]

    admin = command_admin(bootstrap)
    list_metadata(admin, bootstrap, min(timeout, REQUEST_TIMEOUT))  # BrokerUnreachable now, not a timeout later
    topic = NewTopic(name, num_partitions=partitions, replication_factor=replication, config=config or {})
    try:
        future = admin.create_topics([topic], request_timeout=timeout)[name]
    except ValueError as exc:  # librdkafka's own limits: MAX_PARTITIONS, MAX_REPLICATION
        detail = str(exc).partition("): ")[2] or str(exc)  # without its "Invalid NewTopic(name)" prefix
        raise KafkaRequestError(
            f"Could not create topic {name}: {sentence(detail)}",
            f"Give 1 to {MAX_PARTITIONS:,} partitions and a replication factor of 1 to {MAX_REPLICATION:,}.",
        ) from None
    try:
        future.result(timeout=timeout + 1)  # the request's own timeout comes first, with a clearer error
    except KafkaException as exc:
        error = exc.args[0]
        if error.code() == KafkaError.TOPIC_ALREADY_EXISTS and if_not_exists:
            return False
        if error.code() == KafkaError._TRANSPORT or error.code() == KafkaError._TIMED_OUT:
            raise unreachable(f"No Kafka broker answered at {bootstrap}: {error.str()}.") from None
        message = f"Could not create topic {name}: {sentence(error.str())}"
        raise KafkaRequestError(message, _create_hint(error)) from None
    except FutureTimeout:
        raise unreachable(f"Could not create topic {name}: no answer from {bootstrap}.") from None
    wait_for_topic(admin, bootstrap, name, timeout)
    return True


def wait_for_topic(admin: Any, bootstrap: str, name: str, timeout: float) -> None:
    """Until the broker's metadata shows the new topic with a leader for every partition.

    The controller accepts a topic before the brokers know it: a produce right after the create
    would otherwise find no topic.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            meta = topic_metadata(admin, bootstrap, name, max(deadline - time.monotonic(), 0.05))
            if meta.partitions and all(p.leader >= 0 for p in meta.partitions.values()):
                return
        except TopicNotFound:
            pass
        if time.monotonic() >= deadline:
            return  # created all the same; a later request may still have to wait for it
        time.sleep(0.05)


def _create_hint(error: Any) -> str | None:
    """What to do when the broker refuses a new topic, by its error code."""
    from confluent_kafka import KafkaError

    return {
        KafkaError.INVALID_CONFIG: "Use key=value pairs of topic configs: https://kafka.apache.org/documentation/#topicconfigs",
        KafkaError.INVALID_REPLICATION_FACTOR: "The replication factor cannot exceed the number of brokers.",
        KafkaError.INVALID_PARTITIONS: "Give at least 1 partition.",
        KafkaError.TOPIC_ALREADY_EXISTS: "Pass --if-not-exists to accept an existing topic.",
        KafkaError.TOPIC_EXCEPTION: "Topic names use letters, digits, '.', '_' and '-', at most 249 of them.",
    }.get(error.code())


def check_partition(topic: str, partition: int, partitions: int) -> None:
    """KafkaRequestError unless `partition` is one of the topic's `partitions` (numbered from 0)."""
    if not 0 <= partition < partitions:
        have = "partition 0" if partitions == 1 else f"partitions 0 to {partitions - 1}"
        raise KafkaRequestError(
            f"Topic {topic} has no partition {partition}: it has {have}.",
            f"Partitions are numbered from 0; `kafkalab topic describe {topic}` lists them.",
        )


@dataclasses.dataclass(frozen=True)
class TopicSummary:
    name: str
    partitions: int
    replication: int
    internal: bool


def list_topics(
    bootstrap: str, *, include_internal: bool = False, timeout: float = REQUEST_TIMEOUT,
) -> list[TopicSummary]:
    """The cluster's topics by name; Kafka's internal ones only with include_internal."""
    md = list_metadata(command_admin(bootstrap), bootstrap, timeout)
    topics = []
    for name, t in md.topics.items():
        if is_internal(name) and not include_internal:
            continue
        replication = max((len(p.replicas) for p in t.partitions.values()), default=0)
        topics.append(TopicSummary(name, len(t.partitions), replication, is_internal(name)))
    return sorted(topics, key=lambda t: t.name)


@dataclasses.dataclass(frozen=True)
class PartitionInfo:
    partition: int
    leader: int  # -1: offline, no broker leads it (those that hold it are down)
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    start_offset: int | None  # the first offset still stored (the low watermark); None while offline
    end_offset: int | None  # the offset the next message will get (the high watermark); None while offline

    @property
    def offline(self) -> bool:
        return self.leader < 0

    @property
    def messages(self) -> int | None:
        """Offsets in [start, end): the messages stored, exact unless compacted or transactional;
        None while offline."""
        if self.start_offset is None or self.end_offset is None:
            return None
        return self.end_offset - self.start_offset


@dataclasses.dataclass(frozen=True)
class TopicDescription:
    name: str
    partitions: tuple[PartitionInfo, ...]
    configs: tuple[tuple[str, str], ...]  # (name, value): those set on the topic, differing from the defaults

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "partitions": [
                {**dataclasses.asdict(p), "leader": None if p.offline else p.leader, "offline": p.offline,
                 "replicas": list(p.replicas), "isr": list(p.isr)}
                for p in self.partitions
            ],
            "configs": dict(self.configs),
        }


def partition_offsets(
    admin: Any, bootstrap: str, topic: str, partitions: list[int], timeout: float = REQUEST_TIMEOUT,
) -> dict[int, tuple[int, int]]:
    """Each partition's (start, end) offsets, in two ListOffsets requests."""
    from confluent_kafka import TopicPartition
    from confluent_kafka.admin import OffsetSpec  # type: ignore[attr-defined]

    found: dict[str, dict[int, int]] = {}
    specs = (("start", OffsetSpec.earliest()), ("end", OffsetSpec.latest()))  # type: ignore[no-untyped-call]
    for which, spec in specs:
        futures = admin.list_offsets({TopicPartition(topic, p): spec for p in partitions}, request_timeout=timeout)
        found[which] = {
            tp.partition: request_result(f, bootstrap, f"Offsets of {topic}", timeout).offset
            for tp, f in futures.items()
        }
    return {p: (found["start"][p], found["end"][p]) for p in partitions}


def offline_partitions(meta: Any) -> list[int]:
    """The partitions of a topic's metadata that no broker leads (the brokers that hold them are
    down): nothing can be read from them or written to them until one is back."""
    return sorted(p.id for p in meta.partitions.values() if p.leader < 0)


def describe_topic(bootstrap: str, name: str, timeout: float = REQUEST_TIMEOUT) -> TopicDescription:
    """Partitions with leader, replicas, ISR and offsets, and the configs set on the topic.
    An offline partition (no leader) is shown as such, without offsets: only its leader knows them."""
    from confluent_kafka.admin import ConfigResource, ConfigSource, ResourceType  # type: ignore[attr-defined]

    admin = command_admin(bootstrap)
    meta = topic_metadata(admin, bootstrap, name, timeout)
    configs = admin.describe_configs([ConfigResource(ResourceType.TOPIC, name)], request_timeout=timeout)
    offline = offline_partitions(meta)
    online = [p for p in sorted(meta.partitions) if p not in offline]
    offsets: dict[int, tuple[int | None, int | None]] = {p: (None, None) for p in offline}
    offsets.update(partition_offsets(admin, bootstrap, name, online, timeout) if online else {})
    entries = request_result(next(iter(configs.values())), bootstrap, f"Configs of {name}", timeout)
    # Only the values set on the topic itself: the rest are the broker's defaults.
    own = sorted((k, e.value) for k, e in entries.items() if e.source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value)
    partitions = tuple(
        PartitionInfo(p.id, p.leader, tuple(p.replicas), tuple(p.isrs), *offsets[p.id])
        for p in sorted(meta.partitions.values(), key=lambda p: p.id)
    )
    return TopicDescription(name, partitions, tuple(own))


def delete_topic(bootstrap: str, name: str, timeout: float = REQUEST_TIMEOUT) -> None:
    """Delete a topic and wait for the controller to accept; TopicNotFound when there is none."""
    admin = command_admin(bootstrap)
    topic_metadata(admin, bootstrap, name, timeout)
    future = admin.delete_topics([name], operation_timeout=timeout, request_timeout=timeout)[name]
    request_result(future, bootstrap, f"Could not delete topic {name}", timeout)
