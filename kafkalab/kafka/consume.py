"""`kafkalab consume`: the hot loop, messages in, lines out, as fast as kcat (consume_to).

    from kafkalab.kafka import consume
    consume.consume_to("localhost:9094", "orders", sys.stdout.buffer, fmt="json", from_beginning=True)

What makes the loop fast (bench/bench_kcat.py measures it against kcat on the same broker):
consume(num_messages=...) in batches, each batch written with one write() of one bytes object,
and the end of each partition found from its end offset, without waiting for a fetch.

May import: kafkalab.errors, kafkalab.kafka.{clients,cluster,requests,topics,records};
confluent_kafka inside functions only.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from typing import Any, BinaryIO, Literal

from kafkalab.errors import TopicNotFound, signal_of
from kafkalab.kafka.clients import CONNECT_AT_ONCE, command_client
from kafkalab.kafka.cluster import check_reachable
from kafkalab.kafka.records import Format, fewer_collections, renderer, start_offset
from kafkalab.kafka.requests import REQUEST_TIMEOUT, request_failed, topic_metadata
from kafkalab.kafka.topics import check_partition, offline_partitions

Stop = Literal["end", "max", "timeout", "interrupted", "closed"]

CONSUME_BATCH = 1_000  # messages per consume() call: larger batches measured slower (CPU caches)
IDLE_WAIT = 0.2  # seconds one blocking consume() waits; bounds how late a stop is noticed
NO_GROUP = "kafkalab-consume"  # the client needs a group.id; without --group it never joins or commits


@dataclasses.dataclass(frozen=True)
class ConsumeResult:
    topic: str
    messages: int
    seconds: float
    stopped: Stop  # the end of the partitions, --max, --timeout, Ctrl-C, or the output was closed
    group: str | None
    committed: bool  # the group's offsets were committed (after the last message written)
    signum: int | None = None  # interrupted: by this signal (SIGINT, SIGTERM, SIGHUP)


def consume_to(
    bootstrap: str, topic: str, out: BinaryIO, *, fmt: Format = "value", from_beginning: bool = False,
    group: str | None = None, max_messages: int | None = None, follow: bool = False,
    partition: int | None = None, offset: int | None = None, timeout: float | None = None,
    key_separator: bytes = b"\t", from_time: int | None = None,
    on_offline: Callable[[list[int]], None] | None = None,
    render: Callable[[Sequence[Any]], bytes] | None = None,
) -> ConsumeResult:
    """Write the topic's messages to `out`, one per line in `fmt`, and say why it stopped.

    Without follow it stops at the end of the partitions, as they were when it got to them. It stops
    after max_messages, or once nothing arrived for `timeout` seconds. Ctrl-C stops it as well (and
    SIGTERM or SIGHUP, where the CLI raises them), and returns normally. With a group, it joins the
    group and commits the offsets of what it wrote when it stops; without one, it reads all
    partitions (or `partition`) and commits nothing.
    With from_time (ms since the epoch) each partition starts at its first message at or after
    that time (offsets-for-times), or at its end when there is none; with a group, that is where
    the group's position is put when the partition is assigned.
    Partitions that are offline (no broker leads them) are left out, and on_offline gets them.
    `render`, when given, writes the messages instead of fmt's renderer (kafkalab.schemas.serdes's,
    which decodes keys and values through a Schema Registry): the plain loop stays as fast as it is.
    """
    if group is not None and (partition is not None or offset is not None):
        raise ValueError("partition and offset are for consuming without a group")
    if from_time is not None and (offset is not None or from_beginning):
        raise ValueError("from_time is a start of its own: not with offset or from_beginning")
    check_reachable(bootstrap)
    consumer = command_client("consumer", bootstrap, {
        **CONNECT_AT_ONCE,
        "group.id": group or NO_GROUP,
        "auto.offset.reset": "earliest" if from_beginning else "latest",
        "allow.auto.create.topics": False,
        "enable.auto.commit": group is not None,
        # Offsets are stored by hand once a batch is written: Ctrl-C never commits unwritten messages.
        "enable.auto.offset.store": False,
        "enable.partition.eof": True,
        # librdkafka's default waits 1 s before fetching again once the local queue is full: a stall.
        "fetch.queue.backoff.ms": 10,
        # Prefetch less than the default 100,000 messages: half the memory, the same speed.
        "queued.min.messages": 20_000,
        # At the end of a partition the broker holds an empty fetch this long: the end-of-partition
        # event comes that much later.
        "fetch.wait.max.ms": 500 if follow else 100,
    })
    try:
        run = _Consume(consumer, bootstrap, topic, group, follow)
        run.start(partition, offset, from_beginning, from_time)
        if run.offline and on_offline is not None:
            on_offline(sorted(run.offline))
        with fewer_collections():
            return run.loop(out, render or renderer(fmt, key_separator), max_messages, timeout)
    finally:
        consumer.close()


class _Consume:
    """One run of consume_to: which partitions are still to be read to the end, and the loop."""

    def __init__(self, consumer: Any, bootstrap: str, topic: str, group: str | None, follow: bool) -> None:
        self.consumer = consumer
        self.bootstrap = bootstrap
        self.topic = topic
        self.group = group
        self.follow = follow
        self.pending: set[int] = set()  # partitions not yet read to their end
        self.ends: dict[int, int] = {}  # partition -> its end offset when reading started
        self.at_time: dict[int, int] = {}  # --from-time: partition -> its first offset at or after it
        self.offline: set[int] = set()  # partitions no broker leads: left out, they cannot be read
        self.assigned = False

    def start(
        self, partition: int | None, offset: int | None, from_beginning: bool, from_time: int | None = None,
    ) -> None:
        from confluent_kafka import KafkaException, TopicPartition

        consumer, topic = self.consumer, self.topic
        meta = topic_metadata(consumer, self.bootstrap, topic)
        partitions = sorted(meta.partitions)
        if partition is not None and self.group is None:
            check_partition(topic, partition, len(partitions))
            partitions = [partition]
        self.offline = set(offline_partitions(meta)) & set(partitions)
        partitions = [p for p in partitions if p not in self.offline]
        if from_time is not None and partitions:
            self.at_time = self._offsets_at(partitions, from_time)
        if self.group is not None:
            consumer.subscribe([topic], on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_revoke)
            return
        starts = []
        for p in partitions:
            try:
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=REQUEST_TIMEOUT)
            except KafkaException as exc:
                raise request_failed(exc.args[0], self.bootstrap, f"Offsets of {topic}") from None
            if from_time is not None:
                start = self.at_time[p] if self.at_time[p] >= 0 else high  # -1: no message that late
            else:
                start = start_offset(topic, p, offset, from_beginning=from_beginning, low=low, high=high)
            starts.append(TopicPartition(topic, p, start))
            self.ends[p] = high
            if start < high:
                self.pending.add(p)
        consumer.assign(starts)
        self.assigned = True

    def _offsets_at(self, partitions: list[int], when: int) -> dict[int, int]:
        """Each partition's first offset at or after `when` (ms); -1 where no message is that late."""
        from confluent_kafka import KafkaException, TopicPartition

        try:
            found = self.consumer.offsets_for_times(
                [TopicPartition(self.topic, p, when) for p in partitions], timeout=REQUEST_TIMEOUT,
            )
        except KafkaException as exc:
            raise request_failed(exc.args[0], self.bootstrap, f"Offsets of {self.topic}") from None
        return {tp.partition: tp.offset for tp in found}

    def _on_assign(self, consumer: Any, partitions: list[Any]) -> None:
        self.pending |= {tp.partition for tp in partitions} - self.offline  # they would never reach their end
        self.assigned = True
        if self.at_time:
            from confluent_kafka import OFFSET_END

            # Where --from-time puts the group: its position, not what it committed before. Once
            # per partition: after a rebalance, a partition goes on from what was read since.
            for tp in partitions:
                if (at := self.at_time.pop(tp.partition, None)) is not None:
                    tp.offset = at if at >= 0 else OFFSET_END
            consumer.assign(partitions)

    def _on_revoke(self, _consumer: Any, partitions: list[Any]) -> None:
        self.pending -= {tp.partition for tp in partitions}

    def done(self) -> bool:
        return not self.follow and self.assigned and not self.pending

    def loop(
        self, out: BinaryIO, render: Callable[[Sequence[Any]], bytes], max_messages: int | None,
        timeout: float | None,
    ) -> ConsumeResult:
        consume = self.consumer.consume
        count = 0
        stopped: Stop = "end"
        signum = None
        started = last = time.monotonic()
        try:
            while not self.done():
                if max_messages is not None and count >= max_messages:
                    stopped = "max"
                    break
                # Take what is there at once; wait (briefly, to notice a stop) only when nothing is.
                messages = consume(CONSUME_BATCH, 0) or consume(1, IDLE_WAIT)
                good = messages
                if messages and any(map(type(messages[0]).error, messages)):
                    self._events(messages)
                    good = [m for m in messages if m.error() is None]
                if not good:  # nothing, or only events such as the end of a partition
                    if timeout is not None and time.monotonic() - last >= timeout:
                        stopped = "timeout"
                        break
                    continue
                last = time.monotonic()
                if max_messages is not None and count + len(good) > max_messages:
                    good = good[:max_messages - count]
                out.write(render(good))
                # With a group, offsets are stored (to be committed) only once the batch has left
                # out's buffer: a reader gone by then (`| head`) makes flush() fail, and nothing of
                # it is committed. Without a group nothing is committed: keep the buffering.
                if self.follow or self.group is not None:
                    out.flush()
                count += len(good)
                if self.group is not None:
                    self._store(good)
                elif not self.follow:
                    self._reached_ends()
            out.flush()
        except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM or SIGHUP where the CLI raises them
            stopped, signum = "interrupted", signal_of(exc)
        except BrokenPipeError:
            stopped = "closed"  # `| head` has what it wanted: the messages it did not take are not committed
        committed = self._commit()
        return ConsumeResult(self.topic, count, time.monotonic() - started, stopped, self.group, committed, signum)

    def _events(self, messages: list[Any]) -> None:
        """End-of-partition events, and errors that end the run (a deleted topic, a fatal error)."""
        from confluent_kafka import KafkaError

        for m in messages:
            error = m.error()
            if error is None:
                continue
            code = error.code()
            if code == KafkaError._PARTITION_EOF:
                self.pending.discard(m.partition())
            elif code in (KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC):
                raise TopicNotFound(f"Topic {self.topic} does not exist at {self.bootstrap}.")
            elif error.fatal() or code == KafkaError._UNKNOWN_PARTITION:
                raise request_failed(error, self.bootstrap, f"Consuming {self.topic}")
            # Anything else (a broker restarting, a lost connection) librdkafka retries by itself.

    def _reached_ends(self) -> None:
        from confluent_kafka import TopicPartition

        positions = self.consumer.position([TopicPartition(self.topic, p) for p in self.pending])
        self.pending -= {tp.partition for tp in positions if tp.offset >= self.ends[tp.partition]}

    def _store(self, written: list[Any]) -> None:
        from confluent_kafka import TopicPartition

        last = {m.partition(): m.offset() for m in written}
        self.consumer.store_offsets(offsets=[TopicPartition(self.topic, p, o + 1) for p, o in last.items()])

    def _commit(self) -> bool:
        from confluent_kafka import KafkaError, KafkaException

        if self.group is None:
            return False
        try:
            self.consumer.commit(asynchronous=False)
        except KafkaException as exc:
            if exc.args[0].code() == KafkaError._NO_OFFSET:  # nothing new was written
                return True
            what = f"Committing the offsets of {self.group}"
            raise request_failed(exc.args[0], self.bootstrap, what) from None
        return True
