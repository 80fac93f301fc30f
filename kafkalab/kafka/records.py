"""Records of `kafkalab produce` and `kafkalab consume`, without Kafka: the options' parsers
(parse_pairs, parse_time, unescape_separator), input split into lines and keys, a JSON line as a
record (parse_record), messages rendered as output (renderer), and fewer_collections, which both
hot loops run in.

May import: kafkalab.errors only (no confluent_kafka).
"""

from __future__ import annotations

import base64
import contextlib
import gc
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Literal

from kafkalab.errors import KafkaRequestError

Format = Literal["value", "kv", "json"]


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
            hint = f"Give --follow (with --offset {high}, or without --offset) to wait for its next message."
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
    given = timestamp = data.get("timestamp")
    if isinstance(timestamp, str):
        timestamp = parse_time(timestamp, durations=False)
    elif timestamp is not None and (isinstance(timestamp, bool) or not isinstance(timestamp, int)):
        raise ValueError(f'its "timestamp" {timestamp!r} is neither milliseconds since the epoch nor ISO 8601')
    if timestamp is not None and timestamp <= 0:  # the producer would send 0 as "now"; Kafka refuses less
        raise ValueError(f'its "timestamp" {given!r} is not after 1970-01-01T00:00:00Z (leave it out to send '
                         "the time of sending)")
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
def fewer_collections(threshold: int = 100_000) -> Iterator[None]:
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
