"""[schemas."SUBJECT"]: a schema registered under a subject of the Schema Registry.

    [schemas."orders-value"]
    file = "schemas/order.avsc"     # relative to the file; its type from the suffix (.avsc, .json, .proto)
    # or the schema itself, as `kafkalab export` writes it:
    # schema = '{"type": "string"}'
    # type = "avro"                 # avro, json or protobuf: the file's suffix's, else avro

The plan registers a schema whose subject has none, or that none of its versions holds (the
registry's lookup, POST /subjects/SUBJECT): a new version, which the registry checks against the
subject's compatibility rule. A schema an older version holds is there: nothing to do. It deletes nothing.

May import: kafkalab.errors, kafkalab.declare.base, kafkalab.schemas.registry.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from kafkalab.declare.base import Cluster, Counted, Refusal, Step, Where, check_keys
from kafkalab.declare.locate import toml_value
from kafkalab.errors import InvalidSchema, SchemaIncompatible, SchemaNotFound
from kafkalab.schemas.registry import SCHEMA_TYPES, TYPE_OF_FILE, Registry, SchemaType

KEYS = ("file", "schema", "type")


@dataclasses.dataclass(frozen=True)
class DeclaredSchema:
    name: str  # the subject
    where: Where
    text: str
    type: SchemaType


def parse(name: str, written: Any, where: Where) -> DeclaredSchema:
    if not isinstance(written, dict):
        raise where.error('a schema\'s declaration must be a table, such as `file = "schemas/order.avsc"`.')
    check_keys(written, where, KEYS)
    if not name:
        raise where.error("a subject's name must not be empty.")
    given = [k for k in ("file", "schema") if k in written]
    if len(given) != 1:
        raise where.error("give either file (a schema file) or schema (its text), one of them.")
    raw_type = written.get("type")
    if raw_type is not None and raw_type not in SCHEMA_TYPES:
        raise where.error(f"type = {toml_value(raw_type)} is none of {', '.join(SCHEMA_TYPES)}.", key="type")
    value = written[given[0]]
    if not isinstance(value, str) or not value.strip():
        what = "a path." if given[0] == "file" else "a schema's text."
        raise where.error(f"{given[0]} = {toml_value(value)} is not {what}", key=given[0])
    if given[0] == "schema":
        return DeclaredSchema(name, where, value, raw_type or "avro")
    path = where.relative(value)
    schema_type = raw_type or TYPE_OF_FILE.get(Path(value).suffix.lower())
    if schema_type is None:
        raise where.error(f"the type of schema file {value} does not follow from its name (.avsc, .json or .proto).",
                          'Give it: type = "avro", "json" or "protobuf".', key="file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise where.error(f"schema file {path} cannot be read: {why}.",
                          "Give the path of a schema file, relative to the config file.", key="file") from None
    return DeclaredSchema(name, where, text, schema_type)


def same_schema(a: str, b: str, schema_type: str) -> bool:
    """The same schema, as text: JSON ones (Avro, JSON Schema) compared as JSON, so that a registry's
    own spacing is no difference."""
    if a.strip() == b.strip():
        return True
    if schema_type in ("avro", "json"):
        try:
            return bool(json.loads(a) == json.loads(b))
        except ValueError:
            return False
    return False


@dataclasses.dataclass(frozen=True)
class RegisterSchema(Step):
    action: ClassVar[str] = "register-schema"
    on_up: ClassVar[bool] = True
    kind: str
    name: str
    text: str
    type: SchemaType
    latest: int | None  # the subject's latest version; None: a new subject

    def describe(self) -> str:
        if self.latest is None:
            return f"register schema {self.name} ({self.type}, a new subject)"
        return f"register schema {self.name} ({self.type}, a new version after version {self.latest})"

    def details(self) -> dict[str, Any]:
        return {"type": self.type, "latest_version": self.latest}

    def validate(self, cluster: Cluster) -> None:
        """A new version must be compatible with the subject's latest, by the subject's rule; a new
        subject's Avro or JSON Schema must be JSON."""
        assert cluster.registry is not None  # SchemaKind.check saw to it
        if self.latest is None:  # nothing to be compatible with: an Avro or JSON Schema must be JSON, at least
            try:
                if self.type in ("avro", "json"):
                    json.loads(self.text)
            except ValueError as exc:
                raise InvalidSchema(f"The schema of {self.name} is not JSON: {exc}.") from None
            return
        found = Registry(cluster.registry).check(self.name, self.text, self.type)
        if not found.compatible:
            reasons = "; ".join(found.reasons) or "the registry gave no reason"
            raise SchemaIncompatible(f"The schema of {self.name} is not compatible with its version {self.latest} at "
                                     f"{cluster.registry.url}: {reasons}.")

    def carry_out(self, cluster: Cluster) -> list[Counted]:
        assert cluster.registry is not None  # SchemaKind.check saw to it
        Registry(cluster.registry).register(self.name, self.text, self.type)
        return [Counted(1, "schema", "registered")]


class SchemaKind:
    table = "schemas"
    noun = "schema"
    service = "schema-registry"

    def parse(self, name: str, written: Any, where: Where) -> DeclaredSchema:
        return parse(name, written, where)

    def check(self, declared: Sequence[Any], cluster: Cluster) -> None:
        if declared and cluster.registry is None:
            first: DeclaredSchema = declared[0]
            raise first.where.error(
                f"schemas are declared, and {cluster.missing_registry}.",
                "Start the lab with `kafkalab up --with schema-registry` (or `with = [\"schema-registry\"]` in the "
                "config file), or give a registry with --schema-registry URL.",
            )

    def plan(self, declared: Sequence[Any], cluster: Cluster) -> tuple[list[Step], list[Refusal]]:
        if not declared:
            return [], []
        assert cluster.registry is not None
        registry = Registry(cluster.registry)
        steps: list[Step] = []
        for schema in declared:
            try:
                latest = registry.get(schema.name)
            except SchemaNotFound:
                steps.append(RegisterSchema("schema", schema.name, schema.text, schema.type, None))
                continue
            if same_schema(latest.schema, schema.text, schema.type):
                continue  # the latest version, whatever its spacing
            if registry.lookup(schema.name, schema.text, schema.type) is None:  # nor an older version
                steps.append(RegisterSchema("schema", schema.name, schema.text, schema.type, latest.version))
        return steps, []

    def export(self, cluster: Cluster) -> dict[str, dict[str, Any]]:
        if cluster.registry is None:
            return {}
        registry = Registry(cluster.registry)
        return {s.subject: {"schema": registry.get(s.subject).schema, "type": s.type} for s in registry.subjects()}

