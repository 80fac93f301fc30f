"""`kafkalab produce`: the hot loop, lines in, messages out, as fast as kcat (produce_lines), to
the topic that produce_target.py finds (or has the broker create).

    from kafkalab.kafka import produce
    with open("orders.txt", "rb") as lines:
        result = produce.produce_lines("localhost:9094", "orders", lines, key_separator=b":")

What makes the loop fast (bench/bench_kcat.py measures it against kcat on the same broker): input
is read in large chunks and split into lines in C; without keys or headers the produce() calls
are made from C too (map). No message has a callback of its own: the one delivery callback is
only called for failures (delivery.report.only.error), so a successful delivery never runs Python code.
Batches go lz4-compressed (a third less of the broker's CPU, which it shares with this process), and
the producer connects while the first lines are read. docs/performance.md has each lever's figures.

May import: kafkalab.errors, kafkalab.kafka.{clients,cluster,requests,topics,records,produce_target};
confluent_kafka inside functions only.
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
import operator
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from types import FrameType
from typing import Any, BinaryIO, Literal

from kafkalab.errors import InvalidRecord, signal_of
from kafkalab.kafka.clients import CONNECT_AT_ONCE, command_client, user_settings
from kafkalab.kafka.cluster import check_reachable
from kafkalab.kafka.produce_target import produce_target
from kafkalab.kafka.records import Record, fewer_collections, keyed, parse_record, split_lines
from kafkalab.kafka.requests import REQUEST_TIMEOUT
from kafkalab.kafka.topics import check_partition

Input = Literal["line", "json"]
Encode = Callable[[Any], bytes]  # a JSON value to a record's bytes; ValueError when it does not fit (a schema)
Acks = Literal["0", "1", "all"]

READ_SIZE = 1 << 18  # bytes of input read at a time
PRODUCE_BATCH = 10_000  # lines handed to the producer between two polls
QUEUE_MAX = 100_000  # messages the producer may hold before we wait for deliveries
STOP_FLUSH = 10.0  # seconds a produce stopped by a signal waits for what it sent to be delivered
DELIVERY_TIMEOUT_MS = 30_000  # a message not delivered by then is a failure


@dataclasses.dataclass(frozen=True)
class ProduceResult:
    topic: str
    messages: int  # lines read: one message each
    failed: int  # not delivered: refused by librdkafka or the broker, or not acknowledged in time
    errors: tuple[tuple[str, int], ...]  # (error, how many messages), most frequent first
    seconds: float
    interrupted: bool = False
    # --format json: the line that was no record, which ended the input (the lines before it were sent)
    bad_record: InvalidRecord | None = dataclasses.field(default=None, compare=False)
    created_topic: bool = False  # the topic did not exist: the broker created it (auto.create.topics.enable)
    signum: int | None = None  # interrupted: by this signal (SIGINT, SIGTERM, SIGHUP)

    @property
    def delivered(self) -> int:
        return self.messages - self.failed

    @property
    def rate(self) -> float:
        """Messages delivered per second."""
        return self.delivered / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        bad = self.bad_record.message if self.bad_record else None
        return {**fields, "errors": dict(self.errors), "delivered": self.delivered, "bad_record": bad}


class _Failures:
    """The producer's delivery callback: called for failed deliveries only, it counts them by error.

    Messages too large are counted as librdkafka words it ("Broker: Message size too large", also
    when the producer refuses one itself), and errors() says how large and what the limit was:
    the topic's max.message.bytes when the broker refused, the producer's message.max.bytes when
    it refused before sending.
    """

    def __init__(self, topic: str = "", topic_max: int | None = None, client_max: int | None = None) -> None:
        self.by_error: collections.Counter[str] = collections.Counter()
        self.topic, self.topic_max, self.client_max = topic, topic_max, client_max
        self.largest: dict[str, int] = {}  # "broker" or "client" (which refused) -> the largest refused, bytes

    def __call__(self, error: Any, message: Any) -> None:
        if error is not None:
            from confluent_kafka import KafkaError

            if error.code() == KafkaError.MSG_SIZE_TOO_LARGE:
                self._too_large("broker", len(message.value() or b"") + len(message.key() or b""))
            self.add(error.str())

    def add(self, error: str, count: int = 1) -> None:
        self.by_error[error] += count

    def refused(self, exc: Any, size: int = 0) -> None:
        """A message of `size` bytes (key and value) that produce() refused: counted under the same
        words as a failed delivery."""
        from confluent_kafka import KafkaError

        code = exc.args[0].code()
        if code == KafkaError.MSG_SIZE_TOO_LARGE:
            self._too_large("client", size)
        # The exception's text starts "Unable to produce message: "; the code's own text does not.
        self.add(KafkaError(code).str())

    def _too_large(self, by: str, size: int) -> None:
        self.largest[by] = max(size, self.largest.get(by, 0))

    def errors(self) -> tuple[tuple[str, int], ...]:
        """(error, count), the most frequent first; messages too large with their size and the limit."""
        from confluent_kafka import KafkaError

        too_large = KafkaError(KafkaError.MSG_SIZE_TOO_LARGE).str()
        return tuple(
            (self._size_text() if text == too_large and self.largest else text, count)
            for text, count in self.by_error.most_common()
        )

    def _size_text(self) -> str:
        said = []
        if "broker" in self.largest:
            limit = f"takes record batches of at most {self.topic_max:,} bytes (max.message.bytes)" \
                if self.topic_max is not None else "takes less (max.message.bytes; the cluster does not say how much)"
            said.append(f"the largest message the broker refused was {self.largest['broker']:,} bytes (key and "
                        f"value); topic {self.topic} {limit}")
        if "client" in self.largest:
            limit = f"at most {self.client_max:,} bytes" if self.client_max is not None else "less"
            said.append(f"the largest message refused before sending was {self.largest['client']:,} bytes "
                        f"(key and value); the producer sends {limit} (message.max.bytes)")
        prefix = "Broker: " if "broker" in self.largest else ""
        return f"{prefix}Message size too large: {'; '.join(said)}"

    @property
    def count(self) -> int:
        return sum(self.by_error.values())


class _Signals:
    """Holds back Ctrl-C, SIGTERM and SIGHUP while lines are handed to the producer, so that the
    count of messages sent stays exact; while it waits for input, which may block for ever, or for
    the broker, one is raised at once.

    Only signals whose handler is Python code are held (the CLI's raise KeyboardInterrupt or
    Terminated); the handler runs all the same, and what it raises is kept for check(). Outside
    the main thread no signal is raised, and nothing is held.
    """

    def __init__(self) -> None:
        self.open = True  # raise at once
        self.held: BaseException | None = None
        self._saved: dict[int, Callable[[int, FrameType | None], Any]] = {}

    def __enter__(self) -> _Signals:
        if threading.current_thread() is threading.main_thread():
            for name in ("SIGINT", "SIGTERM", "SIGHUP"):
                number = getattr(signal, name, None)  # Windows has no SIGHUP
                handler = signal.getsignal(number) if number is not None else None
                if number is not None and callable(handler):
                    self._saved[number] = handler
                    signal.signal(number, self._handle)
        return self

    def __exit__(self, *_exc: object) -> None:
        for number, handler in self._saved.items():
            signal.signal(number, handler)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        try:
            self._saved[signum](signum, frame)
        except BaseException as exc:
            if self.open:
                raise
            self.held = self.held or exc

    def check(self) -> None:
        """Raise the signal held back, if any."""
        if self.held is not None:
            raise self.held


def _blocks(source: BinaryIO, signals: _Signals, skip_empty: bool) -> Iterator[list[bytes]]:
    """The lines of source, a read block at a time; a stop signal is raised while it reads. skip_empty
    drops empty lines here, for the plain loop only: the others number lines, and skip them themselves."""
    read = getattr(source, "read1", None) or source.read
    rest = b""
    while True:
        signals.open = True
        chunk = read(READ_SIZE)
        signals.open = False
        if not chunk:
            break
        lines, rest = split_lines(rest, chunk)
        if skip_empty:
            lines = list(filter(None, lines))
        if lines:
            yield lines
    if rest:
        yield [rest]


def _skipped(line: bytes, fmt: Input, skip_empty: bool) -> bool:
    """A line that is no message: a blank one of --format json, an empty one with --skip-empty."""
    return not line.strip() if fmt == "json" else skip_empty and not line


def _first_blocks(blocks: Iterator[list[bytes]], fmt: Input, skip_empty: bool) -> list[list[bytes]]:
    """The blocks up to the first that holds a message to send; none when the input has none."""
    held = []
    for block in blocks:
        held.append(block)
        if not all(_skipped(line, fmt, skip_empty) for line in block):
            return held
    return []


def _first_record_error(
    blocks: list[list[bytes]], fmt: Input, skip_empty: bool, key_separator: bytes | None,
    encoders: tuple[Encode | None, Encode | None],
) -> InvalidRecord | None:
    """The first record is parsed (--format json) and encoded (a schema) before the topic is asked for
    (and maybe created): input that is refused leaves nothing behind."""
    if fmt == "line" and encoders == (None, None):
        return None
    lines = itertools.chain.from_iterable(blocks)
    for number, line in enumerate(lines, 1):
        if not _skipped(line, fmt, skip_empty):
            try:
                if encoders == (None, None):
                    parse_record(line)
                else:
                    encoded_record(line, fmt, key_separator, encoders)
            except ValueError as exc:
                return _not_a_record(number, exc, 0, schema=encoders != (None, None))
            return None
    return None


def _not_a_record(number: int, exc: ValueError, sent: int, *, schema: bool = False) -> InvalidRecord:
    if schema:
        return InvalidRecord(f"Line {number}: {exc}.", sent=sent)
    return InvalidRecord(f"Line {number} is not a record: {exc}.", sent=sent)


def produce_lines(
    bootstrap: str, topic: str, source: BinaryIO, *, key_separator: bytes | None = None,
    headers: Sequence[tuple[str, bytes]] = (), acks: Acks = "all", partition: int | None = None,
    timeout: float = REQUEST_TIMEOUT, fmt: Input = "line", on_created: Callable[[int], None] | None = None,
    skip_empty: bool = False, encode_key: Encode | None = None, encode_value: Encode | None = None,
) -> ProduceResult:
    """Produce one message per line of `source` (the newline removed) and wait for every delivery.

    A line ends at \n; a \r before it is removed too (CRLF input; kcat 1.7 keeps it). An empty line is
    an empty message, unless skip_empty. With key_separator, a line splits at its first separator
    into key and value. `headers` go on every message. A topic that does not exist follows the
    broker's auto.create.topics.enable, as with kcat and Kafka's console producer: created by the
    broker (then on_created gets its partition count), or TopicNotFound. Input with no message in
    it, or whose first record is refused, leaves the topic as it was (not created).
    With fmt="json" each line is a record (parse_record): key, value, headers, partition and
    timestamp; blank lines are skipped, and the first line that is no record ends the input
    (ProduceResult.bad_record), after the lines before it were delivered.
    Ctrl-C (or SIGTERM, SIGHUP, where the caller raises them as KeyboardInterrupt) stops the
    reading; what was read is delivered within STOP_FLUSH seconds, and the result says
    interrupted, with the signal.
    With encode_value (or encode_key), each value (key) is a JSON value, encoded by it (a schema's
    serializer, kafkalab.schemas.serdes.Encoder): the whole line, its part after key_separator, or
    the record's "value"; a ValueError from it (no match for the schema) ends the input as a line
    that is no record does (ProduceResult.bad_record). Without them the loop is the plain one.
    """
    if key_separator == b"":
        raise ValueError("key_separator must not be empty")
    if fmt == "json" and key_separator is not None:
        raise ValueError("a JSON record has its own key: no key_separator")
    started = time.monotonic()
    encoders = (encode_key, encode_value)
    plain = fmt == "line" and encoders == (None, None)
    with _Signals() as signals:
        blocks = _blocks(source, signals, skip_empty and plain)
        try:
            first = _first_blocks(blocks, fmt, skip_empty)
        except KeyboardInterrupt as exc:  # nothing was read: nothing to send, nothing created
            return ProduceResult(topic, 0, 0, (), time.monotonic() - started, True, signum=signal_of(exc))
        bad = _first_record_error(first, fmt, skip_empty, key_separator, encoders) if first else None
        if not first or bad is not None:
            check_reachable(bootstrap)  # an unreachable broker is said all the same
            return ProduceResult(topic, 0, 0, (), time.monotonic() - started, bad_record=bad)
        return _produce(
            bootstrap, topic, itertools.chain(first, blocks), signals, key_separator=key_separator,
            headers=headers, acks=acks, partition=partition, timeout=timeout, fmt=fmt, on_created=on_created,
            started=started, encoders=encoders, skip_empty=skip_empty,
        )


def _produce(
    bootstrap: str, topic: str, blocks: Iterator[list[bytes]], signals: _Signals, *, key_separator: bytes | None,
    headers: Sequence[tuple[str, bytes]], acks: Acks, partition: int | None, timeout: float, fmt: Input,
    on_created: Callable[[int], None] | None, started: float,
    encoders: tuple[Encode | None, Encode | None] = (None, None), skip_empty: bool = False,
) -> ProduceResult:
    signals.open = True  # nothing is sent yet: a signal ends it at once
    try:
        target = produce_target(bootstrap, topic, timeout)
        if target.created and on_created is not None:
            on_created(target.partitions)
        client_max = message_limit(target.max_message_bytes)
        given_max = user_settings().get("message.max.bytes", "")  # -X wins over kafkalab's
        failures = _Failures(topic, target.max_message_bytes, int(given_max) if given_max.isdigit() else client_max)
        producer = command_client("producer", bootstrap, {
            **CONNECT_AT_ONCE,  # it connects while the first lines are read and handed to it
            # Not idempotent, like kcat: idempotence measured a third slower here. A retried request
            # may then store a message twice; none is lost.
            "acks": acks,
            # A tenth of the bytes for the broker to take in and write: its CPU time, which it
            # shares with this process, fell by a third at 10^6 x 100 B (docs/performance.md).
            # The broker's max.message.bytes then counts a batch's compressed bytes.
            "compression.type": "lz4",
            "allow.auto.create.topics": False,
            "queue.buffering.max.messages": QUEUE_MAX + PRODUCE_BATCH,
            # The client refuses messages over its own message.max.bytes (1,000,000) before sending:
            # allow what the topic allows (max.message.bytes, 1,048,588 by default). -X wins over this.
            "message.max.bytes": client_max,
            "message.timeout.ms": DELIVERY_TIMEOUT_MS,
            "delivery.report.only.error": True,
            "on_delivery": failures,
        })
    except KeyboardInterrupt as exc:  # before the first message: at most the topic was asked for
        return ProduceResult(topic, 0, 0, (), time.monotonic() - started, True, signum=signal_of(exc))
    # The producer asks for the topic's metadata itself, while the first messages wait in its queue.
    if partition is not None:
        check_partition(topic, partition, target.partitions)
    sender = _JsonSender if fmt == "json" else _Sender
    send = sender(
        producer, topic, partition=partition, key_separator=key_separator, headers=list(headers), failures=failures,
        check=signals.check,
    )
    if encoders != (None, None):  # the schema path: only then does a line pay for JSON and a serializer
        send = _SchemaSender(
            producer, topic, partition=partition, key_separator=key_separator, headers=list(headers),
            failures=failures, check=signals.check, fmt=fmt, encoders=encoders, skip_empty=skip_empty,
        )
    count = 0
    stop: BaseException | None = None
    bad: InvalidRecord | None = None
    with fewer_collections():
        try:
            signals.open = False  # from here a signal is held back till the end of a block
            try:
                for lines in blocks:  # a signal while it reads stops here, with what was read sent
                    for i in range(0, len(lines), PRODUCE_BATCH):
                        count += send(lines[i:i + PRODUCE_BATCH])
                    signals.check()
            except InvalidRecord as exc:
                bad = exc
                count += exc.sent
            # Each delivery is awaited; a signal meanwhile bounds what is left of the wait.
            left = len(producer)
            while left and signals.held is None:
                left = producer.flush(0.5)
            signals.check()
        except KeyboardInterrupt as exc:
            stop = exc
            signals.open = True  # a second one ends the wait
            left = producer.flush(STOP_FLUSH)
    if left:
        failures.add("not delivered before the end", left)
    return ProduceResult(
        topic, count, failures.count, failures.errors(), time.monotonic() - started,
        stop is not None, bad, target.created, signum=signal_of(stop) if stop is not None else None,
    )


CLIENT_MESSAGE_MAX = 1_000_000  # librdkafka's default message.max.bytes
CLIENT_MESSAGE_CAP = 1_000_000_000  # the most librdkafka takes


def message_limit(topic_max: int | None) -> int:
    """The producer's message.max.bytes for a topic that takes messages of up to topic_max bytes:
    never below librdkafka's default (a smaller topic limit is the broker's to enforce)."""
    return min(max(topic_max or 0, CLIENT_MESSAGE_MAX), CLIENT_MESSAGE_CAP)


class _Sender:
    """Hands lines to the producer, one produce() call each, and never more than QUEUE_MAX at a time.

    produce() with positional arguments measured faster than produce_batch(), which looks up six
    keys in a dict per message. Values without keys or headers go through map(), so that the loop
    runs in C.
    """

    def __init__(
        self, producer: Any, topic: str, *, partition: int | None, key_separator: bytes | None,
        headers: list[tuple[str, bytes]], failures: _Failures, check: Callable[[], None] = lambda: None,
    ) -> None:
        self.producer = producer
        self.check = check  # raises a stop signal held back: called while it waits, before a batch is sent
        self.topic = topic
        self.partition = -1 if partition is None else partition  # -1: the partitioner chooses
        self.key_separator = key_separator
        self.headers = headers
        self.failures = failures

    def __call__(self, lines: list[bytes]) -> int:
        """Hand the lines to the producer; the number of messages, one per line."""
        self.wait_for_room(len(lines))
        if self.key_separator is None and not self.headers:
            self._values(lines)
            return len(lines)
        pairs = keyed(lines, self.key_separator) if self.key_separator is not None else [(None, v) for v in lines]
        for key, value in pairs:
            self._one(value, key)
        return len(lines)

    def wait_for_room(self, count: int) -> None:
        producer = self.producer
        # len(producer) counts the messages not yet delivered; poll() serves (failed) delivery reports.
        producer.poll(0)
        while len(producer) + count > QUEUE_MAX:
            self.check()
            producer.poll(0.01)

    def _values(self, lines: list[bytes]) -> None:
        from confluent_kafka import KafkaException

        produce, topic = self.producer.produce, self.topic
        remaining = iter(lines)
        extra = () if self.partition == -1 else (itertools.repeat(None), itertools.repeat(self.partition))
        while True:
            try:
                collections.deque(map(produce, itertools.repeat(topic), remaining, *extra), maxlen=0)
                return
            except (BufferError, KafkaException) as exc:
                # map() had taken the line that failed: the one before those still remaining.
                failed = lines[len(lines) - operator.length_hint(remaining) - 1]
                if isinstance(exc, BufferError):  # full (by bytes): wait for deliveries, then queue it
                    self.producer.poll(0.01)
                    self._one(failed, None)
                else:
                    self.failures.refused(exc, len(failed))

    def _one(self, value: bytes, key: bytes | None) -> None:
        from confluent_kafka import KafkaException

        while True:
            try:
                if self.headers:
                    self.producer.produce(self.topic, value, key, self.partition, headers=self.headers)
                else:
                    self.producer.produce(self.topic, value, key, self.partition)
                return
            except BufferError:  # the queue is full (by bytes): wait for deliveries
                self.producer.poll(0.01)
            except KafkaException as exc:  # refused before sending, such as a message too large
                self.failures.refused(exc, len(value) + len(key or b""))
                return


class _JsonSender(_Sender):
    """Hands the records of `produce --format json` to the producer, one per line; blank lines are skipped.

    The command's --header headers follow each record's own, and its --partition is the partition
    of records that name none.
    """

    line = 0  # lines read so far, for the error's line number

    def __call__(self, lines: list[bytes]) -> int:
        self.wait_for_room(len(lines))
        sent = 0
        for line in lines:
            self.line += 1
            if not line.strip():
                continue
            try:
                value, key, partition, timestamp, headers = parse_record(line)
            except ValueError as exc:
                raise _not_a_record(self.line, exc, sent) from None
            headers.extend(self.headers)
            self._record(value, key, self.partition if partition is None else partition, timestamp or 0, headers)
            sent += 1
        return sent

    def _record(
        self, value: bytes | None, key: bytes | None, partition: int, timestamp: int,
        headers: list[tuple[str, bytes | None]],
    ) -> None:
        from confluent_kafka import KafkaException

        while True:
            try:
                self.producer.produce(self.topic, value, key, partition, timestamp=timestamp, headers=headers or None)
                return
            except BufferError:  # the queue is full (by bytes): wait for deliveries
                self.producer.poll(0.01)
            except KafkaException as exc:  # refused before sending: too large, no such partition
                self.failures.refused(exc, len(value or b"") + len(key or b""))
                return


class _SchemaSender(_JsonSender):
    """Hands records whose key and/or value are encoded with a schema (encoders: key, value) to the
    producer: each line is one JSON value, or with fmt="json" a record whose "value" and "key" are.
    A line that is not JSON, or whose value does not fit the schema, ends the input (InvalidRecord)."""

    def __init__(
        self, *args: Any, fmt: Input, encoders: tuple[Encode | None, Encode | None], skip_empty: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fmt, self.encoders, self.skip_empty = fmt, encoders, skip_empty

    def __call__(self, lines: list[bytes]) -> int:
        self.wait_for_room(len(lines))
        sent = 0
        for line in lines:
            self.line += 1
            if _skipped(line, self.fmt, self.skip_empty):
                continue
            try:
                value, key, partition, timestamp, headers = encoded_record(line, self.fmt, self.key_separator,
                                                                           self.encoders)
            except ValueError as exc:
                raise _not_a_record(self.line, exc, sent, schema=True) from None
            headers.extend(self.headers)
            self._record(value, key, self.partition if partition is None else partition, timestamp or 0, headers)
            sent += 1
        return sent


def encoded_record(
    line: bytes, fmt: Input, key_separator: bytes | None, encoders: tuple[Encode | None, Encode | None],
) -> Record:
    """One line's record with its key and/or value encoded (encoders: key, value): the line is one
    JSON value (or key, separator, value), or with fmt="json" a record whose "value" and "key" are.
    ValueError when it is not JSON, or a value does not fit its schema."""
    import json

    encode_key, encode_value = encoders
    if fmt == "json":
        value, key, partition, timestamp, headers = parse_record(line)
        data = json.loads(line)
        value_obj, key_obj = data.get("value"), data.get("key")
    else:
        partition, timestamp, headers = None, None, []
        key, value = keyed([line], key_separator)[0] if key_separator is not None else (None, line)
        value_obj = _json(value, "value") if encode_value else None
        key_obj = _json(key, "key") if encode_key and key is not None else None
    if encode_value is not None and value_obj is not None:
        value = encode_value(value_obj)
    if encode_key is not None and key_obj is not None:
        key = encode_key(key_obj)
    return value, key, partition, timestamp, headers


def _json(data: bytes | None, what: str) -> Any:
    import json

    try:
        return json.loads(data or b"")
    except ValueError as exc:
        raise ValueError(f"the {what} is not JSON ({exc})") from None
