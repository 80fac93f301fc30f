"""The worker config of the lab's Kafka Connect (`kafkalab up --with connect`): kafkalab writes it into the
lab's state folder (kafkalab.lab.state.connect_config) before `up`, and compose/services/connect.yaml
mounts it read-only. Plain text from the settings; no Docker, no HTTP.

May import: kafkalab.errors, kafkalab.lab.modes, kafkalab.lab.state (lazily); kafkalab.settings for its
types only (settings imports this module, lazily, for CONVERTERS).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from kafkalab.errors import ConfigError
from kafkalab.lab.modes import MODES, OPTIONAL

if TYPE_CHECKING:
    from kafkalab.settings import Settings

# The converters of the lab's worker by kafkalab's names (the key_converter and value_converter settings):
# their classes. avro is Confluent's, which reads the lab's Schema Registry; it is not in the Apache
# distribution: its jars go in the connect_plugins folder (docs/connect-service.md).
CONVERTERS = {
    "json": "org.apache.kafka.connect.json.JsonConverter",  # schemas.enable=false: plain JSON
    "json-schemas": "org.apache.kafka.connect.json.JsonConverter",  # schemas.enable=true: {"schema", "payload"}
    "string": "org.apache.kafka.connect.storage.StringConverter",
    "bytes": "org.apache.kafka.connect.converters.ByteArrayConverter",
    "avro": "io.confluent.connect.avro.AvroConverter",
}
GROUP_ID = "kafkalab-connect"
# The worker's own topics, in the lab's Kafka (modes.OPTIONAL's, which export leaves out): they hold the
# connectors, their offsets and their states.
TOPICS = dict(zip(("config", "offset", "status"), OPTIONAL["connect"].topics, strict=True))
# Where compose/services/connect.yaml links the distribution's FileStream connectors (a plugin folder of
# their own), and where compose/extra/connect-plugins.yaml mounts the connect_plugins folder.
DISTRIBUTION_PLUGINS = "/tmp/kafkalab-plugins"
USER_PLUGINS = "/opt/kafkalab/plugins"


def is_converter(raw: str) -> bool:
    """A converter's name (CONVERTERS) or a Java class name (a.b.C)."""
    return raw in CONVERTERS or bool(re.fullmatch(r"[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)+", raw))


def converter_lines(role: str, name: str, settings: Settings) -> list[str]:
    """The worker's key.converter or value.converter (role "key" or "value") and its settings, from
    kafkalab's name of it (settings.CONVERTERS) or a class name given as it is."""
    lines = [f"{role}.converter={CONVERTERS.get(name, name)}"]
    if name in ("json", "json-schemas"):
        lines.append(f"{role}.converter.schemas.enable={'true' if name == 'json-schemas' else 'false'}")
    if name == "avro":
        if "schema-registry" not in settings.with_:
            raise ConfigError(
                f"{role}_converter is avro, and the lab runs no Schema Registry for it to read.",
                "Start the lab with --with schema-registry,connect, or choose another converter (json, string, bytes).",
            )
        lines.append(f"{role}.converter.schema.registry.url={OPTIONAL['schema-registry'].internal_url}")
    return lines


def worker_config(settings: Settings) -> str:
    """The connect-distributed.properties of the lab's worker."""
    spec = MODES[settings.mode]
    replication = spec.replication
    plugins = [f"{DISTRIBUTION_PLUGINS}", *([USER_PLUGINS] if settings.connect_plugins else [])]
    port = OPTIONAL["connect"].container_port
    lines = [
        f"# The Kafka Connect worker of the lab {settings.project} ({settings.mode}), written by kafkalab at `up`.",
        f"bootstrap.servers={spec.internal_bootstrap}",
        f"group.id={GROUP_ID}",
        *(f"{kind}.storage.topic={topic}" for kind, topic in TOPICS.items()),
        *(f"{kind}.storage.replication.factor={replication}" for kind in TOPICS),
        *converter_lines("key", settings.key_converter, settings),
        *converter_lines("value", settings.value_converter, settings),
        f"listeners=http://0.0.0.0:{port}",
        "rest.advertised.host.name=connect",
        f"rest.advertised.port={port}",
        # 10 s, as Kafka's own config/connect-distributed.properties has it (the default is 60 s).
        "offset.flush.interval.ms=10000",
        f"plugin.path={','.join(plugins)}",
    ]
    if not settings.connect_plugins:
        # The distribution's plugins all have ServiceLoader manifests (the worker says so itself, in a
        # warning): found through them only, the worker skips scanning every class of its classpath by
        # reflection, 9.5 s of its start on a loaded machine. A user's plugins may have no manifests
        # (older ones): with connect_plugins, the default (hybrid_warn) finds them either way.
        lines.append("plugin.discovery=service_load")
    return "\n".join(lines) + "\n"


def write(settings: Settings) -> Path:
    """Write the worker config where the lab's Connect container mounts it; the worker runs as another
    user of its image (appuser), so the file is readable by all (it holds no secret)."""
    from kafkalab.lab import state

    if settings.connect_plugins and not Path(settings.connect_plugins).expanduser().is_dir():
        raise ConfigError(
            f"connect_plugins is {settings.connect_plugins}, which is no folder here.",
            "Give the folder that holds your connector plugins (each in a folder of its own, or a jar).",
        )
    path = state.connect_config(settings.project)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(worker_config(settings), encoding="utf-8")
    temporary.chmod(0o644)
    os.replace(temporary, path)
    return path
