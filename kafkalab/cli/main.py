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
from types import FrameType
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import click

from kafkalab.cli import render
from kafkalab.errors import (
    STATUS_DEGRADED,
    STATUS_NOT_RUNNING,
    Aborted,
    Interrupted,
    KafkalabError,
    KafkaRequestError,
    Terminated,
    signal_of,
)
from kafkalab.lab.modes import ALL_SERVICES, MODE_NAMES

if TYPE_CHECKING:
    from kafkalab.lab.lab import Lab
    from kafkalab.lab.readiness import Phase


@dataclasses.dataclass
class CliState:
    flags: dict[str, Any]
    verbose: bool
    debug: bool

    def lab(self, **flags: Any) -> Lab:
        from kafkalab.lab.lab import Lab
        from kafkalab.settings import resolve

        settings = resolve({**self.flags, **{k: v for k, v in flags.items() if v is not None}})
        lab = Lab(settings, echo=render.command if self.verbose else None)
        work_begins()
        return lab


def work_begins() -> None:
    """From here on a Ctrl-C is a KeyboardInterrupt, which the command turns into what it left behind;
    SIGTERM and SIGHUP (`timeout`, a cancelled CI job, `docker stop`, a closed terminal) are the
    same, as Terminated, and the exit code is 128 + the signal's number.

    Until then (Python's start, the imports, the options) kafkalab._console ends the process quietly
    on Ctrl-C, and SIGTERM ends it at once: nothing was started. Every command that talks to Docker
    or Kafka calls this first.
    """
    with contextlib.suppress(ValueError):  # not the main thread: an application that embeds the CLI
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for name in ("SIGTERM", "SIGHUP"):
            if hasattr(signal, name):  # Windows has no SIGHUP
                signal.signal(getattr(signal, name), _terminated)


def _terminated(signum: int, _frame: FrameType | None) -> None:
    raise Terminated(signum)


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
        except Interrupted as exc:  # `up` says what it left
            render.error(KafkalabError(exc.message, exc.hint))
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM or SIGHUP: any other command may be half done
            render.error(KafkalabError("Interrupted.", "It may have done part of its work: run it again to finish."))
            ctx.exit(128 + signal_of(exc))
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
# The lambda looks _complete_contexts up when Tab is pressed: it is defined with the Kafka commands below.
@click.option("--context", metavar="NAME",
              shell_complete=lambda ctx, param, incomplete: _complete_contexts(ctx, param, incomplete),  # noqa: PLW0108
              help="The cluster of [contexts.NAME] in the config file, for the Kafka commands [KAFKALAB_CONTEXT].")
@click.option("-v", "--verbose", is_flag=True, help="Show each docker command as it runs.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.pass_context
def cli(
    ctx: click.Context, project: str | None, port: int | None, ui_port: int | None, zookeeper_port: int | None,
    context: str | None, verbose: bool, debug: bool,
) -> None:
    """A local Kafka for development: start it, check it, reset it, use it.

    \b
      kafkalab up                 # KRaft Kafka 4 + kafka-ui, ready on localhost:9094
      kafkalab status             # health of the lab
      kafkalab down --volumes     # reset
    """
    ctx.obj = CliState(
        {"project": project, "port": port, "ui_port": ui_port, "zookeeper_port": zookeeper_port, "context": context},
        verbose, debug,
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
    """Stop and remove the lab's containers; --volumes deletes its data too, after asking (with no
    terminal to ask on, only with --yes: exit 15 without it). Safe to repeat.

    \b
      kafkalab down --volumes --yes
    """
    lab = state.lab()
    if volumes and not yes:
        _confirm(f"Delete all data of the lab {lab.settings.project}?", "Nothing was deleted.")
    with render.progress("Stopping the lab"):
        result = lab.down(volumes=volumes)
    removed = render.plural(len(result.containers), "container")
    if volumes:
        removed += " and " + render.plural(len(result.volumes), "volume")
    render.note(f"Removed {removed} of {lab.settings.project}.")
    if result.foreign:
        render.note(f"Left alone: {', '.join(result.foreign)}, of a compose project that is not kafkalab's.")
    for network, users in result.kept_networks:
        verb = "uses" if len(users) == 1 else "use"
        render.say(f"Left the network {network} in place: {', '.join(users)} still {verb} it "
                   "(it goes with the next `kafkalab down` once nothing does).")


def _confirm(question: str, kept: str) -> None:
    """Ask `question` [y/N] before deleting; Aborted (saying `kept`) unless the answer is yes.

    With no terminal to ask on (a script, CI, a pipe), Aborted at once: deleting needs --yes there.
    """
    if not sys.stdin.isatty():
        raise Aborted(f"{kept} There is no terminal to ask for confirmation.")  # its hint: pass --yes
    if not click.confirm(question, err=True):
        raise Aborted(kept)


@cli.command(short_help="Show the logs of the lab's containers.")
@click.argument("service", required=False, type=click.Choice(ALL_SERVICES))
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines.")
@click.option("--tail", type=click.IntRange(min=0), metavar="N", help="Only the last N lines of each container.")
@click.pass_context
def logs(ctx: click.Context, service: str | None, follow: bool, tail: int | None) -> None:
    """Print the logs of SERVICE (zookeeper, kafka, kafka-2, kafka-3 or kafka-ui), or of all of them.
    Ctrl-C ends -f quietly (exit 130, as `tail -f`).

    \b
      kafkalab logs kafka --tail 50 -f
    """
    try:
        # closing(): the `docker compose logs` behind it ends with this command, however it ends.
        with contextlib.closing(ctx.obj.lab().logs(service, follow=follow, tail=tail)) as lines:
            for chunk in lines:
                sys.stdout.write(chunk)
                sys.stdout.flush()
    except KeyboardInterrupt as exc:  # the way to end -f: no error
        ctx.exit(128 + signal_of(exc))


@cli.command(short_help="Show each setting and where it came from.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def config(state: CliState, as_json: bool) -> None:
    """Settings resolve from flags, then KAFKALAB_* variables, then the nearest config file, then
    your own file ($XDG_CONFIG_HOME/kafkalab/config.toml, else ~/.config/kafkalab/config.toml),
    then defaults. The nearest file is found as pytest and ruff find theirs: in the current
    directory, then in each parent up to the root, a pyproject.toml with a [tool.kafkalab] table
    (one without it is skipped) or a kafkalab.toml; pyproject.toml wins within one directory. A
    file's settings show its path as their source. Then the contexts ([contexts.NAME]) of both
    files, with every value whose key names a password, secret, token or key masked.

    \b
      KAFKALAB_PORT=19094 kafkalab config
      kafkalab config --json | jq '.contexts | keys'
    """
    from kafkalab.kafka.contexts import load_contexts
    from kafkalab.settings import resolve

    rows = resolve({k: v for k, v in state.flags.items() if v is not None}).with_record().as_rows()
    contexts = load_contexts()
    if as_json:
        render.print_json({
            **{name: {"value": value, "source": source} for name, value, source in rows},
            "contexts": {name: c.to_dict() for name, c in contexts.items()},
        })
    else:
        render.table(None, ("setting", "value", "source"), rows)
        if contexts:
            render.contexts(list(contexts.values()))


@cli.command(short_help="Print what an application needs to connect to the lab.")
@click.option("--format", "fmt", type=click.Choice(["env", "compose", "json"]), default="env", show_default=True,
              help="env: variable lines; compose: a snippet for your compose file; json: all of it.")
@click.pass_obj
def connect(state: CliState, fmt: Literal["env", "compose", "json"]) -> None:
    """The lab's bootstrap addresses, for a service on this machine (localhost:9094) and for one in a
    container on the lab's network (kafka:9092), and the name of that network, which any compose
    project can join as an external network. Every broker, in every mode. It asks neither Docker nor
    Kafka: the mode and network are those of the lab's last `up`.

    \b
      kafkalab connect > .env                # KAFKA_BOOTSTRAP_SERVERS=localhost:9094 ...
      kafkalab connect --format compose      # paste into your service's compose file
      kafkalab connect --format json | jq -r .network.name
    """
    from kafkalab.kafka.wire import answers

    lab = state.lab()
    found = lab.connection()
    if fmt == "json":
        render.print_json(found.to_dict())
    else:
        sys.stdout.write(found.env_text() if fmt == "env" else found.compose_text())
    if not any(answers("127.0.0.1", int(b.host.rsplit(":", 1)[1]), timeout=0.3) for b in found.brokers):
        render.say(f"Note: no broker of the lab {found.project} answers now: `kafkalab up` starts it.")


@cli.command(short_help="Check everything the lab needs, and say what to fix.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def doctor(ctx: click.Context, as_json: bool) -> None:
    """Check, one row each: the docker CLI, the daemon and its version, Compose v2, access to the
    socket, the lab's ports, Docker's disk and memory, the images, the lab, the broker from this
    machine and from inside the lab's network, and kafka-ui; with a fix for each that fails. Exit 0
    when all pass, else the code of the first that failed (30 to 40). Done within 15 s, always.

    \b
      kafkalab doctor
      kafkalab doctor --json | jq -r '.checks[] | select(.result == "fail") | .fix'
    """
    found = ctx.obj.lab().doctor()
    if as_json:
        render.print_json(found.to_dict())
    else:
        render.diagnosis(found)
    ctx.exit(found.exit_code)


# --- Kafka: topics, produce, consume, consumer groups -------------------------------------------
# These commands talk to Kafka only, never to Docker: to the lab's address, or to any cluster
# given with --bootstrap-server. The work is in kafkalab.kafka.broker and kafkalab.kafka.stream.

if TYPE_CHECKING:
    from kafkalab.kafka.broker import ResetTarget

F = TypeVar("F", bound=Callable[..., Any])
# librdkafka refuses more in a new topic (broker.create_topic says so too, for the Python API).
MAX_PARTITIONS = 100_000
MAX_REPLICATION = 10_000


def bootstrap_option(f: F) -> F:
    """-b and -X, which every Kafka command takes after its name (as kcat does)."""
    f = click.option(
        "-X", "client_settings", multiple=True, metavar="KEY=VALUE", expose_value=False, callback=_client_settings,
        help="A librdkafka client setting, such as -X security.protocol=SASL_SSL (repeatable; wins over "
             "the context's).",
    )(f)
    return click.option(
        "--bootstrap-server", "-b", "bootstrap_server", metavar="HOST:PORT",
        help="The Kafka to use instead of the lab [KAFKALAB_BOOTSTRAP_SERVER; default: the context's, or the lab].",
    )(f)


CLIENT_SETTINGS = "kafkalab.client_settings"  # -X, parsed, in the command's Context.meta
TARGET_REPLICATION = "kafkalab.replication"  # a new topic's default replication there (clientconf.Target)


def _client_settings(ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> None:
    from kafkalab.kafka.contexts import parse_settings

    try:
        ctx.meta[CLIENT_SETTINGS] = parse_settings(values)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _bootstrap(state: CliState, bootstrap_server: str | None) -> str:
    """The brokers of a Kafka command (clientconf.resolve_target: -b, the context, the
    bootstrap_server setting, the lab), with its client settings (the context's, then -X) in
    force until the command ends. Settings only: `Lab` would import the Docker side."""
    from kafkalab.errors import BrokerUnreachable
    from kafkalab.kafka import broker
    from kafkalab.kafka.contexts import resolve_target

    work_begins()
    ctx = click.get_current_context()
    target = resolve_target(state.flags, bootstrap_server, ctx.meta.get(CLIENT_SETTINGS, {}))
    ctx.with_resource(broker.client_settings(target.client))
    ctx.meta[TARGET_REPLICATION] = target.replication
    if not target.lab:  # were no broker to answer there, starting the lab would not help
        ctx.with_resource(broker.unreachable_hint(BrokerUnreachable.hint_elsewhere))
    return target.bootstrap


def _pairs(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> list[tuple[str, str]]:
    from kafkalab.kafka.stream import parse_pairs

    try:
        return parse_pairs(values)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _time(_ctx: click.Context, _param: click.Parameter, value: str | None) -> int | None:
    from kafkalab.kafka.stream import parse_time

    try:
        return None if value is None else parse_time(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _separator(_ctx: click.Context, _param: click.Parameter, value: str | None) -> bytes | None:
    from kafkalab.kafka.stream import unescape_separator

    try:
        return None if value is None else unescape_separator(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _complete_topics(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    from kafkalab.cli import complete

    return complete.topics(ctx, param, incomplete)


def _complete_groups(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    from kafkalab.cli import complete

    return complete.groups(ctx, param, incomplete)


def _complete_contexts(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    from kafkalab.cli import complete

    return complete.contexts(ctx, param, incomplete)


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
@click.option("-r", "--replication", type=click.IntRange(min=1, max=MAX_REPLICATION),
              help="Replication factor, at most the number of brokers [default: the lab's, 3 in cluster mode, "
                   "else 1; on another cluster, the broker's default.replication.factor].")
@click.option("--config", "configs", multiple=True, metavar="KEY=VALUE", callback=_pairs,
              help="A topic config, such as retention.ms=3600000 (repeatable).")
@click.option("--if-not-exists", is_flag=True, help="Succeed when the topic exists already.")
@bootstrap_option
@click.pass_obj
def topic_create(
    state: CliState, *, name: str, partitions: int, replication: int | None, configs: list[tuple[str, str]],
    if_not_exists: bool, bootstrap_server: str | None,
) -> None:
    """Create topic NAME and wait until the broker serves it. Its replication factor is by default
    the lab's (3 in cluster mode, else 1); on another cluster (-b, a context), the broker's own.

    \b
      kafkalab topic create orders -p 3 --config retention.ms=3600000
    """
    from kafkalab.kafka import broker

    bootstrap = _bootstrap(state, bootstrap_server)
    if replication is None:
        replication = click.get_current_context().meta[TARGET_REPLICATION]
    created = broker.create_topic(
        bootstrap, name, partitions, replication, dict(configs), if_not_exists=if_not_exists,
    )
    if created:
        if replication < 0:  # the broker chose it: say what it chose
            replication = next((t.replication for t in broker.list_topics(bootstrap) if t.name == name), replication)
        replicas = "the broker's default replication" if replication < 0 else f"replication {replication}"
        render.say(f"Created topic {name} ({render.plural(partitions, 'partition')}, {replicas}).")
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
    from kafkalab.kafka import broker

    found = broker.list_topics(_bootstrap(state, bootstrap_server), include_internal=show_all)
    render.emit(found, as_json, render.topics)


@topic.command("describe", short_help="Show a topic's partitions, offsets and configs.")
@click.argument("name", shell_complete=_complete_topics)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@bootstrap_option
@click.pass_obj
def topic_describe(state: CliState, name: str, as_json: bool, bootstrap_server: str | None) -> None:
    """Per partition the leader, replicas, in-sync replicas, start and end offsets; and the configs
    set on the topic (those that differ from the cluster's defaults).

    \b
      kafkalab topic describe orders --json | jq '.partitions[].end_offset'
    """
    from kafkalab.kafka import broker

    desc = broker.describe_topic(_bootstrap(state, bootstrap_server), name)
    render.emit(desc, as_json, render.topic_description)


@topic.command("delete", short_help="Delete a topic and its messages.")
@click.argument("name", shell_complete=_complete_topics)
@click.option("--yes", "-y", is_flag=True, help="Do not ask first.")
@bootstrap_option
@click.pass_obj
def topic_delete(state: CliState, name: str, yes: bool, bootstrap_server: str | None) -> None:
    """Delete topic NAME with all its messages. Asks first; with no terminal to ask on, only
    with --yes (exit 15 without it).

    \b
      kafkalab topic delete orders --yes
    """
    from kafkalab.kafka import broker

    bootstrap = _bootstrap(state, bootstrap_server)
    if not yes:
        _confirm(f"Delete topic {name} and its messages?", f"Topic {name} was not deleted.")
    broker.delete_topic(bootstrap, name)
    render.say(f"Deleted topic {name}.")


@cli.command(short_help="Send one message per input line to a topic.")
@click.argument("topic", shell_complete=_complete_topics)
@click.option("--key-separator", "-K", metavar="SEP", callback=_separator,
              help="Split each line at its first SEP into key and value (\\t for a tab).")
@click.option("--header", "-H", "headers", multiple=True, metavar="KEY=VALUE", callback=_pairs,
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
@bootstrap_option
@click.pass_context
def produce(
    ctx: click.Context, *, topic: str, key_separator: bytes | None, headers: list[tuple[str, str]], path: Path | None,
    acks: Literal["0", "1", "all"], partition: int | None, fmt: Literal["line", "json"], skip_empty: bool,
    bootstrap_server: str | None,
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

    \b
      seq 1000 | kafkalab produce numbers
      kafkalab produce orders -K : -H source=cli < orders.txt     # lines like id-1:{"total": 3}
      echo '{"key": "u1", "value": {"total": 3}, "headers": {"h": "v"}}' | kafkalab produce orders --format json
      kafkalab consume orders --from-beginning --format json | kafkalab produce orders-copy --format json
    """
    from kafkalab.kafka import stream

    if fmt == "json" and key_separator is not None:
        raise click.UsageError("--key-separator is for --format line: a JSON record has its own key.")
    bootstrap = _bootstrap(ctx.obj, bootstrap_server)
    encoded = [(k, os.fsencode(v)) for k, v in headers]
    with (path.open("rb") if path else contextlib.nullcontext(sys.stdin.buffer)) as source:
        if path is None and sys.stdin.isatty():
            one = "one JSON record per line" if fmt == "json" else "one per line"
            render.say(f"Reading messages from the terminal, {one}; end with Ctrl-D.")
        result = stream.produce_lines(
            bootstrap, topic, source, key_separator=key_separator, headers=encoded, acks=acks, partition=partition,
            fmt=fmt, skip_empty=skip_empty, on_created=lambda partitions: render.say(
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


@cli.command(short_help="Print a topic's messages, one per line.")
@click.argument("topic", shell_complete=_complete_topics)
@click.option("--from-beginning", is_flag=True,
              help="Start at the oldest message (default: new messages only; with --group, where it left off).")
@click.option("--group", "-g", metavar="GROUP", shell_complete=_complete_groups,
              help="Read as a member of this consumer group, and commit.")
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
@click.option("--from-time", metavar="TIME", callback=_time,
              help="Start at the first message at or after TIME: ISO 8601 (2024-05-01T12:00:00Z), or a duration "
                   "back from now (30s, 10m, 2h, 1d). With --group, the group's position starts there.")
@bootstrap_option
@click.pass_context
def consume(
    ctx: click.Context, *, topic: str, from_beginning: bool, group: str | None, max_messages: int | None,
    follow: bool, fmt: Literal["value", "kv", "json"], key_separator: bytes, partition: int | None,
    offset: int | None, timeout: float | None, from_time: int | None, bootstrap_server: str | None,
) -> None:
    """Print the messages of TOPIC to stdout and stop at the end of its partitions (or after -n,
    or never with --follow). Ctrl-C, SIGTERM and SIGHUP stop cleanly (exit 130, 143, 129); with
    --group the offsets of what was printed are committed and the group is left. --format json
    prints topic, partition, offset, timestamp, key, value and headers; bytes that are not UTF-8
    become {"base64": "..."}. --from-time starts each partition at its first message at or after
    the time (its end when none is that late).

    \b
      kafkalab consume orders --from-beginning -n 10
      kafkalab consume orders -g billing --follow --format json | jq .value
      kafkalab consume orders --partition 0 --offset -5      # the last 5 of partition 0
      kafkalab consume orders --from-time 10m                # what came in the last 10 minutes
    """
    from kafkalab.kafka import stream

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
    result = stream.consume_to(
        _bootstrap(ctx.obj, bootstrap_server), topic, sys.stdout.buffer, fmt=fmt,
        from_beginning=from_beginning, group=group, max_messages=max_messages, follow=follow, partition=partition,
        offset=offset, timeout=timeout, key_separator=key_separator, from_time=from_time,
        on_offline=lambda offline: render.say(_offline_warning(topic, offline)),
    )
    if result.stopped == "closed":
        _discard_stdout()
        return
    render.consume_summary(result)
    if result.stopped == "interrupted":
        ctx.exit(128 + (result.signum or signal.SIGINT))


def _offline_warning(topic: str, offline: list[int]) -> str:
    numbers = ", ".join(map(str, offline))
    which = f"partitions {numbers} of {topic} are offline (no broker leads them): they are" if len(offline) > 1 \
        else f"partition {numbers} of {topic} is offline (no broker leads it): it is"
    return f"Warning: {which} not read. `kafkalab topic describe {topic}` shows the partitions."


def _discard_stdout() -> None:
    """The reader of stdout left (`| head`): send what Python still flushes at exit nowhere."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        pass  # not a real file (tests): nothing will fail at exit


@cli.group(short_help="List, describe, reset and delete consumer groups.")
def group() -> None:
    """Consumer groups: their members, committed offsets and lag; moving their offsets; deleting them.

    \b
      kafkalab group list
      kafkalab group describe billing
      kafkalab group reset-offsets billing --topic orders --to-earliest --execute
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
    from kafkalab.kafka import broker

    found = broker.list_groups(_bootstrap(state, bootstrap_server))
    render.emit(found, as_json, render.groups)


@group.command("describe", short_help="Show a group's members, offsets and lag.")
@click.argument("name", shell_complete=_complete_groups)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@bootstrap_option
@click.pass_obj
def group_describe(state: CliState, name: str, as_json: bool, bootstrap_server: str | None) -> None:
    """The members of group NAME and their partitions, and per partition the committed offset, the
    end offset and the lag between them.

    \b
      kafkalab group describe billing --json | jq .lag
    """
    from kafkalab.kafka import broker

    desc = broker.describe_group(_bootstrap(state, bootstrap_server), name)
    render.emit(desc, as_json, render.group_description)


def _offset_target(
    to_earliest: bool, to_latest: bool, to_offset: int | None, shift_by: int | None, to_datetime: str | None,
) -> ResetTarget:
    from kafkalab.kafka.broker import ResetTarget
    from kafkalab.kafka.stream import parse_time

    given = [name for name, value in (
        ("--to-earliest", to_earliest), ("--to-latest", to_latest), ("--to-offset", to_offset is not None),
        ("--shift-by", shift_by is not None), ("--to-datetime", to_datetime is not None),
    ) if value]
    if len(given) != 1:
        several = f" ({', '.join(given)} are given)" if given else ""
        raise click.UsageError(
            f"Give one of --to-earliest, --to-latest, --to-offset, --shift-by or --to-datetime{several}.",
        )
    if to_offset is not None:
        return ResetTarget("offset", to_offset)
    if shift_by is not None:
        return ResetTarget("shift", shift_by)
    if to_datetime is not None:
        try:
            return ResetTarget("datetime", parse_time(to_datetime, durations=False))
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="'--to-datetime'") from None
    return ResetTarget("earliest" if to_earliest else "latest")


@group.command("reset-offsets", short_help="Move a group's offsets on a topic (a dry run unless --execute).")
@click.argument("name", shell_complete=_complete_groups)
@click.option("--topic", "-t", required=True, metavar="TOPIC", shell_complete=_complete_topics,
              help="The topic whose offsets to move (all its partitions).")
@click.option("--to-earliest", is_flag=True, help="To the oldest message still stored.")
@click.option("--to-latest", is_flag=True, help="To the end: the group skips what it has not read.")
@click.option("--to-offset", type=int, metavar="N", help="To offset N in every partition (kept within the log).")
@click.option("--shift-by", type=int, metavar="N", help="N from the committed offset; negative goes back.")
@click.option("--to-datetime", metavar="ISO8601",
              help="To the first message at or after this time (2024-05-01T12:00:00Z; local time without an offset).")
@click.option("--execute", is_flag=True, help="Commit the new offsets (without it: print the plan only).")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@bootstrap_option
@click.pass_obj
def group_reset_offsets(
    state: CliState, *, name: str, topic: str, to_earliest: bool, to_latest: bool, to_offset: int | None,
    shift_by: int | None, to_datetime: str | None, execute: bool, as_json: bool, bootstrap_server: str | None,
) -> None:
    """Move the committed offsets of group NAME on every partition of --topic, as Kafka's
    kafka-consumer-groups --reset-offsets does: print the plan (current and new offset per
    partition) and change nothing, unless --execute is given. Offsets outside the log are moved
    to its start or end. The group must have no active member (exit 18 otherwise).

    \b
      kafkalab group reset-offsets billing --topic orders --to-earliest
      kafkalab group reset-offsets billing --topic orders --shift-by -10 --execute
      kafkalab group reset-offsets billing -t orders --to-datetime 2024-05-01T12:00:00Z --json
    """
    from kafkalab.kafka import broker

    target = _offset_target(to_earliest, to_latest, to_offset, shift_by, to_datetime)
    plan = broker.reset_offsets(_bootstrap(state, bootstrap_server), name, topic, target, execute=execute)
    render.emit(plan, as_json, render.reset_plan)
    if execute:
        render.say(f"Committed the new offsets of group {name} on {topic}.")
    else:
        render.say("Dry run: nothing was changed. Add --execute to commit these offsets.")


@group.command("delete", short_help="Delete a consumer group and its committed offsets.")
@click.argument("name", shell_complete=_complete_groups)
@click.option("--yes", "-y", is_flag=True, help="Do not ask first.")
@bootstrap_option
@click.pass_obj
def group_delete(state: CliState, name: str, yes: bool, bootstrap_server: str | None) -> None:
    """Delete consumer group NAME with its committed offsets. Asks first; with no terminal to ask
    on, only with --yes (exit 15 without it). A group with active members is not deleted (exit 18).

    \b
      kafkalab group delete billing --yes
    """
    from kafkalab.kafka import broker

    bootstrap = _bootstrap(state, bootstrap_server)
    if not yes:
        _confirm(f"Delete consumer group {name} and its committed offsets?", f"Group {name} was not deleted.")
    broker.delete_group(bootstrap, name)
    render.say(f"Deleted consumer group {name}.")


# --- shell completion ----------------------------------------------------------------------------

@cli.command(short_help="Print the shell completion script (bash, zsh or fish).")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: Literal["bash", "zsh", "fish"]) -> None:
    """Print the completion script of SHELL, through Click's own completion. It completes the
    commands and options, the topics and consumer groups that exist (asking the cluster that -b,
    -X and --context name, with at most 0.5 s of waiting), the contexts, the services of `logs`
    and the modes. To install it:

    \b
      echo 'eval "$(kafkalab completion bash)"' >> ~/.bashrc
      kafkalab completion zsh > "${fpath[1]}/_kafkalab"     # or: eval "$(kafkalab completion zsh)" in ~/.zshrc
      kafkalab completion fish > ~/.config/fish/completions/kafkalab.fish
    """
    from kafkalab.cli import complete

    sys.stdout.write(complete.script(cli, shell))


def main() -> None:
    """The console script: `kafkalab`."""
    try:
        cli(prog_name="kafkalab")
    finally:
        # At exit, Python's last garbage collections walk every object the imports made: with
        # python_on_whales (pydantic) loaded, 0.1 to 0.25 s. The process ends here, and nothing
        # of it is garbage: freeze it all, so that those collections skip it.
        gc.freeze()
