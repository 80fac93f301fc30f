"""The `kafkalab` command: thin. Each command parses its options, calls `Lab`, and hands the result
to `render`. Errors are mapped to output and exit codes in one place, `KafkalabGroup.invoke`."""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import io
import os
import signal
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import click

from kafkalab import render
from kafkalab.errors import (
    STATUS_DEGRADED,
    STATUS_NOT_RUNNING,
    Aborted,
    Interrupted,
    KafkalabError,
    KafkaRequestError,
)
from kafkalab.modes import ALL_SERVICES, MODE_NAMES

if TYPE_CHECKING:
    from kafkalab.lab import Lab, Phase


@dataclasses.dataclass
class CliState:
    flags: dict[str, Any]
    verbose: bool
    debug: bool

    def lab(self, **flags: Any) -> Lab:
        from kafkalab.lab import Lab
        from kafkalab.settings import resolve

        settings = resolve({**self.flags, **{k: v for k, v in flags.items() if v is not None}})
        lab = Lab(settings, echo=render.command if self.verbose else None)
        work_begins()
        return lab


def work_begins() -> None:
    """From here on a Ctrl-C is a KeyboardInterrupt, which the command turns into what it left behind.

    Until then (Python's start, the imports, the options) kafkalab._console ends the process quietly:
    nothing was started. Every command that talks to Docker or Kafka calls this first.
    """
    with contextlib.suppress(ValueError):  # not the main thread: an application that embeds the CLI
        signal.signal(signal.SIGINT, signal.default_int_handler)


class KafkalabGroup(click.Group):
    """Maps every KafkalabError to two lines on stderr and its exit code; tracebacks only with --debug."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KafkalabError as exc:
            self._debug_traceback(ctx)
            render.error(exc)
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException):
            raise
        except click.exceptions.Abort:  # Ctrl-C or Ctrl-D at a [y/N] prompt: each asks before deleting
            render.error(Aborted("Nothing was deleted: the question was not answered."))
            ctx.exit(Aborted.exit_code)
        except BrokenPipeError:  # the reader of stdout left (`| head`): not an error
            _discard_stdout()
            ctx.exit(0)
        except KeyboardInterrupt:  # `up` says what it left (Interrupted); any other command may be half done
            render.error(Interrupted("Interrupted.", "It may have done part of its work: run it again to finish."))
            ctx.exit(130)
        except Exception as exc:  # a bug: say so in two lines, unless --debug asks for the traceback
            self._debug_traceback(ctx)
            render.error(KafkalabError(
                f"Unexpected {type(exc).__name__}: {exc}",
                "Run again with --debug and report the traceback.",
            ))
            ctx.exit(1)

    @staticmethod
    def _debug_traceback(ctx: click.Context) -> None:
        if "--debug" in sys.argv or (isinstance(ctx.obj, CliState) and ctx.obj.debug):
            traceback.print_exc()


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kafkalab")
    except PackageNotFoundError:
        return "0+unknown"


@click.group(cls=KafkalabGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="kafkalab", message="kafkalab %(version)s")
@click.option("--project-name", "-p", "project", metavar="NAME",
              help="Compose project name [KAFKALAB_PROJECT; default kafkalab].")
@click.option("--port", type=int, help="Host port of the EXTERNAL listener [KAFKALAB_PORT; default 9094].")
@click.option("--ui-port", type=int, help="Host port of kafka-ui [KAFKALAB_UI_PORT; default 8080].")
@click.option("--zookeeper-port", type=int,
              help="Host port of ZooKeeper, in zookeeper mode [KAFKALAB_ZOOKEEPER_PORT; default 2181].")
@click.option("-v", "--verbose", is_flag=True, help="Show each docker command as it runs.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.pass_context
def cli(
    ctx: click.Context, project: str | None, port: int | None, ui_port: int | None, zookeeper_port: int | None,
    verbose: bool, debug: bool,
) -> None:
    """A local Kafka for development: start it, check it, reset it, use it.

    \b
      kafkalab up                 # KRaft Kafka 4 + kafka-ui, ready on localhost:9094
      kafkalab status             # health of the lab
      kafkalab down --volumes     # reset
    """
    ctx.obj = CliState(
        {"project": project, "port": port, "ui_port": ui_port, "zookeeper_port": zookeeper_port}, verbose, debug,
    )


MODE = click.Choice(MODE_NAMES)
PULL = click.Choice(["missing", "never", "always"])
PHASES: dict[Phase, str] = {
    "preflight": "Checking Docker",
    "lock": "Waiting for another kafkalab to finish starting or stopping the lab",
    "pull": "Pulling images",
    "containers": "Starting containers",
    "broker": "Waiting for the broker to answer",
    "ui": "Waiting for kafka-ui to answer",
}


@cli.command(short_help="Start the lab and wait until it is ready.")
@click.option("--mode", type=MODE,
              help="kraft (default: Kafka 4, no ZooKeeper), zookeeper (the classic trio) or cluster (3 KRaft brokers).")
@click.option("--timeout", type=float, metavar="SECONDS", help="Readiness deadline [default 120].")
@click.option("--no-ui", is_flag=True, help="Do not start kafka-ui.")
@click.option("--pull", type=PULL, help="Image pull policy [default missing].")
@click.option("--no-wait", is_flag=True, help="Return once the containers are started.")
@click.option("--wait-ui", is_flag=True, help="Also wait until kafka-ui answers (it starts after the broker).")
@click.pass_obj
def up(
    state: CliState, mode: str | None, timeout: float | None, no_ui: bool, pull: str | None, no_wait: bool,
    wait_ui: bool,
) -> None:
    """Start the lab with Docker Compose: pull the images that are missing (with progress), start
    the containers, wait until the broker answers on localhost:9094, then print the status. kafka-ui
    is shown as starting until it answers; --wait-ui waits for it. The timeout starts after the pull.
    Running it again on a running lab is fine.

    \b
      kafkalab up
      kafkalab up --mode zookeeper --timeout 60 --wait-ui
    """
    lab = state.lab(mode=mode, timeout=timeout, pull=pull)
    # The pre-flight overlaps the import of python_on_whales, which is the critical path to
    # `docker compose up`: the spinner only shows for it when it is slow (a daemon that hangs).
    with render.progress(PHASES["preflight"], delay=1.0) as spinner:
        result = lab.up(
            ui=not no_ui, wait=not no_wait, wait_ui=wait_ui,
            on_phase=lambda phase: spinner.show(PHASES[phase], now=phase != "preflight"),
            on_pull=spinner.pulling,
        )
    for name in result.unpaused:
        render.note(f"Unpaused {name}: it was paused.")
    if result.already_running:
        render.note(f"The lab {lab.settings.project} is already running.")
    elif no_wait:
        render.note(f"Started in {result.seconds:.1f} s (not waiting until it is ready).")
    else:
        render.note(f"Ready in {result.seconds:.1f} s.")
    render.lab_status(result.status)


@cli.command(short_help="Pull the lab's images that are missing.")
@click.option("--mode", type=MODE, help="The mode whose images to pull [default: the mode setting].")
@click.option("--no-ui", is_flag=True, help="Not kafka-ui's image.")
@click.option("--always", is_flag=True, help="Pull every image, also those already here (newer layers).")
@click.pass_obj
def pull(state: CliState, mode: str | None, no_ui: bool, always: bool) -> None:
    """Pull the images of the lab's mode that are not on this machine, with progress, as `up` does
    first: so that CI can pull (and cache) them in a step of its own.

    \b
      kafkalab pull --mode cluster
    """
    lab = state.lab(mode=mode)
    services = [s for s in lab.compose.services if not (no_ui and s == "kafka-ui")]
    with render.progress(PHASES["pull"]) as spinner:
        pulled = lab.pull(services, always=always or None, on_pull=spinner.pulling)
    if not pulled:
        render.note("Every image is here already." if lab.settings.pull != "never" else
                    "Every image is here (the pull setting is never: nothing was asked of a registry).")


@cli.command(short_help="Show the health of the lab.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Each service's state and ports, the broker (bootstrap, cluster id, controller, brokers,
    topics, partitions) and the UI, and what is wrong. Exit 0 healthy, 20 not running or stopped
    (its containers all stopped, as after a reboot), 21 degraded (something runs, not all is well).

    \b
      kafkalab status --json | jq .state
    """
    result = ctx.obj.lab().status()
    try:
        render.emit(result, as_json, render.lab_status)
        sys.stdout.flush()
    except BrokenPipeError:  # `status | head -1`: the exit code still tells the state
        _discard_stdout()
    if result.state in ("not running", "stopped"):
        ctx.exit(STATUS_NOT_RUNNING)
    if result.state == "degraded":
        ctx.exit(STATUS_DEGRADED)


@cli.command(short_help="Stop and remove the lab.")
@click.option("--volumes", is_flag=True, help="Also delete the lab's data (its volumes, nothing else).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before deleting data.")
@click.pass_obj
def down(state: CliState, volumes: bool, yes: bool) -> None:
    """Stop and remove the lab's containers; --volumes deletes its data too. Safe to repeat.

    \b
      kafkalab down --volumes --yes
    """
    lab = state.lab()
    asked = volumes and not yes and sys.stdin.isatty()
    if asked and not click.confirm(f"Delete all data of the lab {lab.settings.project}?", err=True):
        raise Aborted("Nothing was deleted.")
    with render.progress("Stopping the lab"):
        result = lab.down(volumes=volumes)
    removed = render.plural(len(result.containers), "container")
    if volumes:
        removed += " and " + render.plural(len(result.volumes), "volume")
    render.note(f"Removed {removed} of {lab.settings.project}.")
    if result.foreign:
        render.note(f"Left alone: {', '.join(result.foreign)}, of a compose project that is not kafkalab's.")


@cli.command(short_help="Show the logs of the lab's containers.")
@click.argument("service", required=False, type=click.Choice(ALL_SERVICES))
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines.")
@click.option("--tail", type=click.IntRange(min=0), metavar="N", help="Only the last N lines of each container.")
@click.pass_obj
def logs(state: CliState, service: str | None, follow: bool, tail: int | None) -> None:
    """Print the logs of SERVICE (zookeeper, kafka, kafka-2, kafka-3 or kafka-ui), or of all of them.

    \b
      kafkalab logs kafka --tail 50 -f
    """
    for chunk in state.lab().logs(service, follow=follow, tail=tail):
        sys.stdout.write(chunk)
        sys.stdout.flush()


@cli.command(short_help="Show each setting and where it came from.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def config(state: CliState, as_json: bool) -> None:
    """Settings resolve from flags, then KAFKALAB_* variables, then the nearest config file, then
    defaults. The file is found as pytest and ruff find theirs: in the current directory, then in
    each parent up to the root, a pyproject.toml with a [tool.kafkalab] table (one without it is
    skipped) or a kafkalab.toml; pyproject.toml wins within one directory. Its settings show its
    path as their source.

    \b
      KAFKALAB_PORT=19094 kafkalab config
    """
    from kafkalab.settings import resolve

    rows = resolve({k: v for k, v in state.flags.items() if v is not None}).as_rows()
    if as_json:
        render.print_json({name: {"value": value, "source": source} for name, value, source in rows})
    else:
        render.table(None, ("setting", "value", "source"), rows)


# --- Kafka: topics, produce, consume, consumer groups -------------------------------------------
# These commands talk to Kafka only, never to Docker: to the lab's address, or to any cluster
# given with --bootstrap-server. The work is in kafkalab.broker and kafkalab.stream.

F = TypeVar("F", bound=Callable[..., Any])
# librdkafka refuses more in a new topic (broker.create_topic says so too, for the Python API).
MAX_PARTITIONS = 100_000
MAX_REPLICATION = 10_000


def bootstrap_option(f: F) -> F:
    return click.option(
        "--bootstrap-server", "-b", "bootstrap_server", metavar="HOST:PORT",
        help="The Kafka to use instead of the lab [KAFKALAB_BOOTSTRAP_SERVER; default: the lab, localhost:9094].",
    )(f)


def _bootstrap(state: CliState, bootstrap_server: str | None) -> str:
    """--bootstrap-server (or KAFKALAB_BOOTSTRAP_SERVER, or the config file's), checked; else the lab's
    address. Settings only: `Lab` would import the Docker side."""
    from kafkalab import broker
    from kafkalab.errors import BrokerUnreachable
    from kafkalab.settings import resolve

    work_begins()
    flags = {**state.flags, "bootstrap_server": bootstrap_server}
    settings = resolve({k: v for k, v in flags.items() if v is not None})
    given = settings.bootstrap_server if bootstrap_server is None else bootstrap_server  # -b '' is given
    if bootstrap_server is None and not given:
        return settings.with_recorded_mode().lab_bootstrap
    source = settings.sources.get("bootstrap_server", "flag")  # "flag", "env KAFKALAB_...", or a file
    if source == "flag":
        where = "--bootstrap-server"
    else:
        where = source.removeprefix("env ") if source.startswith("env ") else f"bootstrap_server in {source}"
    address = broker.parse_bootstrap(given, where)
    # Not the lab's address: were no broker to answer there, starting the lab would not help.
    click.get_current_context().with_resource(broker.unreachable_hint(BrokerUnreachable.hint_elsewhere))
    return address


def _pairs(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> list[tuple[str, str]]:
    from kafkalab.stream import parse_pairs

    try:
        return parse_pairs(values)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _separator(_ctx: click.Context, _param: click.Parameter, value: str | None) -> bytes | None:
    from kafkalab.stream import unescape_separator

    try:
        return None if value is None else unescape_separator(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@cli.group(short_help="Create, list, describe and delete topics.")
def topic() -> None:
    """Topics of the lab, or of any cluster with --bootstrap-server.

    \b
      kafkalab topic create orders -p 3
      kafkalab topic describe orders
    """


@topic.command("create", short_help="Create a topic.")
@click.argument("name")
@click.option("-p", "--partitions", type=click.IntRange(min=1, max=MAX_PARTITIONS), default=1, show_default=True,
              help="Partitions.")
@click.option("-r", "--replication", type=click.IntRange(min=1, max=MAX_REPLICATION), default=1, show_default=True,
              help="Replication factor (at most the number of brokers).")
@click.option("--config", "configs", multiple=True, metavar="KEY=VALUE", callback=_pairs,
              help="A topic config, such as retention.ms=3600000 (repeatable).")
@click.option("--if-not-exists", is_flag=True, help="Succeed when the topic exists already.")
@bootstrap_option
@click.pass_obj
def topic_create(
    state: CliState, *, name: str, partitions: int, replication: int, configs: list[tuple[str, str]],
    if_not_exists: bool, bootstrap_server: str | None,
) -> None:
    """Create topic NAME and wait until the broker serves it.

    \b
      kafkalab topic create orders -p 3 --config retention.ms=3600000
    """
    from kafkalab import broker

    created = broker.create_topic(
        _bootstrap(state, bootstrap_server), name, partitions, replication, dict(configs), if_not_exists=if_not_exists,
    )
    if created:
        render.say(f"Created topic {name} ({render.plural(partitions, 'partition')}, replication {replication}).")
    else:
        render.say(f"Topic {name} exists already.")


@topic.command("list", short_help="List the topics.")
@click.option("--all", "show_all", is_flag=True, help="Include Kafka's internal topics (__consumer_offsets, ...).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@bootstrap_option
@click.pass_obj
def topic_list(state: CliState, show_all: bool, as_json: bool, bootstrap_server: str | None) -> None:
    """The topics with their partitions and replication factor, by name.

    \b
      kafkalab topic list --json | jq -r '.[].name'
    """
    from kafkalab import broker

    found = broker.list_topics(_bootstrap(state, bootstrap_server), include_internal=show_all)
    render.emit(found, as_json, render.topics)


@topic.command("describe", short_help="Show a topic's partitions, offsets and configs.")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@bootstrap_option
@click.pass_obj
def topic_describe(state: CliState, name: str, as_json: bool, bootstrap_server: str | None) -> None:
    """Per partition the leader, replicas, in-sync replicas, start and end offsets; and the configs
    set on the topic (those that differ from the cluster's defaults).

    \b
      kafkalab topic describe orders --json | jq '.partitions[].end_offset'
    """
    from kafkalab import broker

    desc = broker.describe_topic(_bootstrap(state, bootstrap_server), name)
    render.emit(desc, as_json, render.topic_description)


@topic.command("delete", short_help="Delete a topic and its messages.")
@click.argument("name")
@click.option("--yes", "-y", is_flag=True, help="Do not ask first.")
@bootstrap_option
@click.pass_obj
def topic_delete(state: CliState, name: str, yes: bool, bootstrap_server: str | None) -> None:
    """Delete topic NAME with all its messages. Asks first when run in a terminal.

    \b
      kafkalab topic delete orders --yes
    """
    from kafkalab import broker

    bootstrap = _bootstrap(state, bootstrap_server)
    if not yes and sys.stdin.isatty() and not click.confirm(f"Delete topic {name} and its messages?", err=True):
        raise Aborted(f"Topic {name} was not deleted.")
    broker.delete_topic(bootstrap, name)
    render.say(f"Deleted topic {name}.")


@cli.command(short_help="Send one message per input line to a topic.")
@click.argument("topic")
@click.option("--key-separator", "-K", metavar="SEP", callback=_separator,
              help="Split each line at its first SEP into key and value (\\t for a tab).")
@click.option("--header", "-H", "headers", multiple=True, metavar="KEY=VALUE", callback=_pairs,
              help="A header for every message (repeatable).")
@click.option("--file", "-f", "path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Read this file instead of stdin.")
@click.option("--acks", type=click.Choice(["0", "1", "all"]), default="all", show_default=True,
              help="Acknowledgements each message waits for.")
@click.option("--partition", type=click.IntRange(min=0), help="Send every message to this partition.")
@bootstrap_option
@click.pass_context
def produce(
    ctx: click.Context, *, topic: str, key_separator: bytes | None, headers: list[tuple[str, str]], path: Path | None,
    acks: Literal["0", "1", "all"], partition: int | None, bootstrap_server: str | None,
) -> None:
    """Read lines from stdin (or --file) and send each as one message to TOPIC, then wait until
    every message is delivered. The count and rate go to stderr; the exit code is 13 when any
    message failed.

    \b
      seq 1000 | kafkalab produce numbers
      kafkalab produce orders -K : -H source=cli < orders.txt     # lines like id-1:{"total": 3}
    """
    from kafkalab import stream

    bootstrap = _bootstrap(ctx.obj, bootstrap_server)
    encoded = [(k, os.fsencode(v)) for k, v in headers]
    with (path.open("rb") if path else contextlib.nullcontext(sys.stdin.buffer)) as source:
        if path is None and sys.stdin.isatty():
            render.say("Reading messages from the terminal, one per line; end with Ctrl-D.")
        result = stream.produce_lines(
            bootstrap, topic, source, key_separator=key_separator, headers=encoded, acks=acks, partition=partition,
        )
    render.produce_summary(result)
    if result.failed:
        raise KafkaRequestError(
            f"{result.failed:,} of {result.messages:,} messages were not delivered to {topic}.",
            f"The errors above say why; `kafkalab topic describe {topic}` shows its configs.",
        )
    if result.interrupted:
        ctx.exit(130)


@cli.command(short_help="Print a topic's messages, one per line.")
@click.argument("topic")
@click.option("--from-beginning", is_flag=True,
              help="Start at the oldest message (default: new messages only; with --group, where it left off).")
@click.option("--group", "-g", metavar="GROUP", help="Read as a member of this consumer group, and commit.")
@click.option("-n", "--max", "max_messages", type=click.IntRange(min=1), metavar="N", help="Stop after N messages.")
@click.option("--follow", "-f", is_flag=True, help="Keep waiting for new messages (stop with Ctrl-C).")
@click.option("--format", "fmt", type=click.Choice(["value", "kv", "json"]), default="value", show_default=True,
              help="value: the value; kv: key, separator, value; json: one object per message.")
@click.option("--key-separator", "-K", metavar="SEP", default="\\t", show_default=True, callback=_separator,
              help="What separates key and value in --format kv.")
@click.option("--partition", type=click.IntRange(min=0), help="Only this partition.")
@click.option("--offset", type=int, help="Start at this offset of --partition; negative counts back from the end.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              help="Stop once no message came for this long.")
@bootstrap_option
@click.pass_context
def consume(
    ctx: click.Context, *, topic: str, from_beginning: bool, group: str | None, max_messages: int | None,
    follow: bool, fmt: Literal["value", "kv", "json"], key_separator: bytes, partition: int | None,
    offset: int | None, timeout: float | None, bootstrap_server: str | None,
) -> None:
    """Print the messages of TOPIC to stdout and stop at the end of its partitions (or after -n,
    or never with --follow). Ctrl-C stops cleanly; with --group the offsets of what was printed
    are committed. --format json prints topic, partition, offset, timestamp, key, value and
    headers; bytes that are not UTF-8 become {"base64": "..."}.

    \b
      kafkalab consume orders --from-beginning -n 10
      kafkalab consume orders -g billing --follow --format json | jq .value
      kafkalab consume orders --partition 0 --offset -5      # the last 5 of partition 0
    """
    from kafkalab import stream

    if offset is not None and partition is None:
        raise click.UsageError("--offset needs --partition.")
    if offset is not None and from_beginning:
        raise click.UsageError("Give --offset or --from-beginning, not both.")
    if group is not None and partition is not None:
        raise click.UsageError("--partition reads without a group: drop --group, or --partition.")
    result = stream.consume_to(
        _bootstrap(ctx.obj, bootstrap_server), topic, sys.stdout.buffer, fmt=fmt,
        from_beginning=from_beginning, group=group, max_messages=max_messages, follow=follow, partition=partition,
        offset=offset, timeout=timeout, key_separator=key_separator,
    )
    if result.stopped == "closed":
        _discard_stdout()
        return
    render.consume_summary(result)
    if result.stopped == "interrupted":
        ctx.exit(130)


def _discard_stdout() -> None:
    """The reader of stdout left (`| head`): send what Python still flushes at exit nowhere."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        pass  # not a real file (tests): nothing will fail at exit


@cli.group(short_help="List and describe consumer groups.")
def group() -> None:
    """Consumer groups: their members, committed offsets and lag.

    \b
      kafkalab group list
      kafkalab group describe billing
    """


@group.command("list", short_help="List the consumer groups.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@bootstrap_option
@click.pass_obj
def group_list(state: CliState, as_json: bool, bootstrap_server: str | None) -> None:
    """The consumer groups with their state and type, by name.

    \b
      kafkalab group list --json
    """
    from kafkalab import broker

    found = broker.list_groups(_bootstrap(state, bootstrap_server))
    render.emit(found, as_json, render.groups)


@group.command("describe", short_help="Show a group's members, offsets and lag.")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@bootstrap_option
@click.pass_obj
def group_describe(state: CliState, name: str, as_json: bool, bootstrap_server: str | None) -> None:
    """The members of group NAME and their partitions, and per partition the committed offset, the
    end offset and the lag between them.

    \b
      kafkalab group describe billing --json | jq .lag
    """
    from kafkalab import broker

    desc = broker.describe_group(_bootstrap(state, bootstrap_server), name)
    render.emit(desc, as_json, render.group_description)


def main() -> None:
    """The console script: `kafkalab`."""
    try:
        cli(prog_name="kafkalab")
    finally:
        # At exit, Python's last garbage collections walk every object the imports made: with
        # python_on_whales (pydantic) loaded, 0.1 to 0.25 s. The process ends here, and nothing
        # of it is garbage: freeze it all, so that those collections skip it.
        gc.freeze()
