"""The schema group: list, get, register, check, delete; on the lab's Schema Registry or any
(--schema-registry, a context's schema_registry).

May import: click, kafkalab.cli.{app,render}, kafkalab.errors; kafkalab.schemas and kafkalab.kafka.contexts
lazily (`kafkalab --help` must not load confluent_kafka).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from kafkalab.cli import render
from kafkalab.cli.app import CliState, confirm, work_begins
from kafkalab.errors import SchemaIncompatible

F = TypeVar("F", bound=Callable[..., Any])

if TYPE_CHECKING:
    from kafkalab.schemas.registry import Registry

SCHEMA_TYPES = ("avro", "json", "protobuf")  # kafkalab.schemas.registry.SCHEMA_TYPES, without importing it


def registry(state: CliState) -> Registry:
    """The registry of a schema command (contexts.resolve_registry: --schema-registry, the context's, the lab's)."""
    from kafkalab.kafka.contexts import resolve_registry
    from kafkalab.schemas.registry import Registry

    work_begins()
    return Registry(resolve_registry(state.flags))


def _version(_ctx: click.Context, _param: click.Parameter, value: str) -> int | str:
    if value == "latest":
        return value
    if value.isascii() and value.isdigit() and int(value) > 0:
        return int(value)
    raise click.BadParameter(f"{value!r} is not a version number (1, 2, ...) or latest.")


@click.group(short_help="List, get, register, check and delete schemas.")
def schema() -> None:
    """Schemas in the lab's Schema Registry (`kafkalab up --with schema-registry`), or in any with
    the global --schema-registry URL (or a context's schema_registry).

    \b
      kafkalab schema register orders-value --file order.avsc
      kafkalab schema list
      kafkalab --schema-registry http://localhost:8081/apis/ccompat/v7 schema get orders-value
    """


@schema.command("list", short_help="List the subjects.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def schema_list(state: CliState, as_json: bool) -> None:
    """Each subject with its latest version, its type and its schema id.

    \b
      kafkalab schema list --json | jq -r '.[].subject'
    """
    found = registry(state).subjects()
    render.emit(found, as_json, render.subjects)


@schema.command("get", short_help="Show a version of a subject's schema.")
@click.argument("subject")
@click.option("--version", "version", default="latest", show_default=True, callback=_version, metavar="N|latest",
              help="The version.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def schema_get(state: CliState, subject: str, version: int | str, as_json: bool) -> None:
    """The schema of SUBJECT at a version (the latest by default), with its id and type.

    \b
      kafkalab schema get orders-value --version 2
    """
    render.emit(registry(state).get(subject, version), as_json, render.schema_version)



def schema_file(f: F) -> F:
    """--file and --type, of `schema register` and `schema check`."""
    f = click.option("--type", "schema_type", type=click.Choice(SCHEMA_TYPES),
                     help="Its type [default: from the file's name: .avsc avro, .json json, .proto protobuf].")(f)
    return click.option("--file", "-f", "path", required=True,
                        type=click.Path(exists=True, dir_okay=False, path_type=Path), help="The schema file.")(f)

@schema.command("register", short_help="Register a schema under a subject.")
@click.argument("subject")
@schema_file
@click.pass_obj
def schema_register(state: CliState, subject: str, path: Path, schema_type: str | None) -> None:
    """Register the schema in --file under SUBJECT and print its id and version. A schema the
    subject has already keeps its version; one not compatible with the latest version (by the
    subject's compatibility rule) is refused with exit 26.

    \b
      kafkalab schema register orders-value --file order.avsc
    """
    from kafkalab.schemas.registry import read_schema, type_of

    kind = type_of(path, schema_type)
    found = registry(state).register(subject, read_schema(path), kind)
    render.say(f"Registered {path} under {subject}: id {found.id}, version {found.version}.")


@schema.command("check", short_help="Check a schema's compatibility with a subject's latest version.")
@click.argument("subject")
@schema_file
@click.pass_obj
def schema_check(state: CliState, subject: str, path: Path, schema_type: str | None) -> None:
    """Whether the schema in --file is compatible with SUBJECT's latest version: exit 0 if it is,
    26 with the registry's reasons if not.

    \b
      kafkalab schema check orders-value --file order-v2.avsc && kafkalab schema register orders-value -f order-v2.avsc
    """
    from kafkalab.schemas.registry import read_schema, type_of

    kind = type_of(path, schema_type)
    found = registry(state).check(subject, read_schema(path), kind)
    if not found.compatible:
        reasons = "; ".join(found.reasons) if found.reasons else "the registry gave no reasons"
        raise SchemaIncompatible(f"{path} is not compatible with the latest version of {subject}: {reasons}.")
    render.say(f"{path} is compatible with the latest version of {subject}.")


@schema.command("delete", short_help="Delete a subject, or one version of it.")
@click.argument("subject")
@click.option("--version", "version", type=click.IntRange(min=1), metavar="N", help="Only this version.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask first.")
@click.pass_obj
def schema_delete(state: CliState, subject: str, version: int | None, yes: bool) -> None:
    """Delete SUBJECT with all its versions, or only --version N. Asks first; with no terminal to
    ask on, only with --yes (exit 15 without it).

    \b
      kafkalab schema delete orders-value --yes
    """
    found = registry(state)
    what = f"version {version} of subject {subject}" if version is not None else f"subject {subject}"
    if not yes:
        confirm(f"Delete {what}?", f"{what[0].upper()}{what[1:]} was not deleted.")
    deleted = found.delete(subject, version)
    render.say(f"Deleted {what} ({render.plural(len(deleted), 'version')}: {', '.join(map(str, deleted))}).")
