"""The group group: list, describe, reset-offsets, delete consumer groups; on the lab or any cluster.

May import: click, kafkalab.cli.{app,complete,options,render}; kafkalab.kafka lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from kafkalab.cli import complete, render
from kafkalab.cli.app import CliState, confirm
from kafkalab.cli.options import bootstrap_option, bootstrap_servers

if TYPE_CHECKING:
    from kafkalab.kafka.groups import ResetTarget


@click.group(short_help="List, describe, reset and delete consumer groups.")
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
    from kafkalab.kafka import groups

    found = groups.list_groups(bootstrap_servers(state, bootstrap_server))
    render.emit(found, as_json, render.groups)


@group.command("describe", short_help="Show a group's members, offsets and lag.")
@click.argument("name", shell_complete=complete.groups)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@bootstrap_option
@click.pass_obj
def group_describe(state: CliState, name: str, as_json: bool, bootstrap_server: str | None) -> None:
    """The members of group NAME and their partitions, and per partition the committed offset, the
    end offset and the lag between them.

    \b
      kafkalab group describe billing --json | jq .lag
    """
    from kafkalab.kafka import groups

    desc = groups.describe_group(bootstrap_servers(state, bootstrap_server), name)
    render.emit(desc, as_json, render.group_description)


def offset_target(
    to_earliest: bool, to_latest: bool, to_offset: int | None, shift_by: int | None, to_datetime: str | None,
) -> ResetTarget:
    from kafkalab.kafka.groups import ResetTarget
    from kafkalab.kafka.records import parse_time

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
@click.argument("name", shell_complete=complete.groups)
@click.option("--topic", "-t", required=True, metavar="TOPIC", shell_complete=complete.topics,
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
    from kafkalab.kafka import groups

    target = offset_target(to_earliest, to_latest, to_offset, shift_by, to_datetime)
    plan = groups.reset_offsets(bootstrap_servers(state, bootstrap_server), name, topic, target, execute=execute)
    render.emit(plan, as_json, render.reset_plan)
    if execute:
        render.say(f"Committed the new offsets of group {name} on {topic}.")
    else:
        render.say("Dry run: nothing was changed. Add --execute to commit these offsets.")


@group.command("delete", short_help="Delete a consumer group and its committed offsets.")
@click.argument("name", shell_complete=complete.groups)
@click.option("--yes", "-y", is_flag=True, help="Do not ask first.")
@bootstrap_option
@click.pass_obj
def group_delete(state: CliState, name: str, yes: bool, bootstrap_server: str | None) -> None:
    """Delete consumer group NAME with its committed offsets. Asks first; with no terminal to ask
    on, only with --yes (exit 15 without it). A group with active members is not deleted (exit 18).

    \b
      kafkalab group delete billing --yes
    """
    from kafkalab.kafka import groups

    bootstrap = bootstrap_servers(state, bootstrap_server)
    if not yes:
        confirm(f"Delete consumer group {name} and its committed offsets?", f"Group {name} was not deleted.")
    groups.delete_group(bootstrap, name)
    render.say(f"Deleted consumer group {name}.")
