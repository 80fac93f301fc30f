"""The commands of the lab as code: apply (make a cluster hold the declaration of the config file)
and export (a cluster's topics, schemas and connectors as a declaration). On the lab or any cluster
(-b, a context, --schema-registry, --connect-url), as the Kafka commands.

May import: click, kafkalab.cli.{app,options,render}; kafkalab.declare, kafkalab.kafka and
kafkalab.settings lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from kafkalab.cli import render
from kafkalab.cli.app import CliState
from kafkalab.cli.options import TARGET_REPLICATION, bootstrap_option, bootstrap_servers

if TYPE_CHECKING:
    from kafkalab.declare.base import Cluster


def target_cluster(state: CliState, bootstrap_server: str | None, *, registry: bool, connect: bool) -> Cluster:
    """The cluster of apply and export, as the Kafka commands find theirs (-b, the context, the
    setting, the lab), with registry its Schema Registry as the schema commands find theirs
    (--schema-registry, the context's, the setting, the lab's when it runs one), and with connect its
    Kafka Connect as the connector commands find theirs (--connect-url, the context's, the lab's)."""
    import dataclasses

    from kafkalab.kafka.contexts import resolve_connect

    cluster = registry_cluster(state, bootstrap_server, registry=registry)
    target = resolve_connect(state.flags) if connect else None
    if target is None:
        return dataclasses.replace(cluster, connect=None, missing_connect="no Kafka Connect was asked for")
    if target.lab and not cluster.lab:
        return dataclasses.replace(cluster, connect=None,
                                   missing_connect=f"no Kafka Connect is given for {cluster.bootstrap}")
    if target.lab:  # the lab's worker, when it runs one (lab_cluster's connect, else why not)
        from kafkalab.declare.base import lab_cluster
        from kafkalab.settings import resolve

        lab = lab_cluster(resolve({k: v for k, v in state.flags.items() if v is not None}).with_record())
        return dataclasses.replace(cluster, connect=lab.connect, missing_connect=lab.missing_connect)
    return dataclasses.replace(cluster, connect=target)


def registry_cluster(state: CliState, bootstrap_server: str | None, *, registry: bool) -> Cluster:
    """target_cluster's brokers and Schema Registry."""
    from kafkalab.declare.base import Cluster, lab_cluster
    from kafkalab.kafka.contexts import resolve_registry
    from kafkalab.settings import resolve

    bootstrap = bootstrap_servers(state, bootstrap_server)
    ctx = click.get_current_context()
    replication = ctx.meta[TARGET_REPLICATION]
    lab = replication > 0  # resolve_target gives a replication of its own to the lab's address only
    if not registry:
        return Cluster(bootstrap, replication, None, "no Schema Registry was asked for", lab)
    target = resolve_registry(state.flags)
    if target.lab and lab:
        return lab_cluster(resolve({k: v for k, v in state.flags.items() if v is not None}).with_record())
    if target.lab:
        return Cluster(bootstrap, replication, None, f"no Schema Registry is given for {bootstrap}", lab)
    return Cluster(bootstrap, replication, target, "", lab)


@click.command(short_help="Make the lab (or a cluster) hold the declared topics, schemas and connectors.")
@click.option("--dry-run", is_flag=True, help="Print the plan, have the cluster validate every step, change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan (and what was applied) as JSON.")
@bootstrap_option
@click.pass_obj
def apply(state: CliState, dry_run: bool, as_json: bool, bootstrap_server: str | None) -> None:
    """Compare the declaration of the config file ([topics.NAME], [schemas."SUBJECT"], [connectors.NAME]
    in kafkalab.toml or [tool.kafkalab]) with the lab, print the plan, and carry it out: create topics
    (seeding them), add partitions, set or reset configs, register new schema versions, create or
    update connectors (on the lab's Kafka Connect, or --connect-url). It never deletes a topic,
    shrinks one or changes its replication factor: such a plan is refused whole, exit 29, nothing
    applied. Exit 3 for an error in the declaration. On any cluster with -b or a context.
    --dry-run changes nothing, and exits as apply would: every step is validated first.

    \b
      kafkalab apply --dry-run
      kafkalab --context dev apply
    """
    from kafkalab.declare import plan as declared

    declaration = declared.load()
    cluster = target_cluster(state, bootstrap_server, registry=bool(declaration.objects.get("schemas")),
                             connect=bool(declaration.objects.get("connectors")))
    found = declared.make_plan(declaration, cluster)
    if declaration.path is None:
        render.say("No config file declares anything: no kafkalab.toml or [tool.kafkalab] here or above.")
    if not as_json:
        show_plan(found, cluster.bootstrap)
    if found.refused:
        if as_json:
            render.print_json({**found.to_dict(), "applied": [], "dry_run": dry_run})
        raise declared.refusal_error(found)
    if dry_run:  # every step asked whether the cluster would take it (validate_only, ...): exits as apply would
        declared.validate(found, cluster)
        if as_json:
            render.print_json({**found.to_dict(), "applied": [], "dry_run": True})
        elif found.steps:
            render.say("Dry run: nothing was changed.")
        return
    applied = declared.apply(found, cluster)
    if as_json:
        render.print_json({**applied.to_dict(), "dry_run": False})
    elif found.steps:
        render.say(f"Applied: {applied.summary()}.")


def show_plan(found: object, bootstrap: str) -> None:
    from kafkalab.declare.plan import Plan

    assert isinstance(found, Plan)
    if not found.steps and not found.refused:
        what = found.declaration.count()
        render.say(f"Nothing to do: {bootstrap} holds the {what} declared." if what != "nothing" else "Nothing to do.")
        return
    refused = f", {len(found.refused)} refused" if found.refused else ""
    lines = [f"Plan for {bootstrap} ({render.plural(len(found.steps), 'step')}{refused}):"]
    lines += [f"  {step.mark} {step.describe()}" for step in found.steps]
    lines += [f"  ! refused: {refusal.describe()}" for refusal in found.refused]
    click.echo("\n".join(lines))  # the plan is the command's data: stdout


@click.command(short_help="Print the lab's topics, schemas and connectors as a declaration.")
@click.option("--format", "fmt", type=click.Choice(["toml", "json"]), default="toml", show_default=True,
              help="toml: [topics.NAME], [schemas.\"SUBJECT\"] and [connectors.NAME] tables for kafkalab.toml; "
                   "json: the same as JSON.")
@bootstrap_option
@click.pass_obj
def export(state: CliState, fmt: str, bootstrap_server: str | None) -> None:
    """Print the topics of the lab (or of a cluster: -b, a context) but Kafka's internal ones, with
    their partitions, replication factor and the configs that differ from the broker's defaults,
    the latest schema of each subject of its Schema Registry, and the config of each connector of its
    Kafka Connect: a declaration that `kafkalab apply` takes unchanged, with the `with` setting that
    `up` needs for them (schema-registry, connect).

    \b
      kafkalab export > kafkalab.toml
      kafkalab export --format json | jq '.topics | keys'
    """
    from kafkalab.declare import plan as declared

    cluster = target_cluster(state, bootstrap_server, registry=True, connect=True)
    tables = declared.export(cluster)
    text = declared.to_json(tables) if fmt == "json" else declared.to_toml(tables)
    click.echo(text, nl=False)
