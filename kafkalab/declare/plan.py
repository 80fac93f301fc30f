"""The declaration as a whole: KINDS (the one place the kinds of declared object are listed), the
Declaration of the found config file (load), the Plan that makes a cluster hold it (make_plan), its
carrying out (apply, and up's part of it), and a cluster read back as a declaration (export).

    from kafkalab.declare import plan
    declaration = plan.load()                           # exit 3 (ConfigError) for what is wrong in it
    cluster = plan.Cluster("localhost:9094", replication=1)
    found = plan.make_plan(declaration, cluster)
    applied = plan.apply(found, cluster)                # PlanRefused (exit 29) when it has refusals

Adding a kind of declared object ([connectors.NAME], say): a module with its parse(), its Steps and a
Kind (kafkalab.declare.base.Kind), its instance in KINDS, and its table's name in
kafkalab.settings.DECLARED_TABLES. The plan, apply, up's line, export and the CLI take it from there.

May import: kafkalab.errors, kafkalab.settings, kafkalab.declare.*.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kafkalab.declare.base import Cluster, Counted, Kind, Refusal, Step, Where, lab_cluster
from kafkalab.declare.connectors import ConnectorKind
from kafkalab.declare.locate import toml_key, toml_value
from kafkalab.declare.schemas import SchemaKind
from kafkalab.declare.topics import TopicKind
from kafkalab.errors import KafkalabError, KafkaRequestError, PlanRefused
from kafkalab.settings import DECLARED_TABLES, DeclaredTables, declared_tables

# In the order a plan carries them out: topics before the schemas of their records, and both before the
# connectors that read and write them.
KINDS: tuple[Kind, ...] = (TopicKind(), SchemaKind(), ConnectorKind())
assert tuple(k.table for k in KINDS) == DECLARED_TABLES, "a kind's table belongs in settings.DECLARED_TABLES"

__all__ = ["KINDS", "Applied", "Cluster", "Declaration", "Plan", "apply", "export", "lab_cluster", "load", "make_plan"]


@dataclasses.dataclass(frozen=True)
class Declaration:
    """The declared objects of one file, by kind's table, in the file's order."""

    path: Path | None
    objects: Mapping[str, tuple[Any, ...]]

    def of(self, kind: Kind) -> tuple[Any, ...]:
        return self.objects.get(kind.table, ())

    @property
    def empty(self) -> bool:
        return not any(self.objects.values())

    def count(self) -> str:
        """What it declares, in words: "2 topics, 1 schema"."""
        parts = [f"{len(found)} {kind.noun}{'' if len(found) == 1 else 's'}"
                 for kind in KINDS if (found := self.of(kind))]
        return ", ".join(parts) or "nothing"


def load(cwd: Path | None = None) -> Declaration:
    """The declaration of the found config file (kafkalab.toml, [tool.kafkalab] of pyproject.toml),
    every table checked and every file it names read: what is wrong is a ConfigError naming the
    file, the table and the line."""
    return parse(declared_tables(cwd))


def parse(found: DeclaredTables) -> Declaration:
    if found.path is None:
        return Declaration(None, {})
    objects: dict[str, tuple[Any, ...]] = {}
    for kind in KINDS:
        written = found.tables.get(kind.table, {})
        where = Where(found.path, (kind.table,), found.text, found.prefix)
        if not isinstance(written, dict):
            raise where.error(f"{kind.table} must be a table of [{kind.table}.NAME] tables.")
        objects[kind.table] = tuple(
            kind.parse(str(name), table, Where(found.path, (kind.table, str(name)), found.text, found.prefix))
            for name, table in written.items()
        )
    return Declaration(found.path, objects)


@dataclasses.dataclass(frozen=True)
class Plan:
    """The steps that make a cluster hold the declaration, and the differences no step may make."""

    declaration: Declaration
    steps: tuple[Step, ...]
    refused: tuple[Refusal, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"file": str(self.declaration.path) if self.declaration.path else None,
                "steps": [s.to_dict() for s in self.steps], "refused": [r.to_dict() for r in self.refused]}


def check(declaration: Declaration, cluster: Cluster) -> None:
    """What the declaration needs of the cluster (a Schema Registry for schemas), before anything starts."""
    for kind in KINDS:
        kind.check(declaration.of(kind), cluster)


def make_plan(declaration: Declaration, cluster: Cluster) -> Plan:
    """Compare the declaration with the cluster: asks it, changes nothing."""
    check(declaration, cluster)
    steps: list[Step] = []
    refused: list[Refusal] = []
    for kind in KINDS:
        found, no = kind.plan(declaration.of(kind), cluster)
        steps += found
        refused += no
    return Plan(declaration, tuple(steps), tuple(refused))


@dataclasses.dataclass(frozen=True)
class Applied:
    """What carrying out a plan did: its steps, what they did (counted), and the steps left out
    (up leaves the changes of what exists to `kafkalab apply`)."""

    plan: Plan
    done: tuple[Step, ...]
    counted: tuple[Counted, ...]
    left: tuple[Step, ...] = ()

    def summary(self) -> str:
        """What was done in one line: "2 topics created, 5 records seeded, 1 schema registered"."""
        totals: dict[tuple[str, str], int] = {}
        for c in self.counted:
            totals[(c.noun, c.verb)] = totals.get((c.noun, c.verb), 0) + c.count
        return ", ".join(f"{n:,} {noun}{'' if n == 1 else 's'} {verb}" for (noun, verb), n in totals.items()) \
            or "nothing to do"

    def notes(self) -> list[str]:
        """One line for each declared object that differs and was left as it is."""
        lines = []
        differing: dict[tuple[str, str], list[str]] = {}
        for step in self.left:
            differing.setdefault((step.kind, step.name), []).append(step.describe())
        for refusal in self.plan.refused:
            differing.setdefault((refusal.kind, refusal.name), []).append(refusal.why)
        for (kind, name), what in differing.items():
            lines.append(f"The {kind} {name} differs from its declaration ({'; '.join(what)}): left as it is; "
                         "`kafkalab apply` shows the plan.")
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {**self.plan.to_dict(), "applied": [s.to_dict() for s in self.done], "summary": self.summary()}


def refusal_error(plan: Plan) -> PlanRefused:
    first = plan.refused[0]
    more = f" (and {len(plan.refused) - 1} more)" if len(plan.refused) > 1 else ""
    return PlanRefused(
        f"The plan is refused, nothing of it was applied: {first.describe()}{more}.",
        "Declare what the cluster has there (`kafkalab export` prints it), or change the cluster by hand.",
    )


def apply(plan: Plan, cluster: Cluster, *, only_up: bool = False) -> Applied:
    """Carry out the plan's steps, in order. A plan with refusals is PlanRefused, before any step;
    so is a step the cluster would refuse (each is validated first: its error). only_up (what `up`
    does): only the steps that make what is missing, the rest left, refusals too."""
    chosen = validate(plan, cluster, only_up=only_up)
    counted: list[Counted] = []
    for step in chosen:
        counted += step.carry_out(cluster)
    left = tuple(step for step in plan.steps if step not in chosen)
    return Applied(plan, tuple(chosen), tuple(counted), left)


def validate(plan: Plan, cluster: Cluster, *, only_up: bool = False) -> list[Step]:
    """Ask the cluster whether it would take each step of the plan (the ones `up` carries out, with
    only_up), changing nothing: what apply does before any change, and all that `apply --dry-run`
    does. A plan with refusals is PlanRefused (not with only_up); a step the cluster refuses, its
    error, naming where the declaration writes what the broker refused. The steps to carry out."""
    if plan.refused and not only_up:
        raise refusal_error(plan)
    chosen = [step for step in plan.steps if step.on_up or not only_up]
    for step in chosen:  # what the cluster would refuse (a config it does not know), before any change
        try:
            step.validate(cluster)
        except KafkalabError as exc:
            exc.message = f"{exc.message.rstrip('.')}. Nothing of the plan was applied."
            table = next((kind.table for kind in KINDS if kind.noun == step.kind), "")
            where = next((d.where for d in plan.declaration.objects.get(table, ()) if d.name == step.name), None)
            if isinstance(exc, KafkaRequestError) and where is not None:  # the broker refused a declared value
                exc.hint = f"Fix the declaration at {where.at(*step.written())}; docs/declare.md shows every key."
            raise
    return chosen


def declare_on_up(declaration: Declaration, cluster: Cluster) -> Applied:
    """What `up` and the pytest plugin do: create what is missing (seeding only what they created) and
    register the schemas; note what differs."""
    return apply(make_plan(declaration, cluster), cluster, only_up=True)


# --- export ------------------------------------------------------------------------------------


def export(cluster: Cluster) -> dict[str, dict[str, dict[str, Any]]]:
    """The cluster's objects of every kind as declaration tables: {"topics": {"orders": {...}}, ...}."""
    return {kind.table: kind.export(cluster) for kind in KINDS}


def services(tables: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The lab's optional services the exported objects live in (schemas: "schema-registry"), for the
    `with` setting of the file: so that `up` with it on a new lab runs them (elsewhere `with` is unused)."""
    return [kind.service for kind in KINDS if kind.service and tables.get(kind.table)]


def to_json(tables: Mapping[str, Mapping[str, Any]]) -> str:
    """The tables as JSON, with "with" first as to_toml writes it (when it does)."""
    needed = services(tables)
    return json.dumps({"with": needed, **tables} if needed else tables, indent=2, ensure_ascii=False) + "\n"


def to_toml(tables: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> str:
    """The tables as a kafkalab.toml: the `with` setting the objects need (services()), then [KIND.NAME]
    headers and their keys."""
    needed = services(tables)
    blocks = [f"with = {toml_value(needed)}\n"] if needed else []
    for table, objects in tables.items():
        for name, values in objects.items():
            lines = [f"[{toml_key(table)}.{toml_key(name)}]"]
            lines += [f"{toml_key(key)} = {toml_value(value)}" for key, value in values.items()]
            blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)
