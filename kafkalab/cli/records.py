"""produce and consume: messages between stdin/stdout and a topic, on the lab or any cluster.

May import: click, kafkalab.cli.{app,complete,options,render}, kafkalab.errors; kafkalab.kafka lazily
(the loops are kafkalab.kafka.produce's and kafkalab.kafka.consume's).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar

import click

from kafkalab.cli import complete, render
from kafkalab.cli.app import discard_stdout
from kafkalab.cli.options import bootstrap_option, bootstrap_servers, pairs_callback, separator_callback, time_callback
from kafkalab.errors import KafkaRequestError

F = TypeVar("F", bound=Callable[..., Any])

FORMATS = ("avro", "json-schema", "protobuf")  # kafkalab.schemas.serdes.RECORD_FORMATS, without importing it


def schema_options(command: str) -> Callable[[F], F]:
    """--key-format and --value-format; for produce also where the schema comes from (a file, a subject)."""
    def add(f: F) -> F:
        choices = FORMATS if command == "produce" else (*FORMATS, "auto")
        for field in ("value", "key") if command == "consume" else ():
            f = click.option(f"--{field}-format", type=click.Choice(choices),
                             help=f"Decode the {field}s in Confluent's wire format through the Schema Registry "
                                  "(auto: whatever is in it).")(f)
        if command == "produce":
            for field in ("value", "key"):
                f = click.option(f"--{field}-subject", metavar="SUBJECT",
                                 help=f"Encode the {field}s with this subject's latest schema.")(f)
                f = click.option(f"--{field}-schema", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                                 metavar="FILE", help=f"Encode the {field}s with this schema, registered under "
                                                      f"TOPIC-{field}.")(f)
                f = click.option(f"--{field}-format", type=click.Choice(choices),
                                 help=f"Encode each {field} (a JSON value) with a schema, in Confluent's wire "
                                      "format.")(f)
        return f
    return add


def _encoder(state: Any, topic: str, field: str, given: dict[str, Any]) -> Callable[[Any], bytes] | None:
    """The Encoder of produce's keys or values, or None when no --FIELD-format is given."""
    fmt, path, subject = given[f"{field}_format"], given[f"{field}_schema"], given[f"{field}_subject"]
    if fmt is None:
        if path is not None or subject is not None:
            raise click.UsageError(f"--{field}-schema and --{field}-subject need --{field}-format.")
        return None
    if (path is None) == (subject is None):
        raise click.UsageError(f"--{field}-format needs --{field}-schema FILE or --{field}-subject SUBJECT (one).")
    from kafkalab.kafka.contexts import resolve_registry
    from kafkalab.schemas.serdes import Encoder

    return Encoder(resolve_registry(state.flags), topic, field, fmt,  # type: ignore[arg-type]  # Choice checked
                   schema_file=path, subject=subject)



@click.command(short_help="Send one message per input line to a topic.")
@click.argument("topic", shell_complete=complete.topics)
@click.option("--key-separator", "-K", metavar="SEP", callback=separator_callback,
              help="Split each line at its first SEP into key and value (\\t for a tab).")
@click.option("--header", "-H", "headers", multiple=True, metavar="KEY=VALUE", callback=pairs_callback,
              help="A header for every message (repeatable).")
@click.option("--file", "-f", "path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Read this file instead of stdin.")
@click.option("--acks", type=click.Choice(["0", "1", "all"]), default="all", show_default=True,
              help="Acknowledgements each message waits for.")
@click.option("--partition", type=click.IntRange(min=0),
              help="Send every message to this partition (with --format json: those that name none).")
@click.option("--format", "fmt", type=click.Choice(["line", "json"]), default="line", show_default=True,
              help='line: each line is a value (or key and value, with -K); json: each line is a record, '
                   '{"key", "value", "headers", "partition", "timestamp"}, as `consume --format json` writes them.')
@click.option("--skip-empty", is_flag=True, help="Skip empty lines (without it, each is an empty message).")
@schema_options("produce")
@bootstrap_option
@click.pass_context
def produce(
    ctx: click.Context, /, *, topic: str, key_separator: bytes | None, headers: list[tuple[str, str]],
    path: Path | None, acks: Literal["0", "1", "all"], partition: int | None, fmt: Literal["line", "json"],
    skip_empty: bool, bootstrap_server: str | None, **schemas: Any,
) -> None:
    """Read lines from stdin (or --file) and send each as one message to TOPIC, then wait until
    every message is delivered. The count and rate go to stderr; the exit code is 13 when any
    message failed. A topic that does not exist is created when the broker's
    auto.create.topics.enable is true (as on the lab), with a note; else it is exit 12. Input
    with no message, or whose first record is refused, creates nothing.

    A line ends at a newline; a carriage return before it (CRLF) is removed (kcat keeps it). An
    empty line is an empty message; --skip-empty skips them. Ctrl-C, SIGTERM or SIGHUP stops the
    reading: what was read is delivered (for at most 10 s), the count printed is what the topic
    got, and the exit code is 130, 143 or 129.

    With --format json each line is a JSON record: "key", "value" (null: a tombstone; an object
    or a number is sent as its JSON text, exactly as written), "headers" (an object, or [name,
    value] pairs), "partition" and "timestamp" (ms, or ISO 8601); bytes that are not UTF-8 are
    {"base64": "..."}, as consume writes them. Blank lines are skipped. A line that is no record
    stops the input there (exit 19).

    With --value-format avro|json-schema|protobuf (and --key-format) each value (key) is one JSON
    value, encoded with a schema from the Schema Registry in Confluent's wire format: --value-schema
    FILE is registered under TOPIC-value (--key-schema: TOPIC-key), or --value-subject SUBJECT's
    latest version is used. With --format json the record's "value" ("key") is the JSON value. A
    value that does not match the schema stops the input there (exit 19, naming the line and the
    field). Protobuf needs `pip install 'kafkalab[protobuf]'`.

    \b
      seq 1000 | kafkalab produce numbers
      kafkalab produce orders -K : -H source=cli < orders.txt     # lines like id-1:{"total": 3}
      echo '{"key": "u1", "value": {"total": 3}, "headers": {"h": "v"}}' | kafkalab produce orders --format json
      kafkalab consume orders --from-beginning --format json | kafkalab produce orders-copy --format json
      echo '{"id": 1}' | kafkalab produce orders --value-format avro --value-schema order.avsc
    """
    from kafkalab.kafka.produce import produce_lines

    if fmt == "json" and key_separator is not None:
        raise click.UsageError("--key-separator is for --format line: a JSON record has its own key.")
    bootstrap = bootstrap_servers(ctx.obj, bootstrap_server)
    encode_key, encode_value = (_encoder(ctx.obj, topic, field, schemas) for field in ("key", "value"))
    encoded = [(k, os.fsencode(v)) for k, v in headers]
    with (path.open("rb") if path else contextlib.nullcontext(sys.stdin.buffer)) as source:
        if path is None and sys.stdin.isatty():
            one = "one JSON record per line" if fmt == "json" else "one per line"
            render.say(f"Reading messages from the terminal, {one}; end with Ctrl-D.")
        result = produce_lines(
            bootstrap, topic, source, key_separator=key_separator, headers=encoded, acks=acks, partition=partition,
            fmt=fmt, skip_empty=skip_empty, encode_key=encode_key, encode_value=encode_value,
            on_created=lambda partitions: render.say(
                f"Topic {topic} did not exist: the broker created it (auto.create.topics.enable), "
                f"with {render.plural(partitions, 'partition')}."
            ),
        )
    render.produce_summary(result)
    if result.bad_record is not None:
        raise result.bad_record
    if result.failed:
        raise KafkaRequestError(
            f"{result.failed:,} of {result.messages:,} messages were not delivered to {topic}.",
            f"The errors above say why; `kafkalab topic describe {topic}` shows its configs.",
        )
    if result.interrupted:
        ctx.exit(128 + (result.signum or signal.SIGINT))


@click.command(short_help="Print a topic's messages, one per line.")
@click.argument("topic", shell_complete=complete.topics)
@click.option("--from-beginning", is_flag=True,
              help="Start at the oldest message (default: new messages only; with --group, where it left off).")
@click.option("--group", "-g", metavar="GROUP", shell_complete=complete.groups,
              help="Read as a member of this consumer group, and commit.")
@click.option("-n", "--max", "max_messages", type=click.IntRange(min=1), metavar="N", help="Stop after N messages.")
@click.option("--follow", "-f", is_flag=True, help="Keep waiting for new messages (stop with Ctrl-C).")
@click.option("--format", "fmt", type=click.Choice(["value", "kv", "json"]), default="value", show_default=True,
              help="value: the value; kv: key, separator, value; json: one object per message.")
@click.option("--key-separator", "-K", metavar="SEP", default="\\t", show_default=True, callback=separator_callback,
              help="What separates key and value in --format kv.")
@click.option("--partition", type=click.IntRange(min=0), help="Only this partition.")
@click.option("--offset", type=int, help="Start at this offset of --partition; negative counts back from the end.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              help="Stop once no message came for this long.")
@click.option("--from-time", metavar="TIME", callback=time_callback,
              help="Start at the first message at or after TIME: ISO 8601 (2024-05-01T12:00:00Z), or a duration "
                   "back from now (30s, 10m, 2h, 1d). With --group, the group's position starts there.")
@schema_options("consume")
@bootstrap_option
@click.pass_context
def consume(
    ctx: click.Context, *, topic: str, from_beginning: bool, group: str | None, max_messages: int | None,
    follow: bool, fmt: Literal["value", "kv", "json"], key_separator: bytes, partition: int | None,
    offset: int | None, timeout: float | None, from_time: int | None, bootstrap_server: str | None,
    key_format: str | None, value_format: str | None,
) -> None:
    """Print the messages of TOPIC to stdout and stop at the end of its partitions (or after -n,
    or never with --follow). Ctrl-C, SIGTERM and SIGHUP stop cleanly (exit 130, 143, 129); with
    --group the offsets of what was printed are committed and the group is left. --format json
    prints topic, partition, offset, timestamp, key, value and headers; bytes that are not UTF-8
    become {"base64": "..."}. --from-time starts each partition at its first message at or after
    the time (its end when none is that late).

    --value-format avro|json-schema|protobuf|auto (and --key-format) decodes Confluent's wire
    format through the Schema Registry (the writer's schema, by its id): the value is printed as
    JSON, and with --format json as a JSON object. A message not in the wire format is printed as
    it is, with a note on stderr.

    \b
      kafkalab consume orders --from-beginning -n 10
      kafkalab consume orders -g billing --follow --format json | jq .value
      kafkalab consume orders --partition 0 --offset -5      # the last 5 of partition 0
      kafkalab consume orders --from-time 10m                # what came in the last 10 minutes
      kafkalab consume orders --from-beginning --value-format avro --format json
    """
    from kafkalab.kafka.consume import consume_to

    if offset is not None and partition is None:
        raise click.UsageError("--offset needs --partition.")
    starts = [name for name, given in (
        ("--offset", offset is not None), ("--from-beginning", from_beginning), ("--from-time", from_time is not None),
    ) if given]
    if len(starts) > 1:
        raise click.UsageError(f"Give {' or '.join(starts)}, not both." if len(starts) == 2 else
                               "Give one of --offset, --from-beginning or --from-time.")
    if group is not None and partition is not None:
        raise click.UsageError("--partition reads without a group: drop --group, or --partition.")
    bootstrap = bootstrap_servers(ctx.obj, bootstrap_server)
    decoding = None
    if key_format or value_format:  # the schema path: the plain renderer otherwise, as fast as it is
        from kafkalab.kafka.contexts import resolve_registry
        from kafkalab.schemas.serdes import Decoder, schema_renderer

        decoding = schema_renderer(
            fmt, key_separator, Decoder(resolve_registry(ctx.obj.flags), value_format or key_format or "auto"),  # type: ignore[arg-type]
            keys=key_format is not None, values=value_format is not None, on_note=render.say,
        )
    result = consume_to(
        bootstrap, topic, sys.stdout.buffer, fmt=fmt, render=decoding,
        from_beginning=from_beginning, group=group, max_messages=max_messages, follow=follow, partition=partition,
        offset=offset, timeout=timeout, key_separator=key_separator, from_time=from_time,
        on_offline=lambda offline: render.say(_offline_warning(topic, offline)),
    )
    if result.stopped == "closed":
        discard_stdout()
        return
    render.consume_summary(result)
    if result.stopped == "interrupted":
        ctx.exit(128 + (result.signum or signal.SIGINT))


def _offline_warning(topic: str, offline: list[int]) -> str:
    numbers = ", ".join(map(str, offline))
    which = f"partitions {numbers} of {topic} are offline (no broker leads them): they are" if len(offline) > 1 \
        else f"partition {numbers} of {topic} is offline (no broker leads it): it is"
    return f"Warning: {which} not read. `kafkalab topic describe {topic}` shows the partitions."
