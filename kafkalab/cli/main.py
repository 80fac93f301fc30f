"""The `kafkalab` command: the root group, its global options, and `main()`, the console script.

The commands live in a module per group (lab, topic, records, group, schema, connector, declare, completion)
and are added here; errors become output and exit codes in one place, app.KafkalabGroup.invoke.

May import: click, every kafkalab.cli module, kafkalab.settings. Nothing imports this module but
the entry points (kafkalab._console, and tests and docs/generate.py for `cli`).
"""

from __future__ import annotations

import os
from typing import Any

import click

from kafkalab.cli import complete, connector, declare, group, lab, records, schema, topic
from kafkalab.cli.app import CliState, KafkalabGroup
from kafkalab.cli.completion import completion
from kafkalab.settings import GLOBAL_FLAGS


@click.group(cls=KafkalabGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="kafkalab", message="kafkalab %(version)s")
@click.option("--project-name", "-p", "project", metavar="NAME",
              help="Compose project name [KAFKALAB_PROJECT; default kafkalab].")
@click.option("--port", type=int, help="Host port of the EXTERNAL listener [KAFKALAB_PORT; default 9094].")
@click.option("--ui-port", type=int, help="Host port of kafka-ui [KAFKALAB_UI_PORT; default 8080].")
@click.option("--zookeeper-port", type=int,
              help="Host port of ZooKeeper, in zookeeper mode [KAFKALAB_ZOOKEEPER_PORT; default 2181].")
@click.option("--schema-registry-port", type=int,
              help="Host port of the Schema Registry, with --with schema-registry [KAFKALAB_SCHEMA_REGISTRY_PORT; "
                   "default 8081].")
@click.option("--connect-port", type=int,
              help="Host port of Kafka Connect's REST API, with --with connect [KAFKALAB_CONNECT_PORT; default 8083].")
@click.option("--context", metavar="NAME", shell_complete=complete.contexts,
              help="The cluster of [contexts.NAME] in the config file, for the Kafka commands [KAFKALAB_CONTEXT].")
@click.option("--schema-registry", metavar="URL",
              help="The Schema Registry of the schema commands and of --value-format [KAFKALAB_SCHEMA_REGISTRY; "
                   "default: the context's, or the lab's].")
@click.option("--connect-url", metavar="URL",
              help="The Kafka Connect REST API of the connector commands [KAFKALAB_CONNECT_URL; default: the "
                   "context's, or the lab's].")
@click.option("-v", "--verbose", is_flag=True, help="Show each docker command as it runs.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.pass_context
def cli(ctx: click.Context, /, verbose: bool, debug: bool, **flags: Any) -> None:
    """A local Kafka for development: start it, check it, reset it, use it.

    \b
      kafkalab up                 # KRaft Kafka 4 + kafka-ui, ready on localhost:9094
      kafkalab status             # health of the lab
      kafkalab down --volumes     # reset
    """
    # The options above are settings.GLOBAL_FLAGS, one each (tests/unit/test_cli.py checks it).
    ctx.obj = CliState({name: flags[name] for name in GLOBAL_FLAGS}, verbose, debug)


for command in (
    lab.up, lab.pull, lab.status, lab.down, lab.logs, lab.config, lab.connect, lab.doctor,
    topic.topic, records.produce, records.consume, group.group, schema.schema, connector.connector, declare.apply,
    declare.export, completion,
):
    cli.add_command(command)


def main() -> None:
    """The console script: `kafkalab`. (No gc.freeze() at exit: bench/bench_exit.py measured it saving
    0.003-0.039 s on `kafkalab down`, under the 0.1 s that would pay for it.)"""
    try:
        cli(prog_name="kafkalab")
    except SystemExit as exc:
        if complete.COMPLETE_VAR in os.environ:  # a Tab press: end at once (complete.end_now says why)
            complete.end_now(exc.code if isinstance(exc.code, int) else 1)
        raise
