"""Resolves kafkalab's settings: flags, then KAFKALAB_* environment, then the project's config file,
then the user's own file, then defaults.

The config file is found as pytest and ruff find theirs: the nearest one at or above the current
directory. In each directory, from the current one up to the root, ``pyproject.toml`` counts if it
has a ``[tool.kafkalab]`` table (else it is skipped) and ``kafkalab.toml`` whenever it exists; the
pyproject.toml wins within one directory, and the first directory with either is the one used.
The user's own file is ``$XDG_CONFIG_HOME/kafkalab/config.toml`` (``~/.config/kafkalab/config.toml``
when XDG_CONFIG_HOME is not set): the same settings and contexts, below the project's file. It is the
only file whose contexts may hold client settings that load code or run commands (see
kafkalab.kafka.contexts.CODE_SETTINGS): a found file may be a cloned repository's.
Every resolved value remembers where it came from (a file by its path), for `kafkalab config`.
The environment names are the ones the compose files interpolate, so `Settings.compose_env()` is
all that `docker compose` needs to run kafkalab's stacks.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, cast

from kafkalab.errors import ConfigError
from kafkalab.lab.modes import MODE_NAMES, OPTIONAL, Mode, ModeSpec
from kafkalab.lab.modes import MODES as MODE_TABLE
from kafkalab.security.listener import SECURITY_MODES, Security, listener_env

MODES: tuple[Mode, ...] = MODE_NAMES

PullPolicy = Literal["missing", "never", "always"]
PULL_POLICIES: tuple[PullPolicy, ...] = ("missing", "never", "always")

# The settings the `kafkalab` command takes before a command's name (`kafkalab -p NAME --port N up`):
# which lab, and which context, every command acts on. The CLI's root group has an option for each
# (kafkalab.cli.main); the pytest plugin a --kafkalab-NAME option for each that names a lab (all but
# context, which names a cluster for the Kafka commands, schema_registry, a registry for the schema commands, and
# connect_url, a Connect cluster for the connector commands).
GLOBAL_FLAGS: tuple[str, ...] = (
    "project", "port", "ui_port", "zookeeper_port", "schema_registry_port", "connect_port", "context",
    "schema_registry", "connect_url",
)

# Public images, pinned. Test beds swap them through the KAFKALAB_IMAGE_* settings.
DEFAULT_IMAGES = {
    "image_kafka": "apache/kafka:4.4.0",
    "image_kafka_zk": "confluentinc/cp-kafka:7.9.11",
    "image_zookeeper": "confluentinc/cp-zookeeper:7.9.11",
    "image_ui": "ghcr.io/kafbat/kafka-ui:v1.5.0",
    "image_schema_registry": "apicurio/apicurio-registry:3.3.3",
}

# The brokers' JVM settings (docs/performance.md has the figures). Where they differ by mode, by mode:
# a cluster runs three brokers in the memory of one; the KRaft cluster id that the storage of each
# mode's brokers is formatted with (zookeeper mode has none).
DEFAULT_KAFKA_HEAP = {"kraft": "-Xmx384M -Xms384M", "zookeeper": "-Xmx384M -Xms384M", "cluster": "-Xmx256M -Xms256M"}
DEFAULT_CLUSTER_ID = {"kraft": "a2Fma2FsYWItbG9jYWwtMQ", "zookeeper": "", "cluster": "a2Fma2FsYWItY2x1c3Rlcg"}
# SerialGC and C1 start the lab sooner at the same throughput; set empty: the image's own options.
DEFAULT_KAFKA_JVM_OPTS = "-XX:+UseSerialGC -XX:TieredStopAtLevel=1"
# Set, apache/kafka leaves its JMX agent off: a sooner start; set empty: the image's default, agent on.
DEFAULT_KAFKA_JMX_OPTS = "-Dcom.sun.management.jmxremote.authenticate=false -Dcom.sun.management.jmxremote.ssl=false"


@dataclasses.dataclass(frozen=True)
class Settings:
    mode: Mode = "kraft"
    project: str = "kafkalab"
    port: int = 9094
    ui_port: int = 8080
    zookeeper_port: int = 2181
    schema_registry_port: int = 8081
    connect_port: int = 8083  # the Kafka Connect worker's REST API (`--with connect`)
    # The optional services the lab runs beside the mode's (kafkalab.lab.modes.OPTIONAL), by name:
    # `with` in the config file, KAFKALAB_WITH (comma-separated), --with (repeatable, or comma-separated).
    with_: tuple[str, ...] = ()
    cluster_name: str = "local"
    # The lab's Docker network, which other compose projects join by this name; "" is the project's.
    network: str = ""
    # The lab's network's IPv4 subnet in CIDR notation; "" lets Docker choose one from its pools.
    subnet: str = ""
    # kafka-ui's DYNAMIC_CONFIG_ENABLED: its web page may then add and change clusters. kafka-ui has
    # no login, so any local user, or a web page by DNS rebinding, could point it at other clusters
    # with what it holds: off unless asked for.
    ui_dynamic_config: bool = False
    # The EXTERNAL listener's security mode, and its reach from other machines (kafkalab.security.listener).
    security: Security = "plaintext"
    expose: str = ""
    advertise: str = ""
    insecure: bool = False
    expose_ui: bool = False
    image_kafka: str = DEFAULT_IMAGES["image_kafka"]
    image_kafka_zk: str = DEFAULT_IMAGES["image_kafka_zk"]
    image_zookeeper: str = DEFAULT_IMAGES["image_zookeeper"]
    image_ui: str = DEFAULT_IMAGES["image_ui"]
    image_schema_registry: str = DEFAULT_IMAGES["image_schema_registry"]
    # The brokers' KAFKA_HEAP_OPTS and the KRaft cluster id; "" is the mode's (DEFAULT_KAFKA_HEAP, ...).
    kafka_heap: str = ""
    cluster_id: str = ""
    # The brokers' KAFKA_JVM_PERFORMANCE_OPTS and KAFKA_JMX_OPTS; "" is the image's own default.
    kafka_jvm_opts: str = DEFAULT_KAFKA_JVM_OPTS
    kafka_jmx_opts: str = DEFAULT_KAFKA_JMX_OPTS
    pull: PullPolicy = "missing"
    timeout: float = 120.0
    # Seconds a service that starts after the broker (kafka-ui) may take to answer before status calls
    # it a fault: a real kafka-ui takes 10-30 s, on a slow laptop more.
    start_window: float = 120.0
    bootstrap_server: str = ""
    # The named context ([contexts.NAME] of the config file) the Kafka commands use; "" is none.
    context: str = ""
    # The Schema Registry of `kafkalab schema` and of produce/consume --value-format (its URL, such as
    # http://localhost:8081/apis/ccompat/v7); "" is the context's, or the lab's.
    schema_registry: str = ""
    # The Kafka Connect REST API of `kafkalab connector` (such as http://localhost:8083); "" is the context's,
    # or the lab's.
    connect_url: str = ""
    # The lab's Connect worker (`--with connect`): its key.converter and value.converter (json: JSON without
    # embedded schemas; json-schemas, string, bytes, avro, or a converter's class name), and a folder of
    # connector plugins (Debezium, JDBC, ...) mounted read-only and added to its plugin.path ("" is none).
    key_converter: str = "json"
    value_converter: str = "json"
    connect_plugins: str = ""
    # Where each value came from: "flag", "env KAFKALAB_X", the config file's full path, "default".
    sources: Mapping[str, str] = dataclasses.field(default_factory=dict, compare=False, repr=False)

    @property
    def bootstrap_servers(self) -> str:
        """The address the Kafka commands use: --bootstrap-server when given, else the lab's."""
        return self.bootstrap_server or self.lab_bootstrap

    @property
    def lab_bootstrap(self) -> str:
        """Every broker of the lab, on its EXTERNAL listener: the lab answers while any one of them does."""
        return MODE_TABLE[self.mode].bootstrap(self)

    @property
    def spec(self) -> ModeSpec:
        """The lab's services: its mode's, and the optional ones of the with setting."""
        return MODE_TABLE[self.mode].plus(self.with_)

    def with_record(self) -> Settings:
        """The lab's own settings from its record (kafkalab.lab.state: what its last `up` started it
        with), for each of RECORDED that was not given on purpose (a flag, the environment, a config
        file, an argument): so that every command that acts on the lab finds it by its name alone,
        its mode, ports and network included. The ports are then checked as the mode derives them."""
        from kafkalab.lab import state

        values = state.read(self.project)
        taken: dict[str, Any] = {}
        for name in RECORDED:
            raw = values.get(env_name(name))
            if raw is None or self.sources.get(name, RECORD_SOURCE) != RECORD_SOURCE:
                continue
            taken[name] = _coerce(name, raw, f"the lab's record {state.env_file(self.project)}")
        found = dataclasses.replace(self, **taken, sources={**self.sources, **dict.fromkeys(taken, RECORD_SOURCE)})
        found.check_ports()
        return found

    def check_ports(self) -> None:
        """Every port the mode derives (a cluster's brokers: port, port + 1, port + 2) must be a port
        (1 to 65535), and no two of them the same: before anything starts, naming the settings."""
        owners: dict[int, tuple[str, str]] = {}  # port -> (service, the setting it comes from)
        for service in self.spec.services:
            port = service.host_port(self)
            setting = service.port + (f" + {service.port_offset}" if service.port_offset else "")
            if not 1 <= port <= 65535:
                flag = "--" + service.port.replace("_", "-")
                raise ConfigError(
                    f"Port {port} of {service.name} ({setting}, in {self.mode} mode) is not between 1 and 65535.",
                    (f"In {self.mode} mode {_derived(self.mode)}: choose" if service.port_offset else "Choose")
                    + f" a {service.port} of {65535 - service.port_offset} or lower ({flag}).",
                )
            if port in owners:
                other, other_setting = owners[port]
                raise ConfigError(
                    f"Port {port} would be both {other}'s ({other_setting}) and {service.name}'s ({setting}) "
                    f"in {self.mode} mode.",
                    f"Give {other_setting.split()[0]} and {service.port} ports that do not overlap"
                    + (f": in {self.mode} mode {_derived(self.mode)}." if _derived(self.mode) else "."),
                )
            owners[port] = (service.name, setting)

    @property
    def schema_registry_url(self) -> str:
        """The lab's Schema Registry as its clients take it: its Confluent-compatible API."""
        from kafkalab.lab.modes import OPTIONAL

        return OPTIONAL["schema-registry"].url(self)

    @property
    def lab_network(self) -> str:
        """The name of the lab's network: the network setting, or else the project's name."""
        return self.network or self.project

    @property
    def ui_url(self) -> str:
        return f"http://localhost:{self.ui_port}"

    @property
    def host_ports(self) -> dict[str, int]:
        """The ports this stack publishes on 127.0.0.1, by service."""
        return {s.name: s.host_port(self) for s in self.spec.services}

    def compose_env(self) -> dict[str, str]:
        """The variables the compose files interpolate."""
        env = {env_name(f.name): _text(getattr(self, f.name)) for f in _fields() if f.name in _COMPOSE_VARS}
        # The brokers that publish on the ports after the first's (cluster mode): as the mode table says.
        env.update({_port_variable(s.port, s.port_offset): str(s.host_port(self))
                    for spec in MODE_TABLE.values() for s in spec.services if s.port_offset})
        env.update({"KAFKALAB_NETWORK": self.lab_network, **{env_name(k): v for k, v in self._shown().items()}})
        if self.subnet:  # only then is compose/extra/subnet.yaml, which reads it, in use
            env["KAFKALAB_SUBNET"] = self.subnet
        # For the optional services' files (compose/services/), which every mode shares: its mode (the
        # lab's label), and its brokers on the lab's network.
        env.update(KAFKALAB_MODE=self.mode, KAFKALAB_INTERNAL_BOOTSTRAP=MODE_TABLE[self.mode].internal_bootstrap)
        if "connect" in self.with_:  # the worker's config (kafkalab.connectors.worker), its plugins folder
            from kafkalab.lab import state

            env["KAFKALAB_CONNECT_CONFIG"] = str(state.connect_config(self.project))
            if self.connect_plugins:
                env["KAFKALAB_CONNECT_PLUGINS"] = str(Path(self.connect_plugins).expanduser())
        env.update(listener_env(self))
        return env

    def replace(self, **changes: Any) -> Settings:
        """A copy with some values set by the caller (None leaves a value as it is)."""
        given = {name: _coerce(name, value, "argument") for name, value in changes.items() if value is not None}
        sources = {**self.sources, **{name: "argument" for name in given}}
        return dataclasses.replace(self, **given, sources=sources)

    def as_rows(self) -> list[tuple[str, str, str]]:
        shown = {"network": self.lab_network, **self._shown()}  # their defaults follow the project, the mode
        return [(setting_name(f.name), _text(shown.get(f.name, getattr(self, f.name))),
                 self.sources.get(f.name, "default")) for f in _fields()]

    def _shown(self) -> dict[str, str]:
        """The settings whose default is the mode's, with it where they are "": as the brokers get them."""
        return {"kafka_heap": self.kafka_heap or DEFAULT_KAFKA_HEAP[self.mode],
                "cluster_id": self.cluster_id or DEFAULT_CLUSTER_ID[self.mode]}


def _text(value: Any) -> str:
    """A setting's value as the environment and `kafkalab config` write it: booleans as true/false,
    lists comma-separated."""
    if isinstance(value, tuple):
        return ",".join(value)
    return str(value).lower() if isinstance(value, bool) else str(value)


# What the record of a lab gives the commands that act on it, unless given on purpose: what makes it
# that lab (images and the pull policy are how to start one, not which one it is).
RECORDED = ("mode", "port", "ui_port", "zookeeper_port", "schema_registry_port", "connect_port", "with_",
            "cluster_name", "network", "subnet", "security", "expose", "advertise", "insecure", "expose_ui")
RECORD_SOURCE = "the lab's record"


def _port_variable(setting: str, offset: int) -> str:
    """The compose files' variable of a derived port: KAFKALAB_PORT_2 is port + 1 (cluster broker 2)."""
    return f"{env_name(setting)}_{offset + 1}"


def _derived(mode: str) -> str:
    """How the mode's ports follow from the settings, where one setting gives several."""
    derived = [s for s in MODE_TABLE[mode].services if s.port_offset]
    if not derived:
        return ""
    base = derived[0].port
    return f"the brokers use {base}, " + " and ".join(f"{base} + {s.port_offset}" for s in derived)


_COMPOSE_VARS = {
    "project", "port", "ui_port", "zookeeper_port", "schema_registry_port", "connect_port", "cluster_name", "pull",
    "network",
    "image_kafka", "image_kafka_zk", "image_zookeeper", "image_ui", "image_schema_registry", "ui_dynamic_config",
    "kafka_heap", "cluster_id", "kafka_jvm_opts", "kafka_jmx_opts",
}
# The settings whose empty value is a value ("the image's default"): an empty variable sets them.
_EMPTY_IS_A_VALUE = {"kafka_jvm_opts", "kafka_jmx_opts"}


# The numeric settings, and what a good value is, for the error messages.
_NUMBERS = {
    "port": "a port number", "ui_port": "a port number", "zookeeper_port": "a port number",
    "schema_registry_port": "a port number", "connect_port": "a port number",
    "timeout": "a number of seconds", "start_window": "a number of seconds",
}
# The true-or-false settings: TOML's true/false, or the text of _TRUE and _FALSE (flags, environment).
_BOOLS = {"ui_dynamic_config", "insecure", "expose_ui"}
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")
# In the order they win within one directory: (file name, where its settings table is).
_CONFIG_FILES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("pyproject.toml", ("tool", "kafkalab")),
    ("kafkalab.toml", ()),
)


def _fields() -> list[dataclasses.Field[Any]]:
    return [f for f in dataclasses.fields(Settings) if f.name != "sources"]


def env_name(field: str) -> str:
    return "KAFKALAB_" + setting_name(field).upper()


def setting_name(field: str) -> str:
    """The name a field has as a setting: `with` is the field with_ (a keyword of Python's)."""
    return field.rstrip("_")


def resolve(
    flags: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    _sources: Mapping[str, str] | None = None,
) -> Settings:
    """Build Settings from flags (None means "not given"), the environment and the config file.

    The config file is the nearest one at or above `cwd` (default: the current directory).
    """
    env = os.environ if env is None else env
    files = [_read_config_file(cwd or Path.cwd()), _read_user_file()]  # the one that wins first
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for field in _fields():
        name = field.name
        flag = (flags or {}).get(name)
        in_file = next(((table, path) for table, path in files if name in table), None)
        if flag is not None:
            raw, source = flag, (_sources or {}).get(name, "flag")
        elif env.get(env_name(name), "") != "" or (name in _EMPTY_IS_A_VALUE and env_name(name) in env):
            raw, source = env[env_name(name)], f"env {env_name(name)}"
        elif in_file is not None:
            raw, source = in_file[0][name], str(in_file[1])
            if (name in _NUMBERS or name in _BOOLS) and isinstance(raw, str):
                # TOML has numbers and booleans of its own: a quoted one is the wrong type, as ruff
                # and pytest would say of theirs. Text is only for flags and the environment.
                raise _bad(name, raw, source, f"is a string, not {_NUMBERS.get(name, 'true or false')}")
        else:
            continue
        values[name] = _coerce(name, raw, source)
        sources[name] = source
    return Settings(**values, sources=sources)


def _bad(name: str, raw: Any, source: str, why: str) -> ConfigError:
    return ConfigError(f"Bad value for {setting_name(name)} ({source}): {raw!r} {why}.")


def _coerce(name: str, raw: Any, source: str) -> Any:
    """The checked value of setting `name`: raw is text (a flag, the environment) or a Python value
    (from TOML, or from the code through Settings.replace)."""
    def bad(why: str) -> ConfigError:
        return _bad(name, raw, source, why)

    if name == "with_":
        return _services(raw, bad)
    if name in ("port", "ui_port", "zookeeper_port", "schema_registry_port", "connect_port"):
        port = _as_int(raw)
        if port is None:
            raise bad("is not a port number")
        if not 1 <= port <= 65535:
            raise bad("is not between 1 and 65535")
        return port
    if name in ("timeout", "start_window"):
        seconds = _as_seconds(raw)
        if seconds is None:
            raise bad("is not a number of seconds")
        if seconds <= 0:
            raise bad("is not above 0")
        return seconds
    if name in _BOOLS:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in _TRUE + _FALSE:
            return raw.strip().lower() in _TRUE
        raise bad("is not true or false")
    if not isinstance(raw, str):
        raise bad("is not a string")
    choices: dict[str, tuple[str, ...]] = {"mode": MODES, "security": SECURITY_MODES, "pull": PULL_POLICIES}
    if name in choices and raw not in choices[name]:
        raise bad(f"is not one of {', '.join(choices[name])}")
    if name == "project" and not _valid_project(raw):
        raise bad("is not a compose project name (lowercase letters, digits, '-' and '_')")
    if name.startswith("image_") and (not raw or any(c.isspace() for c in raw)):
        raise bad("is not an image reference")
    if name == "network":
        if not _NETWORK_NAME.fullmatch(raw):
            raise bad("is not a Docker network name (letters, digits, '_', '.' and '-', from a letter or digit on)")
        if raw in ("bridge", "host", "none", "default"):
            raise bad("is one of Docker's own networks: the lab needs one of its own")
    if name == "subnet" and raw:
        _check_subnet(raw, bad)
    if name in ("schema_registry", "connect_url") and raw and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", raw):
        raise bad("is not an http:// or https:// URL")
    if name in ("key_converter", "value_converter"):
        from kafkalab.connectors.worker import CONVERTERS, is_converter

        if not is_converter(raw):
            raise bad(f"is no converter: give one of {', '.join(CONVERTERS)}, or a converter's class name")
    if name == "connect_plugins" and raw and not Path(raw).expanduser().is_absolute():
        raise bad("is not an absolute path: give the folder of connector plugins from /")
    return raw


def _services(raw: Any, bad: Callable[[str], ConfigError]) -> tuple[str, ...]:
    """The with setting: names of OPTIONAL, from a list (TOML, code, a repeated flag) or from text
    separated by commas; in the table's order, each once. "" is none."""
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, (list, tuple)) or not all(isinstance(i, str) for i in items):
        raise bad("is not a list of service names")
    names = {n.strip() for item in items for n in item.split(",") if n.strip()}
    unknown = sorted(names - set(OPTIONAL))
    if unknown:
        raise bad(f"names no optional service {unknown[0]!r}: the known ones are {', '.join(OPTIONAL)}")
    return tuple(n for n in OPTIONAL if n in names)


def _as_int(raw: Any) -> int | None:
    """An int, or text of ASCII digits only; None for anything else."""
    # bool is a subclass of int: without this, `port = true` would be port 1.
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    # int() would also take " 9094", "9_094", "+9094" and non-ASCII digits: none is a port as written.
    if isinstance(raw, str) and raw.isascii() and raw.isdigit():
        return int(raw)
    return None  # floats too, 29094.0 included: truncating 29094.9 would hide a typo


def _as_seconds(raw: Any) -> float | None:
    """A finite number of seconds from an int, a float or text that parses as one; None otherwise."""
    # `timeout = true` is not one second; lists, tables and dates are no number at all.
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        return None
    try:
        seconds = float(raw)
    except (ValueError, OverflowError):  # OverflowError: an int too large for a float
        return None
    # nan would never compare above 0, and an infinite deadline is no deadline: both are typos.
    return seconds if math.isfinite(seconds) else None


def _check_subnet(raw: str, bad: Callable[[str], ConfigError]) -> None:
    """Raise bad(why) unless raw is an IPv4 subnet as Docker takes it, with room for the lab."""
    import ipaddress

    try:
        subnet = ipaddress.ip_network(raw, strict=False)
    except ValueError:
        raise bad("is not an IPv4 subnet in CIDR notation, such as 10.213.0.0/24") from None
    if subnet.version != 4 or "/" not in raw:
        raise bad("is not an IPv4 subnet in CIDR notation, such as 10.213.0.0/24")
    if str(subnet) != raw:
        raise bad(f"has host bits set: the subnet is {subnet}")
    if subnet.prefixlen > 28:
        raise bad("is too small for the lab and the services that join it: give /28 or larger")


# What `docker network create` accepts as a name.
_NETWORK_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")


def _valid_project(name: str) -> bool:
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789-_")
    return bool(name) and name[0].isalnum() and set(name) <= allowed


def _read_config_file(cwd: Path) -> tuple[dict[str, Any], Path | None]:
    """The settings of the nearest config file at or above cwd, and that file's path (None: no file).

    As pytest and ruff find theirs, so that kafkalab run in a subdirectory of a project still uses
    the project's settings: in cwd, then in each parent up to the root, pyproject.toml counts only
    if it has a [tool.kafkalab] table (a project's pyproject.toml usually has none, and is skipped),
    kafkalab.toml whenever it exists, and pyproject.toml wins within one directory. Only that one
    file is read for settings; unknown keys in it are errors.
    """
    start = cwd.absolute()  # .parents of a relative path would stop short of the root
    for directory in (start, *start.parents):
        for file_name, table_path in _CONFIG_FILES:
            path = directory / file_name
            table = _settings_table(path, table_path)
            if table is not None:
                return _check_keys(table, path), path
    return {}, None


def user_config_path() -> Path:
    """The user's own config file: $XDG_CONFIG_HOME/kafkalab/config.toml, else ~/.config/kafkalab/config.toml.

    From the process's environment, not resolve()'s `env` (the KAFKALAB_* values): where the
    user's file is belongs to the user's session."""
    base = os.environ.get("XDG_CONFIG_HOME", "")
    # The XDG spec says a relative XDG_CONFIG_HOME is invalid and to be ignored: it would make the
    # user's file depend on the current directory, which is a found file's place.
    if base and Path(base).is_absolute():
        return Path(base) / "kafkalab" / "config.toml"
    return Path.home() / ".config" / "kafkalab" / "config.toml"


def _read_user_file() -> tuple[dict[str, Any], Path | None]:
    """The settings of the user's own file, and its path (None: there is no such file)."""
    path = user_config_path()
    table = _settings_table(path, ())
    if table is None:
        return {}, None
    declared = [name for name in DECLARED_TABLES if name in table]
    if declared:  # silently unused, it would look like a declaration that `up` ignores
        raise ConfigError(
            f"{path}: [{declared[0]}] declares a project's lab, and this is your own file.",
            "Declare topics and schemas in the project's kafkalab.toml or [tool.kafkalab] of its pyproject.toml.",
        )
    return _check_keys(table, path), path


def _settings_table(path: Path, table_path: tuple[str, ...]) -> dict[Any, Any] | None:
    """The kafkalab table of the TOML file at path; None if there is no such file or table."""
    import tomllib

    try:
        if not path.is_file():
            return None
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path} cannot be read: {exc.strerror or exc}.", "Make it readable, or remove it.") from None
    except UnicodeDecodeError as exc:  # TOML is UTF-8
        raise ConfigError(f"{path} is not valid TOML: {exc}.", "Fix the file's syntax.") from None
    try:
        data: Any = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}.", "Fix the file's syntax.") from None
    for key in table_path:
        data = data.get(key) if isinstance(data, dict) else None
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the kafkalab settings must be a table.")
    return data


def _check_keys(table: dict[Any, Any], path: Path) -> dict[str, Any]:
    """The table with its keys as field names ("ui-port" is ui_port); an unknown key is an error."""
    values = {cast(str, k).replace("-", "_"): v for k, v in table.items()}
    if "with" in values:  # the field with_
        values["with_"] = values.pop("with")
    known = {f.name for f in _fields()}
    unknown = sorted(set(values) - known - set(_TABLES))
    if unknown:
        raise ConfigError(
            f"{path}: unknown {'table' if isinstance(values[unknown[0]], dict) else 'setting'} {unknown[0]!r}.",
            f"Known settings: {', '.join(sorted(setting_name(k) for k in known))}; tables: {', '.join(_TABLES)}.",
        )
    return values


# --- tables of the config file that are no single setting ----------------------------------------

# [contexts.NAME]: a cluster the Kafka commands may use by name (kafkalab.kafka.contexts reads them).
# DECLARED_TABLES: what the lab is declared to hold, [topics.NAME], [schemas."SUBJECT"], [connectors.NAME], which
# `up`, `kafkalab apply` and the pytest plugin make (kafkalab.declare reads them; its KINDS has one
# kind of declared object for each of these tables).
DECLARED_TABLES: tuple[str, ...] = ("topics", "schemas", "connectors")
_TABLES = ("contexts", *DECLARED_TABLES, "users")


@dataclasses.dataclass(frozen=True)
class DeclaredTables:
    """The declaration of the found project file: its DECLARED_TABLES as written, the file, its text
    (for the lines that errors name) and where in it the kafkalab table is (("tool", "kafkalab") in
    pyproject.toml, () in kafkalab.toml)."""

    tables: Mapping[str, Any]
    path: Path | None
    text: str = ""
    prefix: tuple[str, ...] = ()


def declared_tables(cwd: Path | None = None) -> DeclaredTables:
    """The [topics] and [schemas] tables (DECLARED_TABLES) of the found project file (not the user's
    own file: a declaration is a project's), with the file; no file, or none declared: empty tables."""
    values, path = _read_config_file(cwd or Path.cwd())
    if path is None:
        return DeclaredTables({}, None)
    prefix = next(table for name, table in _CONFIG_FILES if name == path.name)
    tables = {name: values[name] for name in DECLARED_TABLES if name in values}
    return DeclaredTables(tables, path, path.read_text(encoding="utf-8") if tables else "", prefix)


def config_tables(name: str, cwd: Path | None = None) -> list[tuple[dict[str, Any], Path, bool]]:
    """The [NAME] tables ([contexts], [users]) as written, with each file's path and whether it is the
    user's own: the user's file first, then the found project file (whose tables win by name)."""
    files = ((_read_user_file(), True), (_read_config_file(cwd or Path.cwd()), False))
    tables = [(values.get(name, {}), path, own) for (values, path), own in files if path is not None]
    for table, path, _own in tables:
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: {name} must be a table of [{name}.NAME] tables.")
    return tables
