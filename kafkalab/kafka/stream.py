"""The hot loops of `kafkalab produce` and `kafkalab consume`: lines in, messages out, as fast as kcat.

    from kafkalab.kafka import stream
    with open("orders.txt", "rb") as lines:
        result = stream.produce_lines("localhost:9094", "orders", lines, key_separator=b":")
    stream.consume_to("localhost:9094", "orders", sys.stdout.buffer, fmt="json", from_beginning=True)

Like broker.py, this module imports confluent_kafka only inside its functions. What makes the loops
fast (bench/bench_kcat.py measures them against kcat on the same broker):
- produce: input is read in large chunks and split into lines in C; without keys or headers the
  produce() calls are made from C too (map). No message has a callback of its own: the one
  delivery callback is only called for failures (delivery.report.only.error), so a successful
  delivery never runs Python code.
- consume: consume(num_messages=...) in batches, each batch written with one write() of one bytes
  object, and the end of each partition found from its end offset, without waiting for a fetch.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import dataclasses
import gc
import itertools
import json
import operator
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from types import FrameType
from typing import Any, BinaryIO, Literal

from kafkalab.errors import InvalidRecord, KafkaRequestError, TopicNotFound, signal_of
from kafkalab.kafka import broker

Format = Literal["value", "kv", "json"]
Input = Literal["line", "json"]
Acks = Literal["0", "1", "all"]
Stop = Literal["end", "max", "timeout", "interrupted", "closed"]

READ_SIZE = 1 << 18  # bytes of input read at a time
PRODUCE_BATCH = 10_000  # lines handed to the producer between two polls
QUEUE_MAX = 100_000  # messages the producer may hold before we wait for deliveries
CONSUME_BATCH = 1_000  # messages per consume() call: larger batches measured slower (CPU caches)
STOP_FLUSH = 10.0  # seconds a produce stopped by a signal waits for what it sent to be delivered
IDLE_WAIT = 0.2  # seconds one blocking consume() waits; bounds how late a stop is noticed
DELIVERY_TIMEOUT_MS = 30_000  # a message not delivered by then is a failure
NO_GROUP = "kafkalab-consume"  # the client needs a group.id; without --group it never joins or commits


# --- pure helpers ------------------------------------------------------------------------------

def parse_pairs(items: Iterable[str]) -> list[tuple[str, str]]:
    """["k=v", ...] as (key, value) pairs, in order; the value may hold "=". ValueError without a key."""
    pairs = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"{item!r} is not KEY=VALUE.")
        pairs.append((key, value))
    return pairs


def unescape_separator(text: str) -> bytes:
    r"""A separator as given on the command line, as bytes; "\t" means a tab, as in kcat."""
    if text == "\\t":
        return b"\t"
    raw = os.fsencode(text)
    if not raw:
        raise ValueError("The separator is empty.")
    return raw


_DURATION = re.compile(r"(\d+)(ms|s|m|h|d)")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
TIME_FORMS = "ISO 8601 (2024-05-01T12:00:00Z, 2024-05-01; local time without an offset)"
DURATION_FORMS = "a duration back from now (30s, 10m, 2h, 1d, 1h30m)"


def parse_time(text: str, *, durations: bool = True, now_ms: int | None = None) -> int:
    """A point in time as milliseconds since the epoch, as Kafka's timestamps are.

    ISO 8601, local time when it has no offset (as kafka-consumer-groups --to-datetime reads
    it); with `durations`, also a span back from now such as 10m, 2h or 1h30m. ValueError
    says what is accepted.
    """
    import datetime

    spec = text.strip()
    if durations and spec and _DURATION.sub("", spec) == "" and spec[0].isdigit():
        span = sum(int(n) * _UNIT_MS[unit] for n, unit in _DURATION.findall(spec))
        return (int(time.time() * 1000) if now_ms is None else now_ms) - span
    try:
        when = datetime.datetime.fromisoformat(spec)
    except ValueError:
        forms = f"{TIME_FORMS}, or {DURATION_FORMS}" if durations else TIME_FORMS
        raise ValueError(f"{text!r} is not a time: give {forms}.") from None
    if when.tzinfo is None:
        when = when.astimezone()  # local time, as Kafka's own tools read a time without an offset
    return int(when.timestamp() * 1000)


def split_lines(rest: bytes, chunk: bytes) -> tuple[list[bytes], bytes]:
    """The complete lines in rest + chunk, without their newline, and the incomplete tail.

    A \r before the newline goes too (kcat 1.7 keeps it): a file from Windows (CRLF) gives the same
    messages as one from Unix. Only input that holds a CRLF pays for it, line by line.
    """
    data = rest + chunk if rest else chunk
    lines = data.split(b"\n")
    tail = lines.pop()
    if b"\r" in data:  # one byte: memchr, where b"\r\n" would be a slower search
        lines = [line[:-1] if line[-1:] == b"\r" else line for line in lines]
    return lines, tail


def keyed(lines: Sequence[bytes], key_separator: bytes) -> list[tuple[bytes | None, bytes]]:
    """(key, value) per line, split at the first separator; a line without one has no key."""
    parts = [line.partition(key_separator) for line in lines]
    return [(key, value) if sep else (None, key) for key, sep, value in parts]


def start_offset(
    topic: str, partition: int, offset: int | None, *, from_beginning: bool, low: int, high: int,
) -> int:
    """The absolute offset to start at; a negative offset counts back from the end (-10: the last 10)."""
    if offset is None:
        return low if from_beginning else high
    start = high + offset if offset < 0 else offset
    if not low <= start <= high:
        stored = high - low
        if stored:
            what = f"offsets {low} to {high - 1} are stored"
            hint = f"Give an offset from {low} to {high}, or from -{stored} to -1 to count back from the end."
        else:
            what = "it is empty"
            hint = f"Give --offset {high} to wait for its next message, or leave --offset out."
        raise KafkaRequestError(f"Offset {offset} is out of range for {topic} partition {partition}: {what}.", hint)
    return start


def text_or_base64(data: bytes | None) -> str | dict[str, str] | None:
    """Bytes for JSON: text when they are UTF-8, else {"base64": ...}; None stays null."""
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(data).decode("ascii")}


def json_record(message: Any) -> dict[str, Any]:
    """One message as the object `consume --format json` prints; timestamp in ms, or null."""
    ts_type, ts = message.timestamp()
    return {
        "topic": message.topic(),
        "partition": message.partition(),
        "offset": message.offset(),
        "timestamp": ts if ts_type else None,  # type 0 is TIMESTAMP_NOT_AVAILABLE
        "key": text_or_base64(message.key()),
        "value": text_or_base64(message.value()),
        "headers": [[name, text_or_base64(value)] for name, value in message.headers() or []],
    }


Record = tuple[bytes | None, bytes | None, int | None, int | None, list[tuple[str, bytes | None]]]
"""What produce() takes from one line of `produce --format json`: value, key, partition, timestamp, headers."""

RECORD_FIELDS = ("key", "value", "headers", "partition", "timestamp")
_IGNORED_FIELDS = ("topic", "offset")  # in what `consume --format json` writes: where it was, not what to send


def field_bytes(data: Any, what: str) -> bytes | None:
    """A key, value or header value of a JSON record as bytes, the inverse of text_or_base64().

    Text is sent as UTF-8; null is no bytes at all (a value of null is a tombstone); an object
    that is exactly {"base64": "..."} is those bytes; anything else (an object, a list, a number,
    true) is sent as its JSON text.
    """
    if data is None:
        return None
    if isinstance(data, str):
        return data.encode()
    if isinstance(data, dict) and list(data) == ["base64"]:
        try:
            return base64.b64decode(str(data["base64"]), validate=True)
        except ValueError:
            raise ValueError(f"{what} is not base64 text: {data['base64']!r}") from None
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


# Strict JSON: NaN and Infinity, which Python's json takes by default, are refused.
_DECODER = json.JSONDecoder(parse_constant=_not_json)
_SPACE = re.compile(r"[ \t\n\r]*")


def _skip_space(text: str, i: int) -> int:
    found = _SPACE.match(text, i)
    return found.end() if found else i


def _members(text: str, start: int = 0) -> list[tuple[str | None, str]]:
    """The members of the JSON object or array at text[start] (valid JSON), each value as its own
    text, byte for byte: (name, text) for an object, (None, text) for an array."""
    scan, space = _DECODER.scan_once, _skip_space  # type: ignore[attr-defined]  # set in __init__, untyped
    close = "}" if text[start] == "{" else "]"
    found: list[tuple[str | None, str]] = []
    i = space(text, start + 1)
    while text[i] != close:
        name = None
        if close == "}":
            name, i = scan(text, i)
            i = space(text, space(text, i) + 1)  # past the colon
        _, end = scan(text, i)
        found.append((name, text[i:end]))
        i = space(text, end)
        if text[i] == ",":
            i = space(text, i + 1)
    return found


def _is_text(data: Any) -> bool:
    """A key, value or header value that field_bytes() sends as bytes of its own, not as JSON text."""
    return data is None or isinstance(data, str) or (isinstance(data, dict) and list(data) == ["base64"])


def parse_record(line: bytes) -> Record:
    """One line of `produce --format json`; ValueError says what is wrong with it.

    A key, value or header value that is JSON (an object, a list, a number, true) is sent as its
    text in the line, byte for byte: 1.50 stays 1.50, and the spaces stay where they were.
    """
    try:
        text = line.decode("utf-8")
        data = _DECODER.decode(text)
    except ValueError as exc:  # JSONDecodeError, NaN or Infinity, or bytes that are not UTF-8
        raise ValueError(f"it is not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"it is a JSON {type(data).__name__}, not an object")
    unknown = [k for k in data if k not in RECORD_FIELDS and k not in _IGNORED_FIELDS]
    if unknown:
        raise ValueError(f"it has a field {unknown[0]!r}; a record has {', '.join(RECORD_FIELDS)}")
    if "value" not in data:
        raise ValueError('it has no "value" (null is a tombstone)')
    raw_headers = data.get("headers") or []
    as_object = isinstance(raw_headers, dict)
    if isinstance(raw_headers, dict):
        raw_headers = list(raw_headers.items())
    headers = []
    texts: list[tuple[str | None, str]] | None = None  # the members of the record, as text, when needed
    for n, pair in enumerate(raw_headers if isinstance(raw_headers, list) else [None]):
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and isinstance(pair[0], str)):
            raise ValueError('its "headers" are neither an object nor a list of [name, value] pairs')
        if _is_text(pair[1]):
            headers.append((pair[0], field_bytes(pair[1], f"header {pair[0]!r}")))
            continue
        texts = texts or _members(text, _skip_space(text, 0))
        members = _members(dict(texts)["headers"])
        # An object's last member of a name is the one json keeps; a list's pairs go in order.
        value_text = dict(members)[pair[0]] if as_object else _members(members[n][1])[1][1]
        headers.append((pair[0], value_text.encode()))
    partition = data.get("partition")
    if partition is not None and (isinstance(partition, bool) or not isinstance(partition, int) or partition < 0):
        raise ValueError(f'its "partition" {partition!r} is not a partition number')
    timestamp = data.get("timestamp")
    if isinstance(timestamp, str):
        timestamp = parse_time(timestamp, durations=False)
    elif timestamp is not None and (isinstance(timestamp, bool) or not isinstance(timestamp, int) or timestamp < 0):
        raise ValueError(f'its "timestamp" {timestamp!r} is neither milliseconds since the epoch nor ISO 8601')
    sent: list[bytes | None] = []
    for name in ("value", "key"):
        if _is_text(data.get(name)):
            sent.append(field_bytes(data.get(name), f"the {name}"))
        else:
            texts = texts or _members(text, _skip_space(text, 0))
            sent.append(dict(texts)[name].encode())
    return sent[0], sent[1], partition, timestamp, headers


def render_values(messages: Sequence[Any]) -> bytes:
    # map() over the class's method runs the loop in C: no Python bytecode per message.
    values = list(map(type(messages[0]).value, messages)) if messages else []
    values.append(b"")  # the last newline, without copying the joined bytes again
    try:
        return b"\n".join(values)
    except TypeError:  # a null value (a tombstone): an empty line
        return b"\n".join([v or b"" for v in values])


def render_kv(messages: Sequence[Any], separator: bytes) -> bytes:
    return b"".join([(m.key() or b"") + separator + (m.value() or b"") + b"\n" for m in messages])


def render_json(messages: Sequence[Any]) -> bytes:
    return "".join([json.dumps(json_record(m), separators=(",", ":")) + "\n" for m in messages]).encode()


def renderer(fmt: Format, key_separator: bytes = b"\t") -> Callable[[Sequence[Any]], bytes]:
    if fmt == "value":
        return render_values
    if fmt == "kv":
        return lambda messages: render_kv(messages, key_separator)
    return render_json


@contextlib.contextmanager
def _fewer_collections(threshold: int = 100_000) -> Iterator[None]:
    """Run the cyclic GC less often: the loops make a million short-lived objects and no cycles.

    At the default threshold (700 allocations), the collector would run over every batch of
    messages many times; measured, that is a sixth of consume's CPU time.
    """
    before = gc.get_threshold()
    gc.set_threshold(max(threshold, before[0]), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


# --- produce -----------------------------------------------------------------------------------

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
    """The lines of source, a read block at a time; a stop signal is raised while it reads."""
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


def _first_blocks(blocks: Iterator[list[bytes]], fmt: Input) -> list[list[bytes]]:
    """The blocks up to the first that holds a message to send; none when the input has none."""
    held = []
    for block in blocks:
        held.append(block)
        if fmt == "line" or any(map(bytes.strip, block)):  # a JSON record's line is never blank
            return held
    return []


def _first_record_error(blocks: list[list[bytes]]) -> InvalidRecord | None:
    """The first record of `produce --format json` is checked before the topic is asked for (and
    maybe created): input that is refused leaves nothing behind."""
    lines = itertools.chain.from_iterable(blocks)
    for number, line in enumerate(lines, 1):
        if line.strip():
            try:
                parse_record(line)
            except ValueError as exc:
                return _not_a_record(number, exc, 0)
            return None
    return None


def _not_a_record(number: int, exc: ValueError, sent: int) -> InvalidRecord:
    return InvalidRecord(f"Line {number} is not a record: {exc}.", sent=sent)


def produce_lines(
    bootstrap: str, topic: str, source: BinaryIO, *, key_separator: bytes | None = None,
    headers: Sequence[tuple[str, bytes]] = (), acks: Acks = "all", partition: int | None = None,
    timeout: float = broker.REQUEST_TIMEOUT, fmt: Input = "line", on_created: Callable[[int], None] | None = None,
    skip_empty: bool = False,
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
    """
    if key_separator == b"":
        raise ValueError("key_separator must not be empty")
    if fmt == "json" and key_separator is not None:
        raise ValueError("a JSON record has its own key: no key_separator")
    started = time.monotonic()
    with _Signals() as signals:
        blocks = _blocks(source, signals, skip_empty)
        try:
            first = _first_blocks(blocks, fmt)
        except KeyboardInterrupt as exc:  # nothing was read: nothing to send, nothing created
            return ProduceResult(topic, 0, 0, (), time.monotonic() - started, True, signum=signal_of(exc))
        bad = _first_record_error(first) if fmt == "json" else None
        if not first or bad is not None:
            broker.probe(bootstrap)  # an unreachable broker is said all the same
            return ProduceResult(topic, 0, 0, (), time.monotonic() - started, bad_record=bad)
        return _produce(
            bootstrap, topic, itertools.chain(first, blocks), signals, key_separator=key_separator,
            headers=headers, acks=acks, partition=partition, timeout=timeout, fmt=fmt, on_created=on_created,
            started=started,
        )


def _produce(
    bootstrap: str, topic: str, blocks: Iterator[list[bytes]], signals: _Signals, *, key_separator: bytes | None,
    headers: Sequence[tuple[str, bytes]], acks: Acks, partition: int | None, timeout: float, fmt: Input,
    on_created: Callable[[int], None] | None, started: float,
) -> ProduceResult:
    signals.open = True  # nothing is sent yet: a signal ends it at once
    try:
        target = broker.produce_target(bootstrap, topic, timeout)
        if target.created and on_created is not None:
            on_created(target.partitions)
        client_max = message_limit(target.max_message_bytes)
        given_max = broker.user_settings().get("message.max.bytes", "")  # -X wins over kafkalab's
        failures = _Failures(topic, target.max_message_bytes, int(given_max) if given_max.isdigit() else client_max)
        producer = broker.command_client("producer", bootstrap, {
            # Not idempotent, like kcat: idempotence measured a third slower here. A retried request
            # may then store a message twice; none is lost.
            "acks": acks,
            "allow.auto.create.topics": False,
            "queue.buffering.max.messages": QUEUE_MAX + PRODUCE_BATCH,
            # The client refuses messages over its own message.max.bytes (1,000,000) before sending:
            # allow what the topic allows (max.message.bytes, 1,048,588 by default). -X wins over this.
            "message.max.bytes": client_max,
            "message.timeout.ms": DELIVERY_TIMEOUT_MS,
            "delivery.report.only.error": True,
            "on_delivery": failures,
        })
        partitions = broker.topic_metadata(producer, bootstrap, topic, timeout).partitions
    except KeyboardInterrupt as exc:  # before the first message: at most the topic was asked for
        return ProduceResult(topic, 0, 0, (), time.monotonic() - started, True, signum=signal_of(exc))
    if partition is not None:
        broker.check_partition(topic, partition, len(partitions))
    sender = _JsonSender if fmt == "json" else _Sender
    send = sender(
        producer, topic, partition=partition, key_separator=key_separator, headers=list(headers), failures=failures,
        check=signals.check,
    )
    count = 0
    stop: BaseException | None = None
    bad: InvalidRecord | None = None
    with _fewer_collections():
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


# --- consume -----------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class ConsumeResult:
    topic: str
    messages: int
    seconds: float
    stopped: Stop  # the end of the partitions, --max, --timeout, Ctrl-C, or the output was closed
    group: str | None
    committed: bool  # the group's offsets were committed (after the last message written)
    signum: int | None = None  # interrupted: by this signal (SIGINT, SIGTERM, SIGHUP)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def consume_to(
    bootstrap: str, topic: str, out: BinaryIO, *, fmt: Format = "value", from_beginning: bool = False,
    group: str | None = None, max_messages: int | None = None, follow: bool = False,
    partition: int | None = None, offset: int | None = None, timeout: float | None = None,
    key_separator: bytes = b"\t", from_time: int | None = None,
    on_offline: Callable[[list[int]], None] | None = None,
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
    """
    if group is not None and (partition is not None or offset is not None):
        raise ValueError("partition and offset are for consuming without a group")
    if from_time is not None and (offset is not None or from_beginning):
        raise ValueError("from_time is a start of its own: not with offset or from_beginning")
    broker.probe(bootstrap)
    consumer = broker.command_client("consumer", bootstrap, {
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
        with _fewer_collections():
            return run.loop(out, renderer(fmt, key_separator), max_messages, timeout)
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
        meta = broker.topic_metadata(consumer, self.bootstrap, topic)
        partitions = sorted(meta.partitions)
        if partition is not None and self.group is None:
            broker.check_partition(topic, partition, len(partitions))
            partitions = [partition]
        self.offline = set(broker.offline_partitions(meta)) & set(partitions)
        partitions = [p for p in partitions if p not in self.offline]
        if from_time is not None and partitions:
            self.at_time = self._offsets_at(partitions, from_time)
        if self.group is not None:
            consumer.subscribe([topic], on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_revoke)
            return
        starts = []
        for p in partitions:
            try:
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=broker.REQUEST_TIMEOUT)
            except KafkaException as exc:
                raise broker.request_failed(exc.args[0], self.bootstrap, f"Offsets of {topic}") from None
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
                [TopicPartition(self.topic, p, when) for p in partitions], timeout=broker.REQUEST_TIMEOUT,
            )
        except KafkaException as exc:
            raise broker.request_failed(exc.args[0], self.bootstrap, f"Offsets of {self.topic}") from None
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
                raise broker.request_failed(error, self.bootstrap, f"Consuming {self.topic}")
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
            raise broker.request_failed(exc.args[0], self.bootstrap, what) from None
        return True
