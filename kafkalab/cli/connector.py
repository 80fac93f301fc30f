"""The connector group: plugins, list, create, describe, status, pause, resume, restart, delete; on the
lab's Kafka Connect (`kafkalab up --with connect`) or any (--connect-url, a context's connect_url).

May import: click, kafkalab.cli.{app,render}, kafkalab.errors; kafkalab.connectors and
kafkalab.kafka.contexts lazily (`kafkalab --help` must not load httpx).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from kafkalab.cli import render
from kafkalab.cli.app import CliState, confirm, work_begins

if TYPE_CHECKING:
    from kafkalab.connectors.client import Connect


def connect_api(state: CliState) -> Connect:
    """The Connect cluster of a connector command (contexts.resolve_connect: --connect-url, a context's, the lab's)."""
    from kafkalab.connectors.client import Connect
    from kafkalab.kafka.contexts import resolve_connect

    work_begins()
    return Connect(resolve_connect(state.flags))


@click.group(short_help="Create, list, inspect, pause, restart and delete Kafka Connect connectors.")
def connector() -> None:
    """Connectors of the lab's Kafka Connect (`kafkalab up --with connect`), or of any Connect cluster
    with the global --connect-url URL (or a context's connect_url).

    \b
      kafkalab connector create events --config connector.class=FileStreamSource \\
          --config file=/tmp/events.txt --config topic=events
      kafkalab connector list
      kafkalab --connect-url http://localhost:8083 connector status events
    """


@connector.command("plugins", short_help="List the connector classes the worker has.")
@click.option("--all", "every", is_flag=True,
              help="Every plugin: converters, transformations and predicates too (Connect's connectorsOnly=false).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def connector_plugins(state: CliState, every: bool, as_json: bool) -> None:
    """The worker's connector classes (source, sink), each with its type and version; with --all its
    converters, transformations and predicates too.

    \b
      kafkalab connector plugins --json | jq -r '.[] | select(.type == "source") | .class'
      kafkalab connector plugins --all
    """
    render.emit(connect_api(state).plugins(connectors_only=not every), as_json, render.connect_plugins)


@connector.command("list", short_help="List the connectors, with their states and their tasks'.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def connector_list(state: CliState, as_json: bool) -> None:
    """Each connector with its type, its state and its tasks' states.

    \b
      kafkalab connector list --json | jq -r '.[] | select(.state != "RUNNING") | .name'
    """
    render.emit(connect_api(state).states(), as_json, render.connectors)


@connector.command("create", short_help="Create a connector (or update its config).")
@click.argument("name")
@click.option("--config", "-c", "items", multiple=True, metavar="KEY=VALUE",
              help="A setting of the connector (repeatable), such as connector.class=FileStreamSource.")
@click.option("--file", "-f", "path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help='A JSON file: {"config": {...}}, as the REST API takes it, or the config alone.')
@click.pass_obj
def connector_create(state: CliState, name: str, items: tuple[str, ...], path: Path | None) -> None:
    """Create connector NAME with the config of --config KEY=VALUE settings or of --file, or replace the
    config of the one of that name (PUT /connectors/NAME/config). A config the worker refuses (a required
    setting missing, an unknown connector class) exits 46 with its message.

    \b
      kafkalab connector create sink --config connector.class=FileStreamSink --config topics=events \\
          --config file=/tmp/events.out
      kafkalab connector create mirror --file mirror.json
    """
    from kafkalab.connectors.client import read_config
    from kafkalab.errors import InvalidConnectorConfig

    if (path is None) == (not items):
        raise click.UsageError("Give the connector's config with --config KEY=VALUE ... or with --file, not both.")
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidConnectorConfig(f"Cannot read {path}: {exc}.") from None
        config = read_config((), text, str(path))
    else:
        config = read_config(items, None, "--config")
    created = connect_api(state).put_config(name, config)
    render.say(f"{'Created' if created else 'Updated'} connector {render.literal(name)}.")


@connector.command("describe", short_help="Show a connector's config and tasks.")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def connector_describe(state: CliState, name: str, as_json: bool) -> None:
    """The config of connector NAME, its type and its tasks.

    \b
      kafkalab connector describe events --json | jq .config
    """
    render.emit(connect_api(state).get(name), as_json, render.connector_description)


@connector.command("status", short_help="Show a connector's state and its tasks', with their errors.")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def connector_status(state: CliState, name: str, as_json: bool) -> None:
    """The state of connector NAME and of each of its tasks, on which worker, and the trace of each
    that failed.

    \b
      kafkalab connector status events
    """
    render.emit(connect_api(state).state(name), as_json, render.connector_state)


@connector.command("pause", short_help="Pause a connector and its tasks.")
@click.argument("name")
@click.pass_obj
def connector_pause(state: CliState, name: str) -> None:
    """Pause connector NAME: its tasks stop processing until `connector resume`.

    \b
      kafkalab connector pause events
    """
    connect_api(state).pause(name)
    render.say(f"Paused connector {render.literal(name)}.")


@connector.command("resume", short_help="Resume a paused connector.")
@click.argument("name")
@click.pass_obj
def connector_resume(state: CliState, name: str) -> None:
    """Resume connector NAME after `connector pause`.

    \b
      kafkalab connector resume events
    """
    connect_api(state).resume(name)
    render.say(f"Resumed connector {render.literal(name)}.")


@connector.command("restart", short_help="Restart a connector (and its tasks).")
@click.argument("name")
@click.option("--include-tasks", is_flag=True, help="Restart its tasks too (a failed task restarts only so).")
@click.pass_obj
def connector_restart(state: CliState, name: str, include_tasks: bool) -> None:
    """Restart connector NAME; with --include-tasks its tasks too, as a failed task needs.

    \b
      kafkalab connector restart events --include-tasks
    """
    connect_api(state).restart(name, include_tasks)
    render.say(f"Restarted connector {render.literal(name)}{' and its tasks' if include_tasks else ''}.")


@connector.command("delete", short_help="Delete a connector.")
@click.argument("name")
@click.option("--yes", "-y", is_flag=True, help="Do not ask first.")
@click.pass_obj
def connector_delete(state: CliState, name: str, yes: bool) -> None:
    """Delete connector NAME: it stops, and its config is gone (the offsets of a source connector stay
    in the worker's offset topic). Asks first; with no terminal to ask on, only with --yes (exit 15
    without it).

    \b
      kafkalab connector delete events --yes
    """
    found = connect_api(state)
    if not yes:
        confirm(f"Delete connector {name}?", f"Connector {name} was not deleted.")
    found.delete(name)
    render.say(f"Deleted connector {render.literal(name)}.")
