"""Kafka through confluent-kafka: readiness, cluster metadata, topics, and preconfigured clients.

confluent_kafka is imported inside the functions (about 0.14 s), so that `kafkalab --help` and
the Docker-only commands never pay for it. librdkafka's own log lines go to the Python logger
"kafkalab.librdkafka", which prints nothing unless the caller configures logging.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

from kafkalab.errors import (
    BrokerUnreachable,
    ConfigError,
    GroupNotFound,
    KafkalabError,
    KafkaRequestError,
    ReadinessTimeout,
    TopicNotFound,
)

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
        raise unreachable(f"No Kafka broker answered at {bootstrap}: {exc.args[0].str()}.") from None
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


def create_topic(  # the positional order is public API
    bootstrap: str, name: str, partitions: int = 1, replication: int = 1,
    config: dict[str, str] | None = None, if_not_exists: bool = False, timeout: float = 10.0,
) -> bool:
    """Create a topic and wait for it; False when it existed and if_not_exists allows that."""
    from concurrent.futures import TimeoutError as FutureTimeout

    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import NewTopic  # type: ignore[attr-defined]

    admin = _admin(bootstrap)
    _reachable(admin, bootstrap, min(timeout, REQUEST_TIMEOUT))
    topic = NewTopic(name, num_partitions=partitions, replication_factor=replication, config=config or {})
    try:
        future = admin.create_topics([topic], request_timeout=timeout)[name]
    except ValueError as exc:  # librdkafka's own limits: 1 to 100,000 partitions, replication 1 to 10,000
        detail = str(exc).partition("): ")[2] or str(exc)  # without its "Invalid NewTopic(name)" prefix
        raise KafkaRequestError(
            f"Could not create topic {name}: {sentence(detail)}",
            "Give 1 to 100,000 partitions and a replication factor of 1 to 10,000.",
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
    _wait_for_topic(admin, bootstrap, name, timeout)
    return True


def _wait_for_topic(admin: Any, bootstrap: str, name: str, timeout: float) -> None:
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


# --- topics and consumer groups: what `kafkalab topic` and `kafkalab group` show --------------

REQUEST_TIMEOUT = 5.0
"""Seconds a command waits for the cluster to answer one request before BrokerUnreachable."""

_UNREACHABLE = ("_TRANSPORT", "_TIMED_OUT", "_ALL_BROKERS_DOWN", "_RESOLVE", "_WAIT_COORD")


def is_internal(topic: str) -> bool:
    """Kafka's own topics (__consumer_offsets, __transaction_state, ...), hidden unless asked for."""
    return topic.startswith("__")


BOOTSTRAP_HINT = (
    "Give the brokers as HOST:PORT[,HOST:PORT...], such as localhost:9092 or SASL_SSL://[::1]:9093."
)
_SCHEME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


def parse_bootstrap(text: str, where: str = "--bootstrap-server") -> str:
    """The bootstrap list `text` with its blanks removed, or ConfigError saying what is wrong with it.

    Entries are HOST:PORT, with an optional SCHEME:// (librdkafka takes PLAINTEXT://, SASL_SSL://,
    ...) and IPv6 hosts in brackets. librdkafka would take almost anything and then time out after
    seconds; this says at once. `where` names the source of the text in the message.
    """

    def bad(why: str) -> ConfigError:
        return ConfigError(f"Bad {where} {text!r}: {why}.", BOOTSTRAP_HINT)

    if not text.strip():
        raise bad("it is empty")
    raws = text.split(",")
    entries = []
    for raw in raws:
        entry = raw.strip()
        # Name the entry at fault only in a list of them.
        it, of = ("it", "") if len(raws) == 1 else (repr(entry), f" of {entry!r}")
        if not entry:
            raise bad("an entry is empty")
        scheme, sep, address = entry.rpartition("://")
        if sep and not (scheme and set(scheme) <= _SCHEME_CHARS):
            raise bad(f"{it} has no scheme before ://")
        host, sep, port = address.rpartition(":")
        if not sep or not port:
            raise bad(f"{it} is not HOST:PORT")
        if not (port.isascii() and port.isdigit()) or not 1 <= int(port) <= 65535:
            raise bad(f"port {port}{of} is not a number from 1 to 65535")
        inner = host[1:-1] if host.startswith("[") and host.endswith("]") else host
        if not inner:
            raise bad(f"the host{of} is empty")
        if ":" in host and inner == host:
            raise bad(f"the IPv6 host{of} goes in brackets, as [::1]:9092")
        if any(c.isspace() or c in "/[]" for c in inner):
            raise bad(f"host {inner!r}{of} is not a host name or address")
        entries.append(entry)
    return ",".join(entries)


_hint_unreachable: contextvars.ContextVar[str | None] = contextvars.ContextVar("hint_unreachable", default=None)


@contextlib.contextmanager
def unreachable_hint(hint: str | None) -> Iterator[None]:
    """Inside it, BrokerUnreachable has this hint instead of its default (start the lab).

    The CLI enters it when the address is not the lab's: then starting the lab would not help.
    """
    token = _hint_unreachable.set(hint)
    try:
        yield
    finally:
        _hint_unreachable.reset(token)


def unreachable(message: str, hint: str | None = None) -> BrokerUnreachable:
    """The one place BrokerUnreachable is made: with `hint`, else the one of unreachable_hint()."""
    return BrokerUnreachable(message, hint or _hint_unreachable.get())


def probe(bootstrap: str, timeout: float = 1.0) -> None:
    """BrokerUnreachable at once when no bootstrap address accepts a TCP connection.

    librdkafka retries a refused connection until the request's timeout: without this, every
    command would wait REQUEST_TIMEOUT seconds before saying that the lab is not running.
    librdkafka would also retry a host name that does not resolve: that is said at once too.
    """
    import socket

    reasons = []
    unknown = []  # host names that do not resolve
    for address in bootstrap.split(","):
        host, sep, port = address.strip().rpartition("://")[2].rpartition(":")
        if not sep or not port.isdigit() or not 1 <= int(port) <= 65535:
            return  # not host:port: leave it to librdkafka, which knows more forms
        try:
            socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
            return
        except socket.gaierror:
            unknown.append(host)
        except OSError as exc:
            reasons.append(exc.strerror or type(exc).__name__)
    if unknown:  # a typo is likelier than a broker that is down: say that first
        raise unreachable(
            f"No Kafka broker answered at {bootstrap}: the host name {unknown[0]} does not resolve.",
            "Check the host name in the address: this machine's resolver (DNS, /etc/hosts) does not know it.",
        )
    raise unreachable(f"No Kafka broker answered at {bootstrap}: {reasons[0].lower()}.")


def _admin(bootstrap: str) -> Any:
    probe(bootstrap)
    # A metadata request for one topic would create it on a broker with auto.create.topics.enable.
    return admin_client(bootstrap, allow_auto_create_topics=False)


def request_failed(error: Any, bootstrap: str, what: str) -> KafkalabError:
    """The typed error for a librdkafka KafkaError: unreachable, missing topic or group, or refused."""
    from confluent_kafka import KafkaError

    code = error.code()
    if code in {getattr(KafkaError, name) for name in _UNREACHABLE}:
        return unreachable(f"No Kafka broker answered at {bootstrap}: {error.str()}.")
    if code in (KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError.UNKNOWN_TOPIC_ID):
        return TopicNotFound(f"{what}: the topic does not exist at {bootstrap}.")
    if code == KafkaError.GROUP_ID_NOT_FOUND:
        return GroupNotFound(f"{what}: the consumer group does not exist at {bootstrap}.")
    return KafkaRequestError(f"{what}: {sentence(error.str())}")


def sentence(text: str) -> str:
    """librdkafka's error strings end with a period or not: end them with one."""
    return text if text.endswith(".") else text + "."


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


def _reachable(admin: Any, bootstrap: str, timeout: float) -> Any:
    """Cluster metadata, or BrokerUnreachable: the group APIs would only say "timed out" later."""
    from confluent_kafka import KafkaException

    try:
        return admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        raise unreachable(f"No Kafka broker answered at {bootstrap}: {exc.args[0].str()}.") from None


def _result(future: Any, bootstrap: str, what: str, timeout: float) -> Any:
    from concurrent.futures import TimeoutError as FutureTimeout

    from confluent_kafka import KafkaException

    try:
        return future.result(timeout=timeout)
    except KafkaException as exc:
        raise request_failed(exc.args[0], bootstrap, what) from None
    except FutureTimeout:
        raise unreachable(f"{what}: no answer from {bootstrap} within {timeout:g} s.") from None


def topic_metadata(client: Any, bootstrap: str, topic: str, timeout: float = REQUEST_TIMEOUT) -> Any:
    """One topic's metadata through any client; TopicNotFound or BrokerUnreachable instead of errors.

    The client must have allow.auto.create.topics=false, or asking would create the topic.
    """
    from confluent_kafka import KafkaError, KafkaException

    deadline = time.monotonic() + timeout
    while True:
        try:
            md = client.list_topics(topic=topic, timeout=max(deadline - time.monotonic(), 0.05))
        except KafkaException as exc:
            raise unreachable(f"No Kafka broker answered at {bootstrap}: {exc.args[0].str()}.") from None
        found = md.topics.get(topic)
        error = found.error if found is not None else None
        if found is not None and error is None:
            return found
        # A topic that was just created has no leader for a moment: ask again until the deadline.
        retry = error is not None and error.code() == KafkaError.LEADER_NOT_AVAILABLE
        if not retry or time.monotonic() >= deadline:
            if error is not None and not retry and error.code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                raise request_failed(error, bootstrap, f"Topic {topic}")
            raise TopicNotFound(f"Topic {topic} does not exist at {bootstrap}.")
        time.sleep(0.05)


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

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def list_topics(
    bootstrap: str, *, include_internal: bool = False, timeout: float = REQUEST_TIMEOUT,
) -> list[TopicSummary]:
    """The cluster's topics by name; Kafka's internal ones only with include_internal."""
    md = _reachable(_admin(bootstrap), bootstrap, timeout)
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
    leader: int
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    start_offset: int  # the first offset still stored (the low watermark)
    end_offset: int  # the offset the next message will get (the high watermark)

    @property
    def messages(self) -> int:
        """Offsets in [start, end): the messages stored, exact unless compacted or transactional."""
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
                {**dataclasses.asdict(p), "replicas": list(p.replicas), "isr": list(p.isr)} for p in self.partitions
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
            tp.partition: _result(f, bootstrap, f"Offsets of {topic}", timeout).offset for tp, f in futures.items()
        }
    return {p: (found["start"][p], found["end"][p]) for p in partitions}


def describe_topic(bootstrap: str, name: str, timeout: float = REQUEST_TIMEOUT) -> TopicDescription:
    """Partitions with leader, replicas, ISR and offsets, and the configs set on the topic."""
    from confluent_kafka.admin import ConfigResource, ConfigSource, ResourceType  # type: ignore[attr-defined]

    admin = _admin(bootstrap)
    meta = topic_metadata(admin, bootstrap, name, timeout)
    configs = admin.describe_configs([ConfigResource(ResourceType.TOPIC, name)], request_timeout=timeout)
    offsets = partition_offsets(admin, bootstrap, name, sorted(meta.partitions), timeout)
    entries = _result(next(iter(configs.values())), bootstrap, f"Configs of {name}", timeout)
    # Only the values set on the topic itself: the rest are the broker's defaults.
    own = sorted((k, e.value) for k, e in entries.items() if e.source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value)
    partitions = tuple(
        PartitionInfo(p.id, p.leader, tuple(p.replicas), tuple(p.isrs), *offsets[p.id])
        for p in sorted(meta.partitions.values(), key=lambda p: p.id)
    )
    return TopicDescription(name, partitions, tuple(own))


def delete_topic(bootstrap: str, name: str, timeout: float = REQUEST_TIMEOUT) -> None:
    """Delete a topic and wait for the controller to accept; TopicNotFound when there is none."""
    admin = _admin(bootstrap)
    topic_metadata(admin, bootstrap, name, timeout)
    future = admin.delete_topics([name], operation_timeout=timeout, request_timeout=timeout)[name]
    _result(future, bootstrap, f"Could not delete topic {name}", timeout)


@dataclasses.dataclass(frozen=True)
class GroupSummary:
    group: str
    state: str  # stable, empty, preparing_rebalancing, ... (lower case, as Kafka names them)
    type: str  # classic or consumer (KIP-848)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _enum_name(value: Any) -> str:
    return str(getattr(value, "name", value)).lower()


def list_groups(bootstrap: str, timeout: float = REQUEST_TIMEOUT) -> list[GroupSummary]:
    """The cluster's consumer groups by name."""
    admin = _admin(bootstrap)
    _reachable(admin, bootstrap, timeout)
    listed = _result(admin.list_consumer_groups(request_timeout=timeout), bootstrap, "Listing groups", timeout)
    return sorted(
        (GroupSummary(g.group_id, _enum_name(g.state), _enum_name(g.type)) for g in listed.valid),
        key=lambda g: g.group,
    )


@dataclasses.dataclass(frozen=True)
class GroupMember:
    member_id: str
    client_id: str
    host: str
    assignment: tuple[tuple[str, int], ...]  # (topic, partition)


@dataclasses.dataclass(frozen=True)
class GroupPartition:
    topic: str
    partition: int
    committed: int | None  # None: nothing committed yet
    end: int | None
    lag: int | None  # end - committed, when both are known
    member_id: str | None  # the member it is assigned to, if any


@dataclasses.dataclass(frozen=True)
class GroupDescription:
    group: str
    state: str
    type: str
    coordinator: int | None
    assignor: str
    members: tuple[GroupMember, ...]
    partitions: tuple[GroupPartition, ...]

    @property
    def lag(self) -> int:
        return sum(p.lag or 0 for p in self.partitions)

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "state": self.state,
            "type": self.type,
            "coordinator": self.coordinator,
            "assignor": self.assignor,
            "lag": self.lag,
            "members": [
                {"member_id": m.member_id, "client_id": m.client_id, "host": m.host,
                 "assignment": [{"topic": t, "partition": p} for t, p in m.assignment]}
                for m in self.members
            ],
            "partitions": [dataclasses.asdict(p) for p in self.partitions],
        }


def describe_group(bootstrap: str, group: str, timeout: float = REQUEST_TIMEOUT) -> GroupDescription:
    """Members, and per partition the committed offset, the end offset and the lag."""
    from confluent_kafka import ConsumerGroupTopicPartitions

    admin = _admin(bootstrap)
    _reachable(admin, bootstrap, timeout)
    what = f"Group {group}"
    described = admin.describe_consumer_groups([group], request_timeout=timeout)[group]
    committed_future = admin.list_consumer_group_offsets(
        [ConsumerGroupTopicPartitions(group)], request_timeout=timeout,
    )[group]
    desc = _result(described, bootstrap, what, timeout)
    committed = {
        (tp.topic, tp.partition): tp.offset
        for tp in _result(committed_future, bootstrap, what, timeout).topic_partitions or []
    }
    members = tuple(
        GroupMember(m.member_id, m.client_id, m.host, tuple(sorted(
            (tp.topic, tp.partition) for tp in (m.assignment.topic_partitions if m.assignment else [])
        )))
        for m in sorted(desc.members, key=lambda m: m.member_id)
    )
    if not members and not committed and _enum_name(desc.state) in ("dead", "unknown"):
        raise GroupNotFound(f"There is no consumer group {group} at {bootstrap}.")
    owner = {tp: m.member_id for m in members for tp in m.assignment}
    keys = sorted(set(committed) | set(owner))
    ends: dict[tuple[str, int], int] = {}
    for topic in sorted({t for t, _ in keys}):
        try:
            offsets = partition_offsets(admin, bootstrap, topic, [p for t, p in keys if t == topic], timeout)
        except TopicNotFound:
            continue  # deleted since the group committed: no end offset to show
        ends.update({(topic, p): end for p, (_start, end) in offsets.items()})
    partitions = []
    for key in keys:
        offset = committed.get(key)
        done = offset if offset is not None and offset >= 0 else None
        end = ends.get(key)
        lag = end - done if end is not None and done is not None else None
        partitions.append(GroupPartition(key[0], key[1], done, end, lag, owner.get(key)))
    coordinator = desc.coordinator.id if desc.coordinator is not None else None
    return GroupDescription(
        group, _enum_name(desc.state), _enum_name(getattr(desc, "type", "classic")), coordinator,
        desc.partition_assignor or "", members, tuple(partitions),
    )
