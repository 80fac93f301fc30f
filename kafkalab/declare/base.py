"""What every kind of declared object shares: where it is written (Where, and the errors that name
it), the cluster a plan is made for (Cluster), the steps of a plan (Step) and refusals (Refusal), and
what a kind of declared object does (Kind). A new kind ([users.NAME], [connectors.NAME]) is a Kind
with its own Steps, added to kafkalab.declare.plan.KINDS.

May import: kafkalab.errors, kafkalab.kafka.contexts, kafkalab.connectors.client, kafkalab.lab.modes,
kafkalab.declare.locate; kafkalab.settings inside functions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from kafkalab.connectors.client import ConnectTarget
from kafkalab.declare.locate import locate, toml_key, toml_value
from kafkalab.errors import ConfigError
from kafkalab.kafka.contexts import RegistryTarget
from kafkalab.lab.modes import MODES, OPTIONAL

if TYPE_CHECKING:
    from kafkalab.settings import Settings


@dataclasses.dataclass(frozen=True)
class Where:
    """Where a declared object is written: the file, its table's path in the file (("topics",
    "orders"), after the prefix of [tool.kafkalab] in pyproject.toml), and the file's text."""

    path: Path
    table: tuple[str, ...]
    text: str = dataclasses.field(default="", repr=False, compare=False)
    prefix: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The table as its header writes it: [topics.orders], [schemas."orders-value"]."""
        return "[" + ".".join(toml_key(part) for part in self.table) + "]"

    def line(self, *keys: str) -> int | None:
        """The line of the table (or of one of its keys, nested ones too: "config", "retention.ms"; else
        the table's), or None if not found."""
        full = self.prefix + self.table
        found = locate(self.text, (*full, *keys)) if keys else None
        return found or locate(self.text, full)

    def at(self, *keys: str) -> str:
        """Where in the file, as errors name it: "kafkalab.toml, line 4, [topics.orders]"."""
        line = self.line(*keys)
        return f"{self.path}, line {line}, {self.name}" if line is not None else f"{self.path}, {self.name}"

    def error(self, what: str, hint: str | None = None, *, key: str | None = None) -> ConfigError:
        """A declaration error (exit 3) naming the file, the line and the table."""
        return ConfigError(f"{self.at(*(() if key is None else (key,)))}: {what}", hint or DECLARATION_HINT)

    def relative(self, written: str) -> Path:
        """A path written in the declaration: relative to the file's folder."""
        return (self.path.parent / Path(written).expanduser()).resolve() if written else self.path.parent


DECLARATION_HINT = "Fix the declaration at that line; docs/declare.md shows every key."


def check_keys(written: Mapping[str, Any], where: Where, known: Sequence[str]) -> None:
    """An unknown key of a declared object's table is an error naming it, and the known ones."""
    for key in written:
        if key not in known:
            raise where.error(f"unknown key {key!r}.", f"The keys of a {where.table[0]} table: {', '.join(known)}.",
                              key=key)


def whole(written: Mapping[str, Any], key: str, where: Where, *, low: int, high: int) -> int | None:
    """An integer key's value between low and high, None when not written."""
    value = written.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise where.error(f"{key} = {toml_value(value)} is not a whole number from {low} to {high:,}.", key=key)
    return value


def flatten(table: Mapping[str, Any], where: Where, key: str) -> list[tuple[str, Any]]:
    """A table of configs (a topic's, a connector's) as one level, in the file's order. TOML reads an
    unquoted dotted key (`tasks.max = 1`, in a `[connectors.NAME.config]` table or an inline one) as
    nested tables ({"tasks": {"max": 1}}): their keys are joined with "." again ("tasks.max"). An
    empty table stays a value (which no config takes); a key written twice (quoted and dotted) is an error."""
    found: list[tuple[str, Any]] = []

    def walk(part: Mapping[str, Any], prefix: str) -> None:
        for name, value in part.items():
            if isinstance(value, Mapping) and value:
                walk(value, f"{prefix}{name}.")
            else:
                found.append((f"{prefix}{name}", value))

    walk(table, "")
    seen: set[str] = set()
    for name, _value in found:
        if name in seen:
            raise where.error(f"{key} {name!r} is written twice (quoted and as a dotted key).", key=key)
        seen.add(name)
    return found


def config_text(value: Any) -> str | None:
    """A config's value as Kafka and Kafka Connect take it: text; TOML's numbers and booleans as their
    text. None: no value of a config (an array, a table)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


@dataclasses.dataclass(frozen=True)
class Cluster:
    """What a plan is made for and carried out on: the brokers (with the client settings of the
    command in force), a new topic's default replication (the lab mode's; -1, the broker's own,
    elsewhere), the Schema Registry (None: there is none, `missing_registry` says why), and the Kafka
    Connect REST API (None: there is none, `missing_connect` says why)."""

    bootstrap: str
    replication: int = -1
    registry: RegistryTarget | None = None
    missing_registry: str = "the lab runs no Schema Registry"
    lab: bool = True
    connect: ConnectTarget | None = None
    missing_connect: str = "the lab runs no Kafka Connect"


def lab_cluster(settings: Settings) -> Cluster:
    """A lab as a declaration's plan sees it: its brokers, its mode's replication, its registry, its Connect."""
    registry = RegistryTarget(settings.schema_registry_url, None, lab=True) if "schema-registry" in settings.with_ \
        else None
    connect = ConnectTarget(OPTIONAL["connect"].url(settings), lab=True) if "connect" in settings.with_ else None
    return Cluster(settings.lab_bootstrap, MODES[settings.mode].replication, registry,
                   not_run(settings, "Schema Registry"), connect=connect,
                   missing_connect=not_run(settings, "Kafka Connect"))


def not_run(settings: Settings, service: str) -> str:
    """Why the lab has no such service: it runs none (its record, the default), or a with setting given
    (the config file's, --with, KAFKALAB_WITH) leaves it out, whatever the lab runs now."""
    from kafkalab.settings import RECORD_SOURCE

    source = settings.sources.get("with_", "default")
    if source in ("default", RECORD_SOURCE):
        return f"the lab {settings.project} runs no {service}"
    given = {"flag": "--with"}.get(source, f"the with setting of {source}")
    return f"the lab {settings.project} would run no {service}: {given} leaves it out"


@dataclasses.dataclass(frozen=True)
class Counted:
    """What a step did, for up's one line: `count` `noun`s `verb` (2 topics created)."""

    count: int
    noun: str
    verb: str


class Step:
    """One change of a plan, of one declared object. Subclasses are frozen dataclasses with a
    `kind` and a `name` (the object's), and say what they do (describe), as data (to_dict), whether
    the cluster would take it (validate), and do it (carry_out). `on_up`: `up` carries it out too
    (making what is missing); the others only `kafkalab apply` does, and `up` notes them."""

    action: ClassVar[str] = ""
    on_up: ClassVar[bool] = False
    kind: str
    name: str

    @property
    def mark(self) -> str:
        """The plan's mark of the step: + it creates (what `up` makes too), ~ it changes what exists."""
        return "+" if self.on_up else "~"

    def describe(self) -> str:
        raise NotImplementedError

    def details(self) -> dict[str, Any]:
        return {}

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "kind": self.kind, "name": self.name, **self.details(),
                "description": self.describe()}

    def written(self) -> tuple[str, ...]:
        """The keys of the object's table that the step comes from (("config", "retention.ms")), for
        the line an error names; (): the table."""
        return ()

    def validate(self, cluster: Cluster) -> None:
        """Ask the cluster whether it would take the step, changing nothing (Kafka's validate_only, a
        registry's compatibility check): every step of a plan is asked before any is carried out."""
        return None

    def carry_out(self, cluster: Cluster) -> list[Counted]:
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class Refusal:
    """A difference no plan may make (a topic shrunk, its replication factor changed): why, by object."""

    kind: str
    name: str
    why: str

    def describe(self) -> str:
        return f"{self.kind} {self.name}: {self.why}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "why": self.why}


class Declared(Protocol):
    """A declared object: its name and where it is written."""

    @property
    def name(self) -> str: ...

    @property
    def where(self) -> Where: ...


class Kind(Protocol):
    """A kind of declared object, the one place it is known: its table in the config file, how a
    table of it is read, what it needs of the cluster, the plan for it, and how a cluster's are
    written back (export)."""

    table: str  # "topics": its [topics.NAME] tables
    noun: str  # "topic"
    service: str  # the lab's optional service its objects live in ("schema-registry"), "" for the brokers

    def parse(self, name: str, written: Any, where: Where) -> Declared:
        """One [TABLE.NAME] table, checked (Where.error for what is wrong)."""
        ...

    def check(self, declared: Sequence[Any], cluster: Cluster) -> None:
        """Before anything is asked of the cluster: what the declared objects need of it."""
        ...

    def plan(self, declared: Sequence[Any], cluster: Cluster) -> tuple[list[Step], list[Refusal]]:
        """The steps that make the cluster hold the declared objects, and what no step may do."""
        ...

    def export(self, cluster: Cluster) -> dict[str, dict[str, Any]]:
        """The cluster's objects of this kind, by name, as tables that `parse` takes back unchanged."""
        ...
