"""The pure logic of produce and consume: line splitting, keys, offsets, output formats, summaries."""

from __future__ import annotations

import base64
import io
import json
import os
from typing import Any

import pytest

from kafkalab.cli import render
from kafkalab.errors import BrokerUnreachable, GroupNotFound, KafkaRequestError, TopicNotFound
from kafkalab.kafka import cluster, consume, produce, produce_target, records, requests, topics


class FakeMessage:
    """What consume() returns, with the accessors the renderers use."""

    def __init__(
        self, value: bytes | None, key: bytes | None = None, *, partition: int = 0, offset: int = 0,
        timestamp: tuple[int, int] = (1, 1_700_000_000_000), headers: list[tuple[str, bytes | None]] | None = None,
    ) -> None:
        self._value, self._key, self._partition, self._offset = value, key, partition, offset
        self._timestamp, self._headers = timestamp, headers

    def topic(self) -> str:
        return "orders"

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def timestamp(self) -> tuple[int, int]:
        return self._timestamp

    def key(self) -> bytes | None:
        return self._key

    def value(self) -> bytes | None:
        return self._value

    def headers(self) -> list[tuple[str, bytes | None]] | None:
        return self._headers

    def error(self) -> None:
        return None


@pytest.mark.parametrize(("rest", "chunk", "lines", "tail"), [
    (b"", b"a\nb\nc", [b"a", b"b"], b"c"),
    (b"", b"a\nb\n", [b"a", b"b"], b""),
    (b"pa", b"rt\nnext", [b"part"], b"next"),
    (b"x", b"y", [], b"xy"),
    (b"", b"\n\n", [b"", b""], b""),
    # A \r before the newline goes with it, as kcat strips it; any other \r stays.
    (b"", b"crlf\r\n", [b"crlf"], b""),
    (b"", b"a\r\nb\nc\rd\r\n\r\n\re\r", [b"a", b"b", b"c\rd", b""], b"\re\r"),
    (b"split\r", b"\nnext\r\n", [b"split", b"next"], b""),  # the \r at the end of one read, the \n in the next
    (b"", b"mixed\nlines\r\n", [b"mixed", b"lines"], b""),
])
def test_split_lines_keeps_the_incomplete_tail(rest: bytes, chunk: bytes, lines: list[bytes], tail: bytes) -> None:
    assert records.split_lines(rest, chunk) == (lines, tail)


def test_keyed_splits_at_the_first_separator() -> None:
    lines = [b"k1:v1", b"k2:v:with:colons", b"no separator", b":empty key", b"k3:"]
    assert records.keyed(lines, b":") == [
        (b"k1", b"v1"), (b"k2", b"v:with:colons"), (None, b"no separator"), (b"", b"empty key"), (b"k3", b""),
    ]
    assert records.keyed([b"k\t\xffv"], b"\t") == [(b"k", b"\xffv")]
    assert records.keyed([b"a::b"], b"::") == [(b"a", b"b")]


def test_parse_pairs_keeps_order_and_equals_signs_in_values() -> None:
    assert records.parse_pairs(["a=1", "b=x=y", "a=2", "c="]) == [("a", "1"), ("b", "x=y"), ("a", "2"), ("c", "")]
    with pytest.raises(ValueError, match=r"^'retention\.ms' is not KEY=VALUE\.$"):
        records.parse_pairs(["retention.ms"])
    with pytest.raises(ValueError, match=r"^'=1' is not KEY=VALUE\.$"):
        records.parse_pairs(["=1"])


def test_unescape_separator() -> None:
    assert records.unescape_separator("\\t") == b"\t"
    assert records.unescape_separator(":") == b":"
    assert records.unescape_separator("::") == b"::"
    assert records.unescape_separator("é") == "é".encode()
    with pytest.raises(ValueError, match="empty"):
        records.unescape_separator("")


@pytest.mark.parametrize(("offset", "from_beginning", "expected"), [
    (None, False, 110),
    (None, True, 100),
    (100, False, 100),
    (105, False, 105),
    (110, False, 110),  # the end: wait for the next message
    (-1, False, 109),
    (-10, False, 100),
])
def test_start_offset(offset: int | None, from_beginning: bool, expected: int) -> None:
    assert records.start_offset("t", 0, offset, from_beginning=from_beginning, low=100, high=110) == expected


@pytest.mark.parametrize("offset", [99, 111, -11])
def test_start_offset_out_of_range_says_what_is_stored(offset: int) -> None:
    with pytest.raises(KafkaRequestError) as caught:
        records.start_offset("t", 2, offset, from_beginning=False, low=100, high=110)
    assert caught.value.message == (
        f"Offset {offset} is out of range for t partition 2: offsets 100 to 109 are stored."
    )
    assert caught.value.hint == "Give an offset from 100 to 110, or from -10 to -1 to count back from the end."


def test_start_offset_on_an_empty_partition() -> None:
    with pytest.raises(KafkaRequestError) as caught:
        records.start_offset("t", 0, 3, from_beginning=False, low=7, high=7)
    assert caught.value.message == "Offset 3 is out of range for t partition 0: it is empty."
    assert caught.value.hint == "Give --follow (with --offset 7, or without --offset) to wait for its next message."


class _EmptyPartitionConsumer:
    def get_watermark_offsets(self, _tp: Any, timeout: float) -> tuple[int, int]:
        return 5, 5

    def assign(self, _parts: Any) -> None:
        pass


def test_what_the_hint_of_an_empty_partition_says_waits_for_its_next_message(monkeypatch: pytest.MonkeyPatch) -> None:
    meta = type("Meta", (), {"partitions": {0: type("P", (), {"id": 0, "leader": 1})()}})()
    monkeypatch.setattr(consume, "topic_metadata", lambda *_a, **_k: meta)
    run = consume._Consume(_EmptyPartitionConsumer(), "h:1", "t", None, follow=False)
    with pytest.raises(KafkaRequestError) as refused:
        run.start(0, 3, False)
    assert refused.value.hint.startswith("Give --follow (with --offset 5, ")
    for offset in (5, None):  # what the hint says to give, with --follow
        run = consume._Consume(_EmptyPartitionConsumer(), "h:1", "t", None, follow=True)
        run.start(0, offset, False)
        assert not run.done()


def test_check_partition() -> None:
    topics.check_partition("t", 2, 3)
    with pytest.raises(KafkaRequestError) as caught:
        topics.check_partition("t", 3, 3)
    assert caught.value.message == "Topic t has no partition 3: it has partitions 0 to 2."
    with pytest.raises(KafkaRequestError) as caught:
        topics.check_partition("t", 1, 1)
    assert caught.value.message == "Topic t has no partition 1: it has partition 0."


def test_text_or_base64() -> None:
    assert records.text_or_base64(None) is None
    assert records.text_or_base64(b"") == ""
    assert records.text_or_base64("grüße".encode()) == "grüße"
    raw = b"\xff\x00\xfe"
    assert records.text_or_base64(raw) == {"base64": base64.b64encode(raw).decode()}


def test_json_record_has_the_documented_fields_in_order() -> None:
    message = FakeMessage(b"\xffbin", b"k", partition=2, offset=41, headers=[("a", b"1"), ("a", None), ("b", b"\xfe")])
    record = records.json_record(message)
    assert list(record) == ["topic", "partition", "offset", "timestamp", "key", "value", "headers"]
    assert record == {
        "topic": "orders", "partition": 2, "offset": 41, "timestamp": 1_700_000_000_000, "key": "k",
        "value": {"base64": "/2Jpbg=="}, "headers": [["a", "1"], ["a", None], ["b", {"base64": "/g=="}]],
    }
    bare = records.json_record(FakeMessage(None, timestamp=(0, -1)))
    assert (bare["timestamp"], bare["key"], bare["value"], bare["headers"]) == (None, None, None, [])


def test_renderers() -> None:
    messages = [FakeMessage(b"v1", b"k1"), FakeMessage(None, None), FakeMessage(b"v3", None)]
    assert records.renderer("value")(messages) == b"v1\n\nv3\n"
    assert records.renderer("kv")(messages) == b"k1\tv1\n\t\n\tv3\n"
    assert records.renderer("kv", b" = ")(messages) == b"k1 = v1\n = \n = v3\n"
    lines = records.renderer("json")(messages).decode().splitlines()
    assert [json.loads(line)["value"] for line in lines] == ["v1", None, "v3"]
    assert lines[0] == (
        '{"topic":"orders","partition":0,"offset":0,"timestamp":1700000000000,"key":"k1","value":"v1","headers":[]}'
    )
    assert records.render_values([]) == b""


def test_produce_result() -> None:
    result = produce.ProduceResult("t", 1000, 10, (("Broker: Message size too large", 10),), 2.0)
    assert (result.delivered, result.rate) == (990, 495.0)
    assert result.to_dict()["errors"] == {"Broker: Message size too large": 10}
    assert produce.ProduceResult("t", 0, 0, (), 0.0).rate == 0.0


class SizeError:
    """A delivery report's error: the broker refused the message as too large."""

    def code(self) -> int:
        from confluent_kafka import KafkaError

        return KafkaError.MSG_SIZE_TOO_LARGE

    def str(self) -> str:
        return "Broker: Message size too large"


class Delivered:
    def __init__(self, value: bytes | None, key: bytes | None = None) -> None:
        self._value, self._key = value, key

    def value(self) -> bytes | None:
        return self._value

    def key(self) -> bytes | None:
        return self._key


def test_failures_count_by_error() -> None:
    failures = produce._Failures()
    failures(None, object())  # a success (never called with delivery.report.only.error, but harmless)
    failures(SizeError(), Delivered(b"x" * 300))
    failures.add("Local: Message timed out", 2)
    assert failures.count == 3
    assert failures.by_error.most_common() == [("Local: Message timed out", 2), ("Broker: Message size too large", 1)]


def test_a_message_too_large_is_said_with_its_size_and_the_limit() -> None:
    from confluent_kafka import KafkaError, KafkaException

    broker_refused = produce._Failures("small", topic_max=200, client_max=1_000_000)
    broker_refused(SizeError(), Delivered(b"x" * 500, b"k"))
    broker_refused(SizeError(), Delivered(b"x" * 300))
    broker_refused.add("Local: Message timed out")
    assert broker_refused.errors() == (
        ("Broker: Message size too large: the largest message the broker refused was 501 bytes (key and value); "
         "topic small takes record batches of at most 200 bytes (max.message.bytes)", 2),
        ("Local: Message timed out", 1),
    )
    client_refused = produce._Failures("big", topic_max=3_000_000, client_max=3_000_000)
    client_refused.refused(KafkaException(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE)), 3_100_000)
    assert client_refused.errors() == ((
        "Message size too large: the largest message refused before sending was 3,100,000 bytes (key and value); "
        "the producer sends at most 3,000,000 bytes (message.max.bytes)", 1),
    )
    unknown = produce._Failures("t")
    unknown(SizeError(), Delivered(None, b"k" * 10))
    assert unknown.errors()[0][0].endswith(
        "was 10 bytes (key and value); topic t takes less (max.message.bytes; the cluster does not say how much)",
    )


def test_summaries(capsys: pytest.CaptureFixture[str]) -> None:
    render.produce_summary(produce.ProduceResult("t", 1000, 0, (), 0.5))
    render.produce_summary(produce.ProduceResult("t", 3, 3, (("Broker: Message size too large", 3),), 0.25))
    render.consume_summary(consume.ConsumeResult("t", 1, 0.125, "end", None, False))
    render.consume_summary(consume.ConsumeResult("t", 1234, 2.0, "interrupted", "g", True))
    render.consume_summary(consume.ConsumeResult("t", 0, 1.0, "timeout", "g", True))
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "Produced 1,000 messages to t in 0.50 s (2,000 msg/s).\n"
        "Produced 0 messages to t in 0.25 s (0 msg/s).\n"
        "3 of 3 messages failed:\n"
        "  Broker: Message size too large (3)\n"
        "Consumed 1 message from t in 0.12 s.\n"
        "Consumed 1,234 messages from t in 2.00 s. Interrupted. Committed the offsets of group g.\n"
        "Consumed 0 messages from t in 1.00 s. No message came for the timeout: stopped.\n"
    )


def test_request_failed_maps_error_codes_to_typed_errors() -> None:
    from confluent_kafka import KafkaError

    def mapped(code: int) -> Any:
        return requests.request_failed(KafkaError(code), "h:1", "Doing it")

    assert isinstance(mapped(KafkaError._TRANSPORT), BrokerUnreachable)
    assert isinstance(mapped(KafkaError._TIMED_OUT), BrokerUnreachable)
    assert isinstance(mapped(KafkaError.UNKNOWN_TOPIC_OR_PART), TopicNotFound)
    assert mapped(KafkaError.UNKNOWN_TOPIC_OR_PART).message == "Doing it: the topic does not exist at h:1."
    assert isinstance(mapped(KafkaError.GROUP_ID_NOT_FOUND), GroupNotFound)
    refused = mapped(KafkaError.INVALID_CONFIG)
    assert type(refused) is KafkaRequestError
    assert refused.message.startswith("Doing it: ") and refused.message.endswith(".")
    assert not refused.message.endswith("..")


def test_probe_refused_is_unreachable_at_once() -> None:
    import socket
    import time

    with socket.socket() as sock:  # bound, not listening: connections to it are refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(BrokerUnreachable) as caught:
            cluster.check_reachable(f"127.0.0.1:{port}")
    assert time.monotonic() - started < 1
    assert caught.value.message == f"No Kafka broker answered at 127.0.0.1:{port}: connection refused."
    cluster.check_reachable("not an address")  # left to librdkafka


def test_probe_passes_when_one_address_listens() -> None:
    import socket

    with socket.socket() as listening, socket.socket() as closed:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        closed.bind(("127.0.0.1", 0))
        cluster.check_reachable(f"127.0.0.1:{closed.getsockname()[1]},PLAINTEXT://127.0.0.1:{listening.getsockname()[1]}")


class Pipe(io.RawIOBase):
    """stdout as a pipe whose reader leaves (`| head`) after `accepts` writes; logs into `events`."""

    def __init__(self, events: list[Any], accepts: int) -> None:
        self.events, self.accepts = events, accepts

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self.accepts == 0:
            self.accepts = -1  # once: a later flush, when the writer is collected, finds nowhere to fail
            raise BrokenPipeError(32, "Broken pipe")
        if self.accepts > 0:
            self.accepts -= 1
            self.events.append(("written", bytes(data)))
        return len(data)


class EndOfPartition:
    """The event consume() returns at the end of partition 0."""

    def partition(self) -> int:
        return 0

    def error(self) -> Any:
        from confluent_kafka import KafkaError

        return KafkaError(KafkaError._PARTITION_EOF)


class FakeConsumer:
    """Hands out the given batches, one per consume(), and logs store_offsets() and commit()."""

    def __init__(self, events: list[Any], batches: list[list[FakeMessage]]) -> None:
        self.events, self.batches = events, batches
        self.next_offset = 0

    def consume(self, _count: int, _timeout: float) -> list[Any]:
        if not self.batches:
            return [EndOfPartition()]
        batch = self.batches.pop(0)
        self.next_offset += len(batch)
        return batch

    def store_offsets(self, offsets: list[Any]) -> None:
        self.events.append(("stored", [(tp.partition, tp.offset) for tp in offsets]))

    def position(self, partitions: list[Any]) -> list[Any]:
        from confluent_kafka import TopicPartition

        return [TopicPartition(tp.topic, tp.partition, self.next_offset) for tp in partitions]

    def commit(self, asynchronous: bool) -> None:
        self.events.append(("committed", asynchronous))


def _messages(first: int, count: int) -> list[FakeMessage]:
    return [FakeMessage(f"m{i}".encode(), offset=i) for i in range(first, first + count)]


def test_with_a_group_only_what_reached_the_reader_is_committed() -> None:
    events: list[Any] = []
    consumer = FakeConsumer(events, [_messages(0, 2), _messages(2, 3)])
    run = consume._Consume(consumer, "h:1", "orders", "g", follow=False)
    run.assigned, run.pending = True, {0}
    out = io.BufferedWriter(Pipe(events, accepts=1))  # the reader leaves after the first batch
    result = run.loop(out, records.render_values, None, None)  # type: ignore[arg-type]
    assert (result.stopped, result.committed) == ("closed", True)
    # The first batch left the buffer before its offsets were stored; the second never reached
    # the reader, and is not stored: the commit is of m0 and m1 only.
    assert events == [("written", b"m0\nm1\n"), ("stored", [(0, 2)]), ("committed", False)]


def test_without_a_group_the_output_stays_buffered() -> None:
    events: list[Any] = []
    consumer = FakeConsumer(events, [_messages(0, 2), _messages(2, 3)])
    run = consume._Consume(consumer, "h:1", "orders", None, follow=False)
    run.assigned, run.pending, run.ends = True, {0}, {0: 5}
    out = io.BufferedWriter(Pipe(events, accepts=1))
    result = run.loop(out, records.render_values, None, None)  # type: ignore[arg-type]
    assert (result.stopped, result.messages, result.committed) == ("end", 5, False)
    assert events == [("written", b"m0\nm1\nm2\nm3\nm4\n")]  # one write, at the end


class FakeProducer:
    """Records produce() calls; refuses some: a full queue once (BufferError), too large for good."""

    def __init__(self, full_once: set[bytes], too_large: set[bytes]) -> None:
        self.full_once, self.too_large = set(full_once), too_large
        self.sent: list[tuple[Any, ...]] = []
        self.polls = 0

    def produce(self, topic: str, value: bytes, key: bytes | None = None, partition: int = -1, **kw: Any) -> None:
        from confluent_kafka import KafkaError, KafkaException

        if value in self.full_once:
            self.full_once.discard(value)
            raise BufferError("Local: Queue full")
        if value in self.too_large:
            raise KafkaException(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE))
        self.sent.append((topic, value, key, partition, kw.get("headers")))

    def poll(self, _timeout: float) -> int:
        self.polls += 1
        return 0

    def __len__(self) -> int:
        return 0


@pytest.mark.parametrize(("partition", "separator", "headers"), [
    (None, None, []), (2, None, []), (None, b":", []), (None, None, [("h", b"v")]),
])
def test_sender_retries_a_full_queue_in_order_and_counts_refusals(
    partition: int | None, separator: bytes | None, headers: list[tuple[str, bytes]],
) -> None:
    producer = FakeProducer(full_once={b"v2", b"v5"}, too_large={b"v3"})
    failures = produce._Failures()
    send = produce._Sender(
        producer, "t", partition=partition, key_separator=separator, headers=headers, failures=failures,
    )
    send([b"v1", b"v2", b"v3"])
    send([b"v4", b"v5"])
    target = -1 if partition is None else partition
    assert [(value, p) for _, value, _, p, _ in producer.sent] == [(v, target) for v in (b"v1", b"v2", b"v4", b"v5")]
    assert [h for *_, h in producer.sent] == [headers or None] * 4
    assert failures.by_error.most_common() == [("Broker: Message size too large", 1)]
    assert producer.polls >= 4  # once per call, and once for each full queue


# --- produce_lines: what it reads, when it stops, what it leaves alone ----------------------------

class Chunks(io.RawIOBase):
    """Input that arrives in the given reads; `at` runs once before the read of that number (from 0)."""

    def __init__(self, chunks: list[bytes], at: dict[int, Any] | None = None) -> None:
        self.chunks, self.at, self.reads = list(chunks), at or {}, 0

    def read(self, _size: int = -1) -> bytes:
        action = self.at.get(self.reads)
        self.reads += 1
        if action is not None:
            action()
        return self.chunks.pop(0) if self.chunks else b""


class QueueProducer(FakeProducer):
    """A producer that delivers on flush(); `on_produce` runs at the given produce() call (from 1)."""

    def __init__(self, on_produce: dict[int, Any] | None = None) -> None:
        super().__init__(set(), set())
        self.on_produce = on_produce or {}

    def produce(self, topic: str, value: bytes, key: bytes | None = None, partition: int = -1, **kw: Any) -> None:
        super().produce(topic, value, key, partition, **kw)
        action = self.on_produce.get(len(self.sent))
        if action is not None:
            action()

    def flush(self, _timeout: float | None = None) -> int:
        return 0


@pytest.fixture
def fake_kafka(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """broker's calls of produce_lines, recorded: asked_for lists the topics asked for (and maybe created)."""
    seen: dict[str, Any] = {"asked_for": [], "probed": 0, "producer": QueueProducer()}

    def target(_bootstrap: str, topic: str, _timeout: float = 5) -> produce_target.ProduceTarget:
        seen["asked_for"].append(topic)
        return produce_target.ProduceTarget(topic, 1, False)

    def probe(_bootstrap: str, _timeout: float = 1) -> None:
        seen["probed"] += 1

    monkeypatch.setattr(produce, "produce_target", target)
    monkeypatch.setattr(produce, "check_reachable", probe)
    monkeypatch.setattr(produce, "command_client", lambda *_a, **_k: seen["producer"])
    return seen


@pytest.mark.parametrize(("fmt", "data", "bad"), [
    ("line", b"", None),
    ("json", b"", None),
    ("json", b"\n  \n\r\n", None),  # blank lines are no records
    ("json", b"\n{\"value\": 1.5, \"vaule\": 2}\n{\"value\": \"v\"}\n",
     "Line 2 is not a record: it has a field 'vaule'; a record has key, value, headers, partition, timestamp."),
    ("json", b"not json\n", "Line 1 is not a record: it is not JSON (Expecting value: line 1 column 1 (char 0))."),
])
def test_input_without_a_message_or_with_a_bad_first_record_asks_for_no_topic(
    fake_kafka: dict[str, Any], fmt: produce.Input, data: bytes, bad: str | None,
) -> None:
    result = produce.produce_lines("h:1", "t", io.BytesIO(data), fmt=fmt)
    assert (result.messages, result.interrupted) == (0, False)
    assert (result.bad_record.message if result.bad_record else None) == bad
    assert fake_kafka["asked_for"] == [], "the topic would be created"
    assert fake_kafka["probed"] == 1, "an unreachable broker is still an error"
    assert fake_kafka["producer"].sent == []


def test_empty_lines_are_empty_messages_unless_skipped(fake_kafka: dict[str, Any]) -> None:
    data = b"a\r\n\r\nb\n\n\nc"
    assert produce.produce_lines("h:1", "t", io.BytesIO(data)).messages == 6
    assert [v for _, v, *_ in fake_kafka["producer"].sent] == [b"a", b"", b"b", b"", b"", b"c"]
    fake_kafka["producer"].sent.clear()
    assert produce.produce_lines("h:1", "t", io.BytesIO(data), skip_empty=True).messages == 3
    assert [v for _, v, *_ in fake_kafka["producer"].sent] == [b"a", b"b", b"c"]
    fake_kafka["producer"].sent.clear()
    assert produce.produce_lines("h:1", "t", io.BytesIO(b"\n\n"), skip_empty=True).messages == 0
    assert fake_kafka["asked_for"] == ["t", "t"], "only empty lines: nothing to send, no topic asked for"


@pytest.fixture
def term_raises() -> Any:
    """SIGTERM raises Terminated, as the CLI has it (cli.work_begins); Python's own handler after."""
    import signal

    from kafkalab.cli.app import raise_terminated

    before = signal.signal(signal.SIGTERM, raise_terminated)
    yield lambda: os.kill(os.getpid(), signal.SIGTERM)
    signal.signal(signal.SIGTERM, before)


def test_a_signal_while_reading_stops_with_what_was_read_sent(fake_kafka: dict[str, Any], term_raises: Any) -> None:
    source = Chunks([b"1\n2\n", b"3\n", b"never\n"], at={2: term_raises})
    result = produce.produce_lines("h:1", "t", source)
    assert (result.messages, result.delivered, result.interrupted, result.signum) == (3, 3, True, 15)
    assert [v for _, v, *_ in fake_kafka["producer"].sent] == [b"1", b"2", b"3"]


def test_a_signal_while_sending_is_held_till_the_block_is_sent(fake_kafka: dict[str, Any], term_raises: Any) -> None:
    fake_kafka["producer"] = QueueProducer(on_produce={2: term_raises})
    result = produce.produce_lines("h:1", "t", Chunks([b"1\n2\n3\n4\n", b"not read\n"]))
    assert (result.messages, result.interrupted, result.signum) == (4, True, 15)
    assert len(fake_kafka["producer"].sent) == 4


def test_a_signal_before_any_input_asks_for_no_topic(fake_kafka: dict[str, Any], term_raises: Any) -> None:
    result = produce.produce_lines("h:1", "t", Chunks([b"1\n"], at={0: term_raises}))
    assert (result.messages, result.interrupted, result.signum) == (0, True, 15)
    assert fake_kafka["asked_for"] == []


def test_the_signals_are_given_back() -> None:
    import signal

    before = [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)]
    with produce._Signals():
        assert signal.getsignal(signal.SIGINT) != before[0]
    assert [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)] == before


# --- every branch of the hot loops (consume._Consume.loop, produce._produce, the senders) -------------

class Polled(FakeMessage):
    """What consume() returns, a message or (with `code`, a librdkafka error code) an error event,
    of one class, as confluent-kafka's Message is: the loop calls that class's error() on each."""

    def __init__(self, value: bytes | None, *, offset: int = 0, code: int | None = None) -> None:
        super().__init__(value, offset=offset)
        self.code = code

    def error(self) -> Any:  # type: ignore[override]
        from confluent_kafka import KafkaError

        return None if self.code is None else KafkaError(self.code)


class SignalledConsumer(FakeConsumer):
    """A FakeConsumer on which SIGTERM arrives (Terminated) once its batches are handed out."""

    def consume(self, _count: int, _timeout: float) -> list[Any]:
        import signal

        from kafkalab.errors import Terminated

        if not self.batches:
            raise Terminated(signal.SIGTERM)
        return super().consume(_count, _timeout)


def test_consume_loop_waits_through_nothing_and_cuts_the_batch_at_max() -> None:
    events: list[Any] = []
    consumer = FakeConsumer(events, [[], [], _messages(0, 5)])  # two empty answers: nothing there yet
    run = consume._Consume(consumer, "h:1", "orders", None, follow=False)
    run.assigned, run.pending, run.ends = True, {0}, {0: 100}
    out = io.BufferedWriter(Pipe(events, accepts=10))
    result = run.loop(out, records.render_values, 3, None)  # type: ignore[arg-type]
    assert (result.stopped, result.messages, result.committed) == ("max", 3, False)
    assert events == [("written", b"m0\nm1\nm2\n")]


def test_consume_loop_following_without_a_group_writes_each_batch_and_stops_on_timeout() -> None:
    events: list[Any] = []
    consumer = FakeConsumer(events, [_messages(0, 2), _messages(2, 1)])  # then only end-of-partition events
    run = consume._Consume(consumer, "h:1", "orders", None, follow=True)
    run.assigned, run.pending = True, {0}  # no ends: following, it never looks for them
    out = io.BufferedWriter(Pipe(events, accepts=10))
    result = run.loop(out, records.render_values, None, 0.0)  # type: ignore[arg-type]
    assert (result.stopped, result.messages, result.committed) == ("timeout", 3, False)
    assert events == [("written", b"m0\nm1\n"), ("written", b"m2\n")]  # flushed batch by batch
    assert run.pending == set(), "the end-of-partition event was taken"


def test_consume_loop_a_signal_stops_it_and_commits_what_was_written() -> None:
    events: list[Any] = []
    consumer = SignalledConsumer(events, [_messages(0, 2)])
    run = consume._Consume(consumer, "h:1", "orders", "g", follow=True)
    run.assigned = True
    out = io.BufferedWriter(Pipe(events, accepts=10))
    result = run.loop(out, records.render_values, None, None)  # type: ignore[arg-type]
    assert (result.stopped, result.signum, result.messages, result.committed) == ("interrupted", 15, 2, True)
    assert events == [("written", b"m0\nm1\n"), ("stored", [(0, 2)]), ("committed", False)]


@pytest.mark.parametrize(("code", "error"), [
    ("UNKNOWN_TOPIC_OR_PART", TopicNotFound),  # the topic was deleted while it was read
    ("_UNKNOWN_PARTITION", KafkaRequestError),
    ("_TRANSPORT", None),  # passing trouble: librdkafka retries by itself, and the loop goes on
])
def test_consume_loop_error_events(code: str, error: type[Exception] | None) -> None:
    from confluent_kafka import KafkaError

    events: list[Any] = []
    consumer = FakeConsumer(events, [[Polled(b"m0"), Polled(None, code=getattr(KafkaError, code))]])
    run = consume._Consume(consumer, "h:1", "orders", None, follow=True)
    run.assigned = True
    out = io.BufferedWriter(Pipe(events, accepts=10))
    if error is not None:
        with pytest.raises(error):
            run.loop(out, records.render_values, None, 0.0)  # type: ignore[arg-type]
        assert events == []
    else:
        result = run.loop(out, records.render_values, None, 0.0)  # type: ignore[arg-type]
        assert (result.stopped, result.messages) == ("timeout", 1)
        assert events == [("written", b"m0\n")]


class FlushingProducer(QueueProducer):
    """A producer with left[0] messages undelivered; each flush() takes the next of `left` (what
    is still undelivered after it), and runs `on_flush` at the first."""

    def __init__(self, left: list[int], on_flush: Any = None) -> None:
        super().__init__()
        self.left, self.on_flush, self.flushes = list(left), on_flush, []

    def __len__(self) -> int:
        return self.left[0] if self.left else 0

    def flush(self, timeout: float | None = None) -> int:
        self.flushes.append(timeout)
        if self.on_flush is not None:
            self.on_flush, action = None, self.on_flush
            action()
        return self.left.pop(0) if self.left else 0


def test_produce_waits_for_every_delivery(fake_kafka: dict[str, Any]) -> None:
    fake_kafka["producer"] = FlushingProducer(left=[2, 1, 0])
    result = produce.produce_lines("h:1", "t", io.BytesIO(b"1\n2\n"))
    assert (result.messages, result.failed, result.interrupted) == (2, 0, False)
    assert fake_kafka["producer"].flushes == [0.5, 0.5, 0.5]


def test_a_signal_while_waiting_for_deliveries_counts_what_is_left(
    fake_kafka: dict[str, Any], term_raises: Any,
) -> None:
    fake_kafka["producer"] = FlushingProducer(left=[2, 1], on_flush=term_raises)
    result = produce.produce_lines("h:1", "t", io.BytesIO(b"1\n2\n"))
    assert (result.messages, result.failed, result.interrupted, result.signum) == (2, 1, True, 15)
    assert result.errors == (("not delivered before the end", 1),)
    assert fake_kafka["producer"].flushes == [0.5, produce.STOP_FLUSH]


def test_produce_to_a_created_topic_says_so(fake_kafka: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    created: list[int] = []
    monkeypatch.setattr(produce, "produce_target", lambda _b, topic, _t: produce_target.ProduceTarget(topic, 3, True))
    result = produce.produce_lines("h:1", "t", io.BytesIO(b"1\n"), on_created=created.append)
    assert (result.created_topic, created) == (True, [3])


def test_produce_to_a_partition_the_topic_lacks_sends_nothing(fake_kafka: dict[str, Any]) -> None:
    with pytest.raises(KafkaRequestError) as caught:
        produce.produce_lines("h:1", "t", io.BytesIO(b"1\n"), partition=1)
    assert caught.value.message == "Topic t has no partition 1: it has partition 0."
    assert fake_kafka["producer"].sent == []
    assert produce.produce_lines("h:1", "t", io.BytesIO(b"1\n"), partition=0).messages == 1
    assert [p for *_, p, _h in fake_kafka["producer"].sent] == [0]


def test_a_bad_record_after_good_ones_ends_the_input(fake_kafka: dict[str, Any]) -> None:
    data = b'{"value": "a"}\n\n{"value": "b"}\nnope\n{"value": "c"}\n'
    result = produce.produce_lines("h:1", "t", io.BytesIO(data), fmt="json")
    assert result.messages == 2
    assert result.bad_record is not None and result.bad_record.message.startswith("Line 4 is not a record:")
    assert [v for _, v, *_ in fake_kafka["producer"].sent] == [b"a", b"b"]


class BackloggedProducer(FakeProducer):
    """Holds `backlog` undelivered messages; each poll() delivers one."""

    def __init__(self, backlog: int) -> None:
        super().__init__(set(), set())
        self.backlog = backlog

    def poll(self, timeout: float) -> int:
        self.backlog -= 1
        return super().poll(timeout)

    def __len__(self) -> int:
        return self.backlog


def test_a_full_queue_waits_for_room_and_a_held_signal_ends_the_wait() -> None:
    from kafkalab.errors import Terminated

    checks: list[int] = []
    producer = BackloggedProducer(produce.QUEUE_MAX + 2)
    send = produce._Sender(producer, "t", partition=None, key_separator=None, headers=[],
                           failures=produce._Failures(), check=lambda: checks.append(1))
    assert send([b"a", b"b"]) == 2  # room for two once four were delivered: the first poll, then three more
    assert (len(checks), producer.backlog, len(producer.sent)) == (3, produce.QUEUE_MAX - 2, 2)

    def held() -> None:
        raise Terminated(15)

    stopped = produce._Sender(BackloggedProducer(produce.QUEUE_MAX + 5), "t", partition=None, key_separator=None,
                              headers=[], failures=produce._Failures(), check=held)
    with pytest.raises(Terminated):
        stopped([b"c"])
    assert stopped.producer.sent == [], "nothing of the batch is sent once a signal is held"


def test_json_sender_retries_a_full_queue_and_counts_refusals() -> None:
    producer = FakeProducer(full_once={b"v2"}, too_large={b"v3"})
    failures = produce._Failures()
    send = produce._JsonSender(producer, "t", partition=None, key_separator=None, headers=[("h", b"x")],
                               failures=failures)
    lines = [b'{"value": "v1"}', b"  ", b'{"value": "v2", "key": "k", "partition": 4}', b'{"value": "v3"}']
    assert send(lines) == 3
    assert [(v, k, p, h) for _, v, k, p, h in producer.sent] == [
        (b"v1", None, -1, [("h", b"x")]), (b"v2", b"k", 4, [("h", b"x")]),
    ]
    assert failures.by_error.most_common() == [("Broker: Message size too large", 1)]
    assert producer.polls == 2  # once for room, once for the full queue


def test_a_signal_while_the_topic_is_asked_for_sends_nothing(
    fake_kafka: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kafkalab.errors import Terminated

    def interrupted(*_args: Any) -> produce_target.ProduceTarget:
        raise Terminated(15)

    monkeypatch.setattr(produce, "produce_target", interrupted)
    result = produce.produce_lines("h:1", "t", io.BytesIO(b"1\n"))
    assert (result.messages, result.interrupted, result.signum) == (0, True, 15)
    assert fake_kafka["producer"].sent == []


def _refuse(_obj: Any) -> bytes:
    raise ValueError("the value does not match the schema of subject t-value: no value for id")


@pytest.mark.parametrize("fmt", ["line", "json"])
def test_a_first_value_the_schema_refuses_asks_for_no_topic(fake_kafka: dict[str, Any], fmt: produce.Input) -> None:
    line = b'\n{"value": {"nope": 1}}\n' if fmt == "json" else b'{"nope": 1}\n'
    result = produce.produce_lines("h:1", "t", io.BytesIO(line), fmt=fmt, encode_value=_refuse)
    assert result.bad_record is not None and result.messages == 0
    assert result.bad_record.message == f"Line {2 if fmt == 'json' else 1}: the value does not match the schema " \
                                        "of subject t-value: no value for id."
    assert fake_kafka["asked_for"] == [], "the topic would be created"
    assert fake_kafka["probed"] == 1


def test_skip_empty_keeps_the_line_numbers_of_json_records(fake_kafka: dict[str, Any]) -> None:
    data = b'{"value": "a"}\n\n\n{"value": "b", "bad": 1}\n'
    result = produce.produce_lines("h:1", "t", io.BytesIO(data), fmt="json", skip_empty=True)
    assert result.bad_record is not None and result.messages == 1
    assert result.bad_record.message.startswith("Line 4 is not a record: "), result.bad_record.message


def test_skip_empty_keeps_the_line_numbers_of_schema_values(fake_kafka: dict[str, Any]) -> None:
    def encode(obj: Any) -> bytes:
        if obj == "bad":
            raise ValueError("the value does not match")
        return obj.encode()

    data = b'\n"good"\n\n\n"bad"\n'
    result = produce.produce_lines("h:1", "t", io.BytesIO(data), skip_empty=True, encode_value=encode)
    assert result.bad_record is not None and result.messages == 1
    assert result.bad_record.message == "Line 5: the value does not match."
    assert [v for _, v, *_ in fake_kafka["producer"].sent] == [b"good"]
    # Without --skip-empty an empty line is no JSON value.
    result = produce.produce_lines("h:1", "t", io.BytesIO(data), encode_value=encode)
    assert result.bad_record is not None and result.bad_record.message.startswith("Line 1: the value is not JSON")


def test_input_of_empty_lines_skipped_asks_for_no_topic(fake_kafka: dict[str, Any]) -> None:
    result = produce.produce_lines("h:1", "t", io.BytesIO(b"\n\n"), skip_empty=True, encode_value=_refuse)
    assert (result.messages, result.bad_record) == (0, None)
    assert fake_kafka["asked_for"] == []
