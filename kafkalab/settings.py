"""Resolves kafkalab's settings: flags, then KAFKALAB_* environment, then a config file, then defaults.

The config file is ``[tool.kafkalab]`` in ./pyproject.toml, or the top level of ./kafkalab.toml.
Every resolved value remembers where it came from, for `kafkalab config`.
The environment names are the ones the compose files interpolate, so `Settings.compose_env()` is
all that `docker compose` needs to run kafkalab's stacks.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, cast

from kafkalab.errors import ConfigError

Mode = Literal["kraft", "zookeeper", "cluster"]
PullPolicy = Literal["missing", "never", "always"]
MODES: tuple[Mode, ...] = ("kraft", "zookeeper", "cluster")
# How many brokers each mode runs: `up` waits until that many answer.
BROKERS: dict[str, int] = {"kraft": 1, "zookeeper": 1, "cluster": 3}
PULL_POLICIES: tuple[PullPolicy, ...] = ("missing", "never", "always")

# Public images, pinned. Test beds swap them through the KAFKALAB_IMAGE_* settings.
DEFAULT_IMAGES = {
    "image_kafka": "apache/kafka:4.4.0",
    "image_kafka_zk": "confluentinc/cp-kafka:7.9.1",
    "image_zookeeper": "confluentinc/cp-zookeeper:7.9.1",
    "image_ui": "ghcr.io/kafbat/kafka-ui:v1.5.0",
}


@dataclasses.dataclass(frozen=True)
class Settings:
    mode: Mode = "kraft"
    project: str = "kafkalab"
    port: int = 9094
    ui_port: int = 8080
    zookeeper_port: int = 2181
    cluster_name: str = "local"
    image_kafka: str = DEFAULT_IMAGES["image_kafka"]
    image_kafka_zk: str = DEFAULT_IMAGES["image_kafka_zk"]
    image_zookeeper: str = DEFAULT_IMAGES["image_zookeeper"]
    image_ui: str = DEFAULT_IMAGES["image_ui"]
    pull: PullPolicy = "missing"
    timeout: float = 120.0
    bootstrap_server: str = ""
    # Where each value came from: "flag", "env KAFKALAB_X", "pyproject.toml", "kafkalab.toml", "default".
    sources: Mapping[str, str] = dataclasses.field(default_factory=dict, compare=False, repr=False)

    @property
    def bootstrap_servers(self) -> str:
        """The address clients use: --bootstrap-server when given, else the lab's external listener."""
        return self.bootstrap_server or f"localhost:{self.port}"

    @property
    def ui_url(self) -> str:
        return f"http://localhost:{self.ui_port}"

    @property
    def host_ports(self) -> dict[str, int]:
        """The ports this stack publishes on 127.0.0.1, by what they are for."""
        ports = {"kafka": self.port, "kafka-ui": self.ui_port}
        if self.mode == "zookeeper":
            ports["zookeeper"] = self.zookeeper_port
        if self.mode == "cluster":  # each broker has its own EXTERNAL listener, on the next ports
            ports.update({"kafka-2": self.port + 1, "kafka-3": self.port + 2})
        return ports

    def compose_env(self) -> dict[str, str]:
        """The variables the compose files interpolate."""
        env = {env_name(f.name): str(getattr(self, f.name)) for f in _fields() if f.name in _COMPOSE_VARS}
        env.update({"KAFKALAB_PORT_2": str(self.port + 1), "KAFKALAB_PORT_3": str(self.port + 2)})
        return env

    def replace(self, **changes: Any) -> Settings:
        """A copy with some values set by the caller (None leaves a value as it is)."""
        given = {name: _coerce(name, value, "argument") for name, value in changes.items() if value is not None}
        sources = {**self.sources, **{name: "argument" for name in given}}
        return dataclasses.replace(self, **given, sources=sources)

    def as_rows(self) -> list[tuple[str, str, str]]:
        return [(f.name, str(getattr(self, f.name)), self.sources.get(f.name, "default")) for f in _fields()]


_COMPOSE_VARS = {
    "project", "port", "ui_port", "zookeeper_port", "cluster_name", "pull",
    "image_kafka", "image_kafka_zk", "image_zookeeper", "image_ui",
}


def _fields() -> list[dataclasses.Field[Any]]:
    return [f for f in dataclasses.fields(Settings) if f.name != "sources"]


def env_name(field: str) -> str:
    return "KAFKALAB_" + field.upper()


def resolve(
    flags: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    _sources: Mapping[str, str] | None = None,
) -> Settings:
    """Build Settings from flags (None means "not given"), the environment and the config file."""
    env = os.environ if env is None else env
    file_values, file_name = _read_config_file(cwd or Path.cwd())
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for field in _fields():
        name = field.name
        flag = (flags or {}).get(name)
        if flag is not None:
            raw, source = flag, (_sources or {}).get(name, "flag")
        elif env.get(env_name(name), "") != "":
            raw, source = env[env_name(name)], f"env {env_name(name)}"
        elif name in file_values:
            raw, source = file_values[name], file_name
        else:
            continue
        values[name] = _coerce(name, raw, source)
        sources[name] = source
    return Settings(**values, sources=sources)


def _coerce(name: str, raw: Any, source: str) -> Any:
    def bad(why: str) -> ConfigError:
        return ConfigError(f"Bad value for {name} ({source}): {raw!r} {why}.")

    if name in ("port", "ui_port", "zookeeper_port"):
        try:
            port = int(raw)
        except (TypeError, ValueError):
            raise bad("is not a port number") from None
        if not 1 <= port <= 65535:
            raise bad("is not between 1 and 65535")
        return port
    if name == "timeout":
        try:
            seconds = float(raw)
        except (TypeError, ValueError):
            raise bad("is not a number of seconds") from None
        if seconds <= 0:
            raise bad("is not above 0")
        return seconds
    if not isinstance(raw, str):
        raise bad("is not a string")
    if name == "mode" and raw not in MODES:
        raise bad(f"is not one of {', '.join(MODES)}")
    if name == "pull" and raw not in PULL_POLICIES:
        raise bad(f"is not one of {', '.join(PULL_POLICIES)}")
    if name == "project" and not _valid_project(raw):
        raise bad("is not a compose project name (lowercase letters, digits, '-' and '_')")
    if name.startswith("image_") and (not raw or any(c.isspace() for c in raw)):
        raise bad("is not an image reference")
    return raw


def _valid_project(name: str) -> bool:
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789-_")
    return bool(name) and name[0].isalnum() and set(name) <= allowed


def _read_config_file(cwd: Path) -> tuple[dict[str, Any], str]:
    """[tool.kafkalab] of ./pyproject.toml wins over ./kafkalab.toml; unknown keys are errors."""
    import tomllib

    for file_name, table_path in (("pyproject.toml", ("tool", "kafkalab")), ("kafkalab.toml", ())):
        path = cwd / file_name
        if not path.is_file():
            continue
        try:
            data: Any = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}.", "Fix the file's syntax.") from None
        for key in table_path:
            data = data.get(key) if isinstance(data, dict) else None
        if data is None:
            continue
        if not isinstance(data, dict):
            raise ConfigError(f"{file_name}: the kafkalab settings must be a table.")
        values = {cast(str, k).replace("-", "_"): v for k, v in data.items()}
        known = {f.name for f in _fields()}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(
                f"{file_name}: unknown setting {unknown[0]!r}.",
                f"Known settings: {', '.join(sorted(known))}.",
            )
        return values, file_name
    return {}, ""
