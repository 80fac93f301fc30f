"""[connectors.NAME]: a connector of the lab's Kafka Connect (or of the Connect cluster given).

    [connectors.lines-in]
    config = { "connector.class" = "FileStreamSource", file = "/tmp/lines.txt", topic = "lines" }

The plan creates a connector that is missing and updates one whose config differs (both with
PUT /connectors/NAME/config, which `up` does too: a connector's config is the worker's to take, and
taking it again changes no data), each first validated by the worker (its validate endpoint, which
changes nothing). It deletes nothing: a connector not declared is left alone.

May import: kafkalab.errors, kafkalab.declare.base, kafkalab.connectors.client.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, ClassVar

from kafkalab.connectors.client import Connect
from kafkalab.declare.base import Cluster, Counted, Refusal, Step, Where, check_keys, config_text, flatten
from kafkalab.declare.locate import toml_key, toml_value
from kafkalab.errors import InvalidConnectorConfig

KEYS = ("config",)


@dataclasses.dataclass(frozen=True)
class DeclaredConnector:
    name: str
    where: Where
    config: tuple[tuple[str, str], ...]  # in the file's order

    @property
    def settings(self) -> dict[str, str]:
        return dict(self.config)


def parse(name: str, written: Any, where: Where) -> DeclaredConnector:
    example = '`config = { "connector.class" = "FileStreamSource", file = "/tmp/in.txt", topic = "lines" }`'
    if not isinstance(written, dict):
        raise where.error(f"a connector's declaration must be a table, such as {example}.")
    check_keys(written, where, KEYS)
    if not name or "/" in name:
        raise where.error(f"{name!r} is no connector name: give one without '/'.")
    config = written.get("config")
    if not isinstance(config, dict) or not config:
        raise where.error(f"config must be a table of the connector's settings, such as {example}.", key="config")
    found = []
    for key, value in flatten(config, where, "config"):  # [connectors.NAME.config]'s `tasks.max = 1` too
        text = config_text(value)
        if text is None:
            raise where.error(f"config {toml_key(key)} = {toml_value(value)} is no setting's value: give text, a "
                              "number or true/false.",
                              key="config")
        found.append((key, text))
    if "connector.class" not in dict(found):
        raise where.error("config has no connector.class: the class (or alias) of the connector, such as "
                          '"FileStreamSource".', key="config")
    return DeclaredConnector(name, where, tuple(found))


@dataclasses.dataclass(frozen=True)
class PutConnector(Step):
    action: ClassVar[str] = "put-connector"
    on_up: ClassVar[bool] = True
    kind: str
    name: str
    config: tuple[tuple[str, str], ...]
    exists: bool  # its config differs (an update); False: a new connector
    changed: tuple[str, ...] = ()  # an update's keys that differ (set, changed or no longer declared)

    @property
    def mark(self) -> str:
        return "~" if self.exists else "+"

    def describe(self) -> str:
        cls = dict(self.config)["connector.class"]
        if not self.exists:
            return f"create connector {self.name} ({cls})"
        return f"update connector {self.name} ({cls}): {', '.join(self.changed)} differ" + \
            ("s" if len(self.changed) == 1 else "")

    def details(self) -> dict[str, Any]:
        return {"config": dict(self.config), "exists": self.exists, "changed": list(self.changed)}

    def validate(self, cluster: Cluster) -> None:
        assert cluster.connect is not None  # ConnectorKind.check saw to it
        errors = Connect(cluster.connect).validate(self.name, dict(self.config))
        if errors:
            raise InvalidConnectorConfig(f"Kafka Connect at {cluster.connect.url} refused the config of connector "
                                         f"{self.name}: {'; '.join(errors)}.")

    def carry_out(self, cluster: Cluster) -> list[Counted]:
        assert cluster.connect is not None
        Connect(cluster.connect).put_config(self.name, dict(self.config))
        return [Counted(1, "connector", "updated" if self.exists else "created")]


def differing(have: dict[str, str], want: dict[str, str]) -> tuple[str, ...]:
    """The config keys whose values differ, declared or set on the connector (but its name), in the
    declaration's order then the connector's: only names, as a value may be a secret. Pure: unit-tested."""
    keys = [*want, *(k for k in have if k not in want and k != "name")]
    return tuple(k for k in keys if have.get(k) != want.get(k))


class ConnectorKind:
    table = "connectors"
    noun = "connector"
    service = "connect"

    def parse(self, name: str, written: Any, where: Where) -> DeclaredConnector:
        return parse(name, written, where)

    def check(self, declared: Sequence[Any], cluster: Cluster) -> None:
        if declared and cluster.connect is None:
            first: DeclaredConnector = declared[0]
            raise first.where.error(
                f"connectors are declared, and {cluster.missing_connect}.",
                "Start the lab with `kafkalab up --with connect` (or `with = [\"connect\"]` in the config file), "
                "or give a Connect cluster with --connect-url URL.",
            )

    def plan(self, declared: Sequence[Any], cluster: Cluster) -> tuple[list[Step], list[Refusal]]:
        if not declared:
            return [], []
        assert cluster.connect is not None
        existing = Connect(cluster.connect).configs()
        steps: list[Step] = []
        for connector in declared:
            have = existing.get(connector.name)
            if have is None or have != {**connector.settings, "name": connector.name}:
                changed = differing(have, connector.settings) if have is not None else ()
                steps.append(PutConnector("connector", connector.name, connector.config, have is not None, changed))
        return steps, []

    def export(self, cluster: Cluster) -> dict[str, dict[str, Any]]:
        if cluster.connect is None:
            return {}
        return {name: {"config": {k: v for k, v in config.items() if k != "name"}}
                for name, config in Connect(cluster.connect).configs().items()}
