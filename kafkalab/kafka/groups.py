"""Consumer groups, as `kafkalab group` handles them: list, describe (members, offsets, lag),
reset offsets, delete. Each first asks for the cluster's metadata (list_metadata): BrokerUnreachable
then, where the group APIs would only say "timed out" later.

May import: kafkalab.errors, kafkalab.kafka.{bootstrap,cluster,requests,topics}; confluent_kafka inside functions only.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Literal

from kafkalab.errors import GroupNotEmpty, GroupNotFound, KafkaRequestError, TopicNotFound
from kafkalab.kafka.bootstrap import unreachable
from kafkalab.kafka.cluster import command_admin
from kafkalab.kafka.requests import REQUEST_TIMEOUT, list_metadata, request_failed, request_result, topic_metadata
from kafkalab.kafka.topics import partition_offsets


@dataclasses.dataclass(frozen=True)
class GroupSummary:
    group: str
    state: str  # stable, empty, preparing_rebalancing, ... (lower case, as Kafka names them)
    type: str  # classic or consumer (KIP-848)


def _enum_name(value: Any) -> str:
    return str(getattr(value, "name", value)).lower()


def list_groups(bootstrap: str, timeout: float = REQUEST_TIMEOUT) -> list[GroupSummary]:
    """The cluster's consumer groups by name."""
    admin = command_admin(bootstrap)
    list_metadata(admin, bootstrap, timeout)
    listed = request_result(admin.list_consumer_groups(request_timeout=timeout), bootstrap, "Listing groups", timeout)
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

    admin = command_admin(bootstrap)
    list_metadata(admin, bootstrap, timeout)
    what = f"Group {group}"
    described = admin.describe_consumer_groups([group], request_timeout=timeout)[group]
    committed_future = admin.list_consumer_group_offsets(
        [ConsumerGroupTopicPartitions(group)], request_timeout=timeout,
    )[group]
    desc = request_result(described, bootstrap, what, timeout)
    committed = {
        (tp.topic, tp.partition): tp.offset
        for tp in request_result(committed_future, bootstrap, what, timeout).topic_partitions or []
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


# --- consumer groups: resetting offsets, deleting a group --------------------------------------

ResetTo = Literal["earliest", "latest", "offset", "shift", "datetime"]

# A group in one of these states has members: Kafka refuses to change its offsets from outside.
_ACTIVE_STATES = ("stable", "preparing_rebalance", "completing_rebalance", "assigning", "reconciling")


@dataclasses.dataclass(frozen=True)
class ResetTarget:
    """Where `group reset-offsets` moves a group's offsets, as kafka-consumer-groups takes them."""

    to: ResetTo
    value: int | None = None  # the offset (offset), the shift (shift), the time in ms since the epoch (datetime)


@dataclasses.dataclass(frozen=True)
class PartitionReset:
    topic: str
    partition: int
    current: int | None  # the committed offset; None: the group committed nothing here yet
    new: int


@dataclasses.dataclass(frozen=True)
class ResetPlan:
    group: str
    topic: str
    executed: bool  # False: a dry run, nothing was changed
    partitions: tuple[PartitionReset, ...]
    notes: tuple[str, ...] = ()  # offsets moved into the log's range, as kafka-consumer-groups warns


def _check_inactive(admin: Any, bootstrap: str, group: str, timeout: float, doing: str) -> None:
    """GroupNotEmpty while the group has members; a group that does not exist is inactive too."""
    from confluent_kafka import KafkaError, KafkaException

    # On a cluster that never had a group, the first request makes the broker create
    # __consumer_offsets, and is answered NOT_COORDINATOR until that is loaded: ask again.
    loading = (
        KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_NOT_AVAILABLE, KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    )
    deadline = time.monotonic() + timeout
    while True:
        future = admin.describe_consumer_groups([group], request_timeout=timeout)[group]
        try:
            desc = future.result(timeout=timeout)
            break
        except KafkaException as exc:
            error = exc.args[0]
            if error.code() == KafkaError.GROUP_ID_NOT_FOUND:
                return
            if error.code() not in loading or time.monotonic() >= deadline:
                raise request_failed(error, bootstrap, f"Group {group}") from None
        time.sleep(0.1)
    state = _enum_name(desc.state)
    if desc.members or state in _ACTIVE_STATES:
        raise GroupNotEmpty(
            f"Cannot {doing} group {group}: it has {len(desc.members)} active "
            f"member{'' if len(desc.members) == 1 else 's'} ({state}).",
            f"Stop its consumers first; `kafkalab group describe {group}` lists them.",
        )


def _clamp(partition: int, wanted: int, start: int, end: int, notes: list[str]) -> int:
    """Into [start, end], as kafka-consumer-groups moves an offset outside the log, with a note."""
    if wanted > end:
        notes.append(f"Partition {partition}: offset {wanted} is past the end, {end}: it is set to {end}.")
        return end
    if wanted < start:
        notes.append(f"Partition {partition}: offset {wanted} is before the start, {start}: it is set to {start}.")
        return start
    return wanted


def reset_offsets(
    bootstrap: str, group: str, topic: str, target: ResetTarget, *, execute: bool = False,
    timeout: float = REQUEST_TIMEOUT,
) -> ResetPlan:
    """The new offsets of `group` on every partition of `topic`, committed only when `execute`.

    As Kafka's kafka-consumer-groups --reset-offsets: only while the group has no active member
    (GroupNotEmpty otherwise); a group with nothing committed may be given offsets (it need not
    exist yet); --to-offset and --shift-by are moved into [log start, log end]; --shift-by needs
    a committed offset; --to-datetime takes the first offset at or after the time, and the end
    of a partition with no message that late.
    """
    from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
    from confluent_kafka.admin import OffsetSpec  # type: ignore[attr-defined]

    admin = command_admin(bootstrap)
    list_metadata(admin, bootstrap, timeout)
    doing = "reset the offsets of"
    _check_inactive(admin, bootstrap, group, timeout, doing)
    partitions = sorted(topic_metadata(admin, bootstrap, topic, timeout).partitions)
    what = f"Group {group}"
    future = admin.list_consumer_group_offsets(
        [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p) for p in partitions])], request_timeout=timeout,
    )[group]
    committed = {
        tp.partition: tp.offset for tp in request_result(future, bootstrap, what, timeout).topic_partitions or []
        if tp.offset >= 0  # -1001 (OFFSET_INVALID): nothing committed
    }
    offsets = partition_offsets(admin, bootstrap, topic, partitions, timeout)
    at_time: dict[int, int] = {}
    if target.to == "datetime":
        spec = OffsetSpec.for_timestamp(int(target.value or 0))
        futures = admin.list_offsets({TopicPartition(topic, p): spec for p in partitions}, request_timeout=timeout)
        at_time = {
            tp.partition: request_result(f, bootstrap, f"Offsets of {topic}", timeout).offset
            for tp, f in futures.items()
        }
    if target.to == "shift" and (missing := [p for p in partitions if p not in committed]):
        raise KafkaRequestError(
            f"Cannot shift the offsets of group {group} on {topic}: partition {missing[0]} has no committed offset.",
            "Give --to-earliest, --to-latest, --to-offset or --to-datetime for a group that committed nothing yet.",
        )
    notes: list[str] = []
    plan = []
    for p in partitions:
        start, end = offsets[p]
        current = committed.get(p)
        if target.to == "earliest":
            new = start
        elif target.to == "latest":
            new = end
        elif target.to == "offset":
            new = _clamp(p, int(target.value or 0), start, end, notes)
        elif target.to == "shift":
            new = _clamp(p, committed[p] + int(target.value or 0), start, end, notes)
        elif at_time[p] >= 0:
            new = at_time[p]
        else:  # no message at or after the time: the end, as kafka-consumer-groups falls back to
            notes.append(f"Partition {p}: no message at or after the time: it is set to the end, {end}.")
            new = end
        plan.append(PartitionReset(topic, p, current, new))
    if execute:
        request = ConsumerGroupTopicPartitions(group, [TopicPartition(topic, r.partition, r.new) for r in plan])
        future = admin.alter_consumer_group_offsets([request], request_timeout=timeout)[group]
        _group_result(future, bootstrap, group, doing, timeout)
    return ResetPlan(group, topic, execute, tuple(plan), tuple(notes))


def _group_result(future: Any, bootstrap: str, group: str, doing: str, timeout: float) -> Any:
    """A group request's result; GroupNotEmpty when the group has members (one may have joined since)."""
    from concurrent.futures import TimeoutError as FutureTimeout

    from confluent_kafka import KafkaError, KafkaException

    try:
        return future.result(timeout=timeout)
    except KafkaException as exc:
        error = exc.args[0]
        # An offset commit from outside the group is UNKNOWN_MEMBER_ID once it has members.
        if error.code() in (KafkaError.NON_EMPTY_GROUP, KafkaError.UNKNOWN_MEMBER_ID, KafkaError.REBALANCE_IN_PROGRESS):
            raise GroupNotEmpty(
                f"Cannot {doing} group {group}: it has active members.",
                f"Stop its consumers first; `kafkalab group describe {group}` lists them.",
            ) from None
        raise request_failed(error, bootstrap, f"Could not {doing} group {group}") from None
    except FutureTimeout:
        raise unreachable(
            f"Could not {doing} group {group}: no answer from {bootstrap} within {timeout:g} s.",
        ) from None


def delete_group(bootstrap: str, group: str, timeout: float = REQUEST_TIMEOUT) -> None:
    """Delete a consumer group and its committed offsets; GroupNotFound, or GroupNotEmpty while it has members."""
    admin = command_admin(bootstrap)
    list_metadata(admin, bootstrap, timeout)
    future = admin.delete_consumer_groups([group], request_timeout=timeout)[group]
    _group_result(future, bootstrap, group, "delete", timeout)
