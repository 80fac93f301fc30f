"""[topics.NAME]: a topic with its partitions, replication factor, configs and seed records.

    [topics.orders]
    partitions = 3
    replication_factor = 1          # default: the mode's (3 in cluster); elsewhere the broker's
    config = { "cleanup.policy" = "compact", "retention.ms" = "604800000" }
    seed = "fixtures/orders.jsonl"  # records in `produce --format json`'s shape, relative to the file

The plan creates a missing topic (and seeds it: only a topic that it created), adds partitions, sets
the configs declared that differ (in Kafka's normal form of a value: same_config) and resets to the
broker's default those set on the topic but not declared. Partitions or a replication factor not
written are not compared (a new topic has 1 partition, and the cluster's default replication). It
never shrinks a topic or changes its replication factor (Refusal); a topic not declared is left alone.

May import: kafkalab.errors, kafkalab.declare.base, kafkalab.kafka.{records,topics,cluster,clients,requests},
kafkalab.lab.modes.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from kafkalab.declare.base import Cluster, Counted, Refusal, Step, Where, check_keys, config_text, flatten, whole
from kafkalab.declare.locate import toml_key, toml_value
from kafkalab.kafka.records import Record, parse_record
from kafkalab.kafka.topics import MAX_PARTITIONS, MAX_REPLICATION

KEYS = ("partitions", "replication_factor", "config", "seed")
_TOPIC_NAME = re.compile(r"[A-Za-z0-9._-]{1,249}")
SEED_TIMEOUT = 30.0  # seconds the seed records of one topic may take to be delivered


@dataclasses.dataclass(frozen=True)
class DeclaredTopic:
    name: str
    where: Where
    partitions: int | None = None  # None: not compared; a new topic has 1
    replication: int | None = None  # None: not compared; a new topic has the cluster's default
    config: Mapping[str, str] = dataclasses.field(default_factory=dict)
    seed: str = ""  # as written
    records: tuple[Record, ...] = ()


def parse(name: str, written: Any, where: Where) -> DeclaredTopic:
    if not isinstance(written, dict):
        raise where.error("a topic's declaration must be a table, such as `partitions = 3`.")
    check_keys(written, where, KEYS)
    if not _TOPIC_NAME.fullmatch(name) or name in (".", ".."):
        raise where.error(f"{name!r} is no topic name: letters, digits, '.', '_' and '-', at most 249 of them.")
    partitions = whole(written, "partitions", where, low=1, high=MAX_PARTITIONS)
    replication = whole(written, "replication_factor", where, low=1, high=MAX_REPLICATION)
    raw_config = written.get("config", {})
    if not isinstance(raw_config, dict):
        raise where.error('config must be a table of topic configs, such as { "retention.ms" = "3600000" }.',
                          key="config")
    config: dict[str, str] = {}
    for key, value in flatten(raw_config, where, "config"):  # `cleanup.policy = "compact"` in a table too
        text = config_text(value)
        if text is None:
            raise where.error(f"config {toml_key(key)} = {toml_value(value)} is no config value: give text, a "
                              "number or true/false.",
                              key="config")
        config[key] = text
    seed = written.get("seed", "")
    if not isinstance(seed, str) or ("seed" in written and not seed):
        raise where.error(f"seed = {toml_value(seed)} is not the path of a file of records.", key="seed")
    records = read_seed(seed, where, partitions or 1) if seed else ()  # seeded only when created: with 1 unwritten
    return DeclaredTopic(name, where, partitions, replication, config, seed, records)


def read_seed(seed: str, where: Where, partitions: int) -> tuple[Record, ...]:
    """The records of a seed file, one JSON object a line as `produce --format json` takes them;
    blank lines skipped. What cannot be read or parsed is a declaration error, before anything starts."""
    path = where.relative(seed)
    try:
        lines = path.read_bytes().splitlines()
    except OSError as exc:
        raise where.error(f"seed file {path} cannot be read: {exc.strerror or exc}.",
                          "Give the path of a file of JSON records, relative to the config file.", key="seed") from None
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = parse_record(line.rstrip(b"\r"))
        except ValueError as exc:
            raise where.error(
                f"line {number} of seed file {path} is not a record: {str(exc).rstrip('.')}.",
                'Give one JSON object a line: {"key": "k", "value": "v", "headers": {"h": "v"}, "partition": 0}.',
                key="seed",
            ) from None
        if record[2] is not None and record[2] >= partitions:
            raise where.error(
                f"line {number} of seed file {path} is for partition {record[2]}, and the topic has "
                f"{partitions} (0 to {partitions - 1}).", key="seed")
        records.append(record)
    return tuple(records)


# --- the steps ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CreateTopic(Step):
    action: ClassVar[str] = "create-topic"
    on_up: ClassVar[bool] = True
    kind: str
    name: str
    partitions: int
    replication: int  # -1: the broker's default
    config: Mapping[str, str]
    records: tuple[Record, ...] = ()

    def describe(self) -> str:
        replicas = "the broker's default replication" if self.replication < 0 else f"replication {self.replication}"
        configs = f", {len(self.config)} config{'' if len(self.config) == 1 else 's'}" if self.config else ""
        seeded = f", {len(self.records)} seed record{'' if len(self.records) == 1 else 's'}" if self.records else ""
        plural = "" if self.partitions == 1 else "s"
        return f"create topic {self.name} ({self.partitions} partition{plural}, {replicas}{configs}{seeded})"

    def details(self) -> dict[str, Any]:
        return {"partitions": self.partitions, "replication_factor": None if self.replication < 0 else self.replication,
                "config": dict(self.config), "records": len(self.records)}

    def validate(self, cluster: Cluster) -> None:
        from confluent_kafka import KafkaError
        from confluent_kafka.admin import NewTopic  # type: ignore[attr-defined]

        from kafkalab.errors import KafkaRequestError
        from kafkalab.kafka.cluster import command_admin
        from kafkalab.kafka.requests import REQUEST_TIMEOUT, request_result

        admin = command_admin(cluster.bootstrap)
        what = f"Could not create topic {self.name}"
        try:
            topic = NewTopic(self.name, num_partitions=self.partitions, replication_factor=self.replication,
                             config=dict(self.config))
            future = admin.create_topics([topic], request_timeout=REQUEST_TIMEOUT, validate_only=True)[self.name]
        except ValueError as exc:  # librdkafka's own limits
            raise KafkaRequestError(f"{what}: {exc}.") from None
        try:
            request_result(future, cluster.bootstrap, what, REQUEST_TIMEOUT + 1)
        except KafkaRequestError:
            error = future.exception(timeout=0)
            if error is None or error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:  # made meanwhile: fine
                raise

    def carry_out(self, cluster: Cluster) -> list[Counted]:
        from kafkalab.kafka import topics

        created = topics.create_topic(cluster.bootstrap, self.name, self.partitions, self.replication,
                                      dict(self.config), if_not_exists=True)
        if not created:  # made meanwhile by another (a second pytest-xdist worker): its seeds are its own
            return []
        seeded = seed_topic(cluster.bootstrap, self.name, self.records) if self.records else 0
        return [Counted(1, "topic", "created")] + ([Counted(seeded, "record", "seeded")] if seeded else [])


@dataclasses.dataclass(frozen=True)
class AddPartitions(Step):
    action: ClassVar[str] = "add-partitions"
    kind: str
    name: str
    have: int
    want: int

    def describe(self) -> str:
        return f"add partitions to topic {self.name}: {self.have} -> {self.want}"

    def details(self) -> dict[str, Any]:
        return {"from": self.have, "to": self.want}

    def written(self) -> tuple[str, ...]:
        return ("partitions",)

    def validate(self, cluster: Cluster) -> None:
        self.grow(cluster, validate_only=True)

    def carry_out(self, cluster: Cluster) -> list[Counted]:
        self.grow(cluster)
        return [Counted(1, "topic", "grown")]

    def grow(self, cluster: Cluster, *, validate_only: bool = False) -> None:
        from confluent_kafka.admin import NewPartitions  # type: ignore[attr-defined]

        from kafkalab.kafka.cluster import command_admin
        from kafkalab.kafka.requests import REQUEST_TIMEOUT, request_result

        admin = command_admin(cluster.bootstrap)
        future = admin.create_partitions([NewPartitions(self.name, self.want)], request_timeout=REQUEST_TIMEOUT,
                                         validate_only=validate_only)
        request_result(future[self.name], cluster.bootstrap, f"Could not add partitions to topic {self.name}",
                       REQUEST_TIMEOUT + 1)


@dataclasses.dataclass(frozen=True)
class SetConfig(Step):
    action: ClassVar[str] = "set-config"
    kind: str
    name: str
    key: str
    have: str | None  # None: the broker's default
    want: str

    def describe(self) -> str:
        have = "the broker's default" if self.have is None else self.have
        return f"set config {self.key} of topic {self.name}: {have} -> {self.want}"

    def details(self) -> dict[str, Any]:
        return {"config": self.key, "from": self.have, "to": self.want}

    def written(self) -> tuple[str, ...]:
        return ("config", self.key)

    def validate(self, cluster: Cluster) -> None:
        alter_config(cluster.bootstrap, self.name, self.key, self.want, validate_only=True)

    def carry_out(self, cluster: Cluster) -> list[Counted]:
        alter_config(cluster.bootstrap, self.name, self.key, self.want)
        return [Counted(1, "config", "set")]


@dataclasses.dataclass(frozen=True)
class ResetConfig(Step):
    action: ClassVar[str] = "reset-config"
    kind: str
    name: str
    key: str
    have: str

    def describe(self) -> str:
        return f"reset config {self.key} of topic {self.name}: {self.have} -> the broker's default"

    def details(self) -> dict[str, Any]:
        return {"config": self.key, "from": self.have, "to": None}

    def validate(self, cluster: Cluster) -> None:
        alter_config(cluster.bootstrap, self.name, self.key, None, validate_only=True)

    def carry_out(self, cluster: Cluster) -> list[Counted]:
        alter_config(cluster.bootstrap, self.name, self.key, None)
        return [Counted(1, "config", "reset")]


def alter_config(bootstrap: str, topic: str, key: str, value: str | None, *, validate_only: bool = False) -> None:
    """Set one config of a topic (None: delete it, back to the broker's default); the others stay."""
    from confluent_kafka.admin import (  # type: ignore[attr-defined]
        AlterConfigOpType,
        ConfigEntry,
        ConfigResource,
        ResourceType,
    )

    from kafkalab.kafka.cluster import command_admin
    from kafkalab.kafka.requests import REQUEST_TIMEOUT, request_result

    op = AlterConfigOpType.SET if value is not None else AlterConfigOpType.DELETE
    entry = ConfigEntry(key, value, incremental_operation=op)
    resource = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[entry])
    admin = command_admin(bootstrap)  # held until the answer: a client that goes away ends its requests
    futures = admin.incremental_alter_configs([resource], request_timeout=REQUEST_TIMEOUT, validate_only=validate_only)
    what = f"Could not {'set' if value is not None else 'reset'} config {key} of topic {topic}"
    request_result(next(iter(futures.values())), bootstrap, what, REQUEST_TIMEOUT + 1)


def seed_topic(bootstrap: str, topic: str, records: Sequence[Record]) -> int:
    """Produce the records (acks all) and wait for each; the number delivered. A failed delivery is
    KafkaRequestError naming the first."""
    from kafkalab.errors import KafkaRequestError
    from kafkalab.kafka.clients import command_client

    producer = command_client("producer", bootstrap, {"acks": "all", "enable.idempotence": True})
    failures: list[str] = []

    def delivered(error: Any, _message: Any) -> None:
        if error is not None:
            failures.append(error.str())

    for value, key, partition, timestamp, headers in records:
        extra: dict[str, Any] = {}
        if partition is not None:
            extra["partition"] = partition
        if timestamp is not None:
            extra["timestamp"] = timestamp
        if headers:
            extra["headers"] = headers
        producer.produce(topic, value=value, key=key, on_delivery=delivered, **extra)
        producer.poll(0)
    left = producer.flush(SEED_TIMEOUT)
    if failures or left:
        why = failures[0] if failures else f"{left} not delivered within {SEED_TIMEOUT:g} s"
        raise KafkaRequestError(f"Seeding topic {topic} failed: {why}.",
                                f"`kafkalab topic describe {topic}` shows what it holds.")
    return len(records)


# --- the kind ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Existing:
    partitions: int
    replication: int
    config: Mapping[str, str]


def list_topics(cluster: Cluster) -> list[Any]:
    from kafkalab.kafka import topics

    return topics.list_topics(cluster.bootstrap)


def existing(cluster: Cluster, names: Sequence[str]) -> dict[str, Existing]:
    """The cluster's topics of `names` that exist, as they are."""
    from kafkalab.kafka import topics

    found = {t.name: t for t in topics.list_topics(cluster.bootstrap)}
    wanted = [n for n in names if n in found]
    result = {}
    for name in wanted:
        desc = topics.describe_topic(cluster.bootstrap, name)
        result[name] = Existing(found[name].partitions, found[name].replication, dict(desc.configs))
    return result


class TopicKind:
    table = "topics"
    noun = "topic"
    service = ""

    def parse(self, name: str, written: Any, where: Where) -> DeclaredTopic:
        return parse(name, written, where)

    def check(self, declared: Sequence[Any], cluster: Cluster) -> None:
        return None

    def plan(self, declared: Sequence[Any], cluster: Cluster) -> tuple[list[Step], list[Refusal]]:
        have = existing(cluster, [d.name for d in declared]) if declared else {}
        steps: list[Step] = []
        refused: list[Refusal] = []
        for topic in declared:
            steps_, refused_ = plan_topic(topic, have.get(topic.name), cluster.replication)
            steps += steps_
            refused += refused_
        return steps, refused

    def export(self, cluster: Cluster) -> dict[str, dict[str, Any]]:
        from kafkalab.lab.modes import OPTIONAL

        services = {t for service in OPTIONAL.values() for t in service.topics}  # a registry's storage, ...
        tables: dict[str, dict[str, Any]] = {}
        names = [t.name for t in list_topics(cluster) if t.name not in services]
        for name, found in existing(cluster, names).items():
            table: dict[str, Any] = {"partitions": found.partitions, "replication_factor": found.replication}
            if found.config:
                table["config"] = dict(sorted(found.config.items()))
            tables[name] = table
        return tables


def plan_topic(topic: DeclaredTopic, have: Existing | None, replication: int) -> tuple[list[Step], list[Refusal]]:
    """The steps from what a topic is (None: no such topic) to its declaration. Pure: unit-tested."""
    if have is None:
        rf = topic.replication if topic.replication is not None else replication
        partitions = topic.partitions or 1
        return [CreateTopic("topic", topic.name, partitions, rf, topic.config, topic.records)], []
    refused = []
    if topic.partitions is not None and topic.partitions < have.partitions:
        declared = f"{topic.partitions} partition{'' if topic.partitions == 1 else 's'}"
        refused.append(Refusal("topic", topic.name, f"{declared} declared, and it has {have.partitions}: "
                               "Kafka cannot remove partitions"))
    if topic.replication is not None and topic.replication != have.replication:
        refused.append(Refusal("topic", topic.name, f"replication factor {topic.replication} declared, and it has "
                               f"{have.replication}: kafkalab does not reassign replicas"))
    steps: list[Step] = []
    if topic.partitions is not None and topic.partitions > have.partitions:
        steps.append(AddPartitions("topic", topic.name, have.partitions, topic.partitions))
    for key, want in sorted(topic.config.items()):
        if not same_config(want, have.config.get(key)):
            steps.append(SetConfig("topic", topic.name, key, have.config.get(key), want))
    for key, value in sorted(have.config.items()):
        if key not in topic.config:
            steps.append(ResetConfig("topic", topic.name, key, value))
    return steps, refused


def same_config(declared: str, reported: str | None) -> bool:
    """Whether the broker's value of a topic config is the declared one. The broker describes a config
    as it parsed it (Kafka's ConfigDef.convertToString of the parsed value): a list's items, split on
    commas and trimmed, joined with "," (`compact, delete` is compact,delete), a number as Java prints
    it (a DOUBLE's 1 is 1.0), a boolean as true or false (`True` is true). Both are compared in that form."""
    return reported is not None and config_form(declared) == config_form(reported)


def config_form(value: str) -> tuple[str | Decimal, ...]:
    """A config's value as compared: its comma-separated items, trimmed; numbers as numbers (1 == 1.0 ==
    1.0E0), true and false in any case."""
    return tuple(item_form(item.strip()) for item in value.strip().split(","))


def item_form(item: str) -> str | Decimal:
    if item.lower() in ("true", "false"):
        return item.lower()
    try:
        number = Decimal(item)
    except InvalidOperation:
        return item
    return number if number.is_finite() else item
