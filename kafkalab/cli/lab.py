"""The commands of the lab itself: up, pull, status, down, logs, config, connect, doctor. Each
parses its options, calls `Lab`, and hands the result to render.

May import: click, kafkalab.cli.{app,options,render}, kafkalab.errors, kafkalab.lab.modes;
kafkalab.lab, kafkalab.kafka, kafkalab.declare and kafkalab.settings lazily (inside the commands).
"""

from __future__ import annotations

import contextlib
import sys
from typing import TYPE_CHECKING, Literal

import click

from kafkalab.cli import render
from kafkalab.cli.app import CliState, confirm, discard_stdout
from kafkalab.cli.options import MODE, PULL, SECURITY
from kafkalab.errors import STATUS_DEGRADED, STATUS_NOT_RUNNING, STATUS_STARTING, signal_of
from kafkalab.lab.modes import ALL_SERVICES, OPTIONAL

if TYPE_CHECKING:
    from kafkalab.lab.readiness import Phase

PHASES: dict[Phase, str] = {
    "preflight": "Checking Docker",
    "lock": "Waiting for another kafkalab to finish starting or stopping the lab",
    "pull": "Pulling images",
    "containers": "Starting containers",
    "broker": "Waiting for the broker to answer",
    "ui": "Waiting for kafka-ui to answer",
    "schema-registry": "Waiting for the Schema Registry to answer",
    "connect": "Waiting for Kafka Connect to answer",
}


@click.command(short_help="Start the lab and wait until it is ready.")
@click.option("--mode", type=MODE,
              help="kraft (default: Kafka 4, no ZooKeeper), zookeeper (the classic trio) or cluster (3 KRaft brokers).")
@click.option("--timeout", type=float, metavar="SECONDS", help="Readiness deadline [default 120].")
@click.option("--no-ui", is_flag=True, help="Do not start kafka-ui.")
@click.option("--pull", type=PULL, help="Image pull policy [default missing].")
@click.option("--no-wait", is_flag=True, help="Return once the containers are started.")
@click.option("--wait-ui", is_flag=True, help="Also wait until kafka-ui answers (it starts after the broker).")
@click.option("--with", "with_", multiple=True, metavar="SERVICE[,SERVICE]",
              help=f"Also run these optional services: {', '.join(OPTIONAL)} (repeatable; KAFKALAB_WITH; "
                   "default: the lab's last `up`'s; '' for none).")
@click.option("--schema-registry-port", type=int,
              help="Host port of the Schema Registry [KAFKALAB_SCHEMA_REGISTRY_PORT; default 8081].")
@click.option("--connect-port", type=int,
              help="Host port of Kafka Connect's REST API [KAFKALAB_CONNECT_PORT; default 8083].")
@click.option("--security", type=SECURITY,
              help="The brokers' host listener: plaintext (default), sasl-plain, sasl-scram, ssl, sasl-ssl or mtls "
                   "[KAFKALAB_SECURITY].")
@click.option("--expose", metavar="ADDRESS",
              help="Publish the brokers on this address of this machine's (or 0.0.0.0) besides 127.0.0.1 "
                   "[KAFKALAB_EXPOSE].")
@click.option("--advertise", metavar="HOST",
              help="The name or address other machines reach the brokers by [KAFKALAB_ADVERTISE; default: "
                   "the --expose address].")
@click.option("--insecure", is_flag=True, default=None, help="Allow exposing a plaintext lab.")
@click.option("--expose-ui", is_flag=True, default=None,
              help="Publish kafka-ui and the Schema Registry where the brokers are, not on 127.0.0.1 only.")
@click.pass_obj
def up(
    state: CliState, mode: str | None, timeout: float | None, no_ui: bool, pull: str | None, no_wait: bool,
    wait_ui: bool, with_: tuple[str, ...], schema_registry_port: int | None, connect_port: int | None,
    security: str | None,
    expose: str | None, advertise: str | None, insecure: bool | None, expose_ui: bool | None,
) -> None:
    """Start the lab with Docker Compose: pull the images that are missing (with progress), start
    the containers, wait until the broker answers on localhost:9094, then print the status. kafka-ui
    is shown as starting until it answers; --wait-ui waits for it. --with schema-registry adds a
    Schema Registry (on localhost:8081), --with connect a Kafka Connect worker (its REST API on
    localhost:8083): `up` waits for each. The timeout starts after the pull. Then it makes the topics
    (with their configs and seed records) and schemas that the config file declares and the lab
    lacks, and says so in one line (`Declared: ...`); a declared topic that exists and differs is left
    alone (`kafkalab apply` changes it). Running it again on a running lab is fine: it seeds only the
    topics it created.

    \b
      kafkalab up
      kafkalab up --mode zookeeper --timeout 60 --wait-ui
      kafkalab up --with schema-registry
      kafkalab up --with connect
      kafkalab up --security sasl-ssl --expose 192.168.1.20
    """
    from kafkalab.declare.plan import load

    declaration = load()  # what is wrong in it is said before anything starts (exit 3)
    lab = state.lab(mode=mode, timeout=timeout, pull=pull, with_=with_ or None,
                    schema_registry_port=schema_registry_port, connect_port=connect_port, security=security,
                    expose=expose, advertise=advertise, insecure=insecure, expose_ui=expose_ui)
    # The pre-flight overlaps the import of python_on_whales, which is the critical path to
    # `docker compose up`: the spinner only shows for it when it is slow (a daemon that hangs).
    with render.progress(PHASES["preflight"], delay=1.0) as spinner:
        result = lab.up(
            ui=not no_ui, wait=not no_wait, wait_ui=wait_ui,
            on_phase=lambda phase: spinner.show(PHASES[phase], now=phase != "preflight"),
            on_pull=spinner.pulling, declaration=None if declaration.empty else declaration,
        )
    for name in result.unpaused:
        render.note(f"Unpaused {name}: it was paused.")
    for name, seconds in result.ready.items():  # the optional services up waited for
        if name in OPTIONAL:
            render.note(f"{OPTIONAL[name].title} ready in {seconds:.1f} s.")
    if result.already_running:
        render.note(f"The lab {lab.settings.project} is already running.")
    elif no_wait:
        render.note(f"Started in {result.seconds:.1f} s (not waiting until it is ready).")
    else:
        render.note(f"Ready in {result.seconds:.1f} s.")
    if result.declared is not None:
        for line in result.declared.notes():  # unwrapped, as they may be long: one line each
            render.say(line)
        render.say(f"Declared: {result.declared.summary()}.")
    elif not declaration.empty:
        render.say(f"Declared: not applied, as up did not wait for the lab; `kafkalab apply` makes the "
                    f"{declaration.count()} of {declaration.path}.")
    render.lab_status(result.status)


@click.command(short_help="Pull the lab's images that are missing.")
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


@click.command(short_help="Show the health of the lab.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Each service's state and ports, the broker (bootstrap, cluster id, controller, brokers,
    topics, partitions) and the UI, and what is wrong. Exit 0 healthy, 20 not running or stopped
    (its containers all stopped, as after a reboot), 21 degraded (something runs, not all is well),
    28 starting (the brokers' containers started within the start window and do not answer yet).

    \b
      kafkalab status --json | jq .state
    """
    result = ctx.obj.lab().status()
    try:
        render.emit(result, as_json, render.lab_status)
        sys.stdout.flush()
    except BrokenPipeError:  # `status | head -1`: the exit code still tells the state
        discard_stdout()
    if result.state in ("not running", "stopped"):
        ctx.exit(STATUS_NOT_RUNNING)
    if result.state == "degraded":
        ctx.exit(STATUS_DEGRADED)
    if result.state == "starting":
        ctx.exit(STATUS_STARTING)


@click.command(short_help="Stop and remove the lab.")
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
        confirm(f"Delete all data of the lab {lab.settings.project}?", "Nothing was deleted.")
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


@click.command(short_help="Show the logs of the lab's containers.")
@click.argument("service", required=False, type=click.Choice(ALL_SERVICES))
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines.")
@click.option("--tail", type=click.IntRange(min=0), metavar="N", help="Only the last N lines of each container.")
@click.pass_context
def logs(ctx: click.Context, service: str | None, follow: bool, tail: int | None) -> None:
    """Print the logs of SERVICE (zookeeper, kafka, kafka-2, kafka-3, kafka-ui, schema-registry or
    connect), or of all of them.
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


@click.command(short_help="Show each setting and where it came from.")
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


@click.command(short_help="Print what an application needs to connect to the lab.")
@click.option("--format", "fmt", type=click.Choice(["env", "compose", "json", "java"]), default="env",
              show_default=True,
              help="env: variable lines, quoted for a POSIX shell; compose: a snippet for your compose file; "
                   "json: all of it, with librdkafka's settings under client; java: a Java client's .properties.")
@click.option("--show-secrets", is_flag=True, help="Print the password as it is (masked otherwise).")
@click.pass_obj
def connect(state: CliState, fmt: Literal["env", "compose", "json", "java"], show_secrets: bool) -> None:
    """The lab's bootstrap addresses, for a service on this machine (localhost:9094) and for one in a
    container on the lab's network (kafka:9092), and the name of that network, which any compose
    project can join as an external network. Every broker, in every mode. A secured lab (--security)
    adds what a client needs: security.protocol, sasl.mechanism, the user and password, and the lab's
    CA (ssl.ca.location), plus the client's certificate and key for mtls; an exposed one (--expose)
    the address other machines use. It asks neither Docker nor Kafka: all of it is from the lab's last `up`.

    \b
      kafkalab connect > .env                # KAFKA_BOOTSTRAP_SERVERS=localhost:9094 ...
      kafkalab connect --format compose      # paste into your service's compose file
      kafkalab connect --format json | jq -r .network.name
      kafkalab connect --format java --show-secrets > client.properties
    """
    from kafkalab.kafka.wire import answers
    from kafkalab.lab.secured import answers_config

    lab = state.lab()
    found = lab.connection(secrets=show_secrets)
    if fmt == "json":
        render.print_json(found.to_dict())
    else:
        sys.stdout.write({"env": found.env_text, "compose": found.compose_text, "java": found.java_properties}[fmt]())
    if found.masked and fmt != "compose":
        render.say("The password is masked: `kafkalab connect --show-secrets` prints it.")
    listener = answers_config(lab.settings.with_record())
    if not any(answers("127.0.0.1", int(b.host.rsplit(":", 1)[1]), timeout=0.3, **listener) for b in found.brokers):
        render.say(f"Note: no broker of the lab {found.project} answers now: `kafkalab up` starts it.")


@click.command(short_help="Check everything the lab needs, and say what to fix.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def doctor(ctx: click.Context, as_json: bool) -> None:
    """Check, one row each: the docker CLI, the daemon and its version, Compose v2, access to the
    socket, the lab's ports, Docker's disk and memory, the images, the lab, the broker from this
    machine and from inside the lab's network, kafka-ui, the Schema Registry (with --with
    schema-registry), Kafka Connect (with --with connect), and for a lab exposed to other machines
    (--expose) that its advertised address resolves to this machine; with a fix for each that fails.
    Exit 0 when all pass, else the code of the first that failed (30 to 43). Done within 15 s, always.

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
