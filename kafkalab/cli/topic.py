"""The topic group: create, list, describe, delete; on the lab or any cluster (-b, a context).

May import: click, kafkalab.cli.{app,complete,options,render}; kafkalab.kafka lazily.
"""

from __future__ import annotations

import click

from kafkalab.cli import complete, render
from kafkalab.cli.app import CliState, confirm
from kafkalab.cli.options import TARGET_REPLICATION, bootstrap_option, bootstrap_servers, pairs_callback
from kafkalab.kafka.topics import MAX_PARTITIONS, MAX_REPLICATION


@click.group(short_help="Create, list, describe and delete topics.")
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
@click.option("--config", "configs", multiple=True, metavar="KEY=VALUE", callback=pairs_callback,
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
    from kafkalab.kafka import topics

    bootstrap = bootstrap_servers(state, bootstrap_server)
    if replication is None:
        replication = click.get_current_context().meta[TARGET_REPLICATION]
    created = topics.create_topic(
        bootstrap, name, partitions, replication, dict(configs), if_not_exists=if_not_exists,
    )
    if created:
        if replication < 0:  # the broker chose it: say what it chose
            replication = next((t.replication for t in topics.list_topics(bootstrap) if t.name == name), replication)
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
    from kafkalab.kafka import topics

    found = topics.list_topics(bootstrap_servers(state, bootstrap_server), include_internal=show_all)
    render.emit(found, as_json, render.topics)


@topic.command("describe", short_help="Show a topic's partitions, offsets and configs.")
@click.argument("name", shell_complete=complete.topics)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@bootstrap_option
@click.pass_obj
def topic_describe(state: CliState, name: str, as_json: bool, bootstrap_server: str | None) -> None:
    """Per partition the leader, replicas, in-sync replicas, start and end offsets; and the configs
    set on the topic (those that differ from the cluster's defaults).

    \b
      kafkalab topic describe orders --json | jq '.partitions[].end_offset'
    """
    from kafkalab.kafka import topics

    desc = topics.describe_topic(bootstrap_servers(state, bootstrap_server), name)
    render.emit(desc, as_json, render.topic_description)


@topic.command("delete", short_help="Delete a topic and its messages.")
@click.argument("name", shell_complete=complete.topics)
@click.option("--yes", "-y", is_flag=True, help="Do not ask first.")
@bootstrap_option
@click.pass_obj
def topic_delete(state: CliState, name: str, yes: bool, bootstrap_server: str | None) -> None:
    """Delete topic NAME with all its messages. Asks first; with no terminal to ask on, only
    with --yes (exit 15 without it).

    \b
      kafkalab topic delete orders --yes
    """
    from kafkalab.kafka import topics

    bootstrap = bootstrap_servers(state, bootstrap_server)
    if not yes:
        confirm(f"Delete topic {name} and its messages?", f"Topic {name} was not deleted.")
    topics.delete_topic(bootstrap, name)
    render.say(f"Deleted topic {name}.")
