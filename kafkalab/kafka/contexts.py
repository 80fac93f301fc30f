"""Client settings of the Kafka commands: `-X key=value`, and named contexts from the config file.

    # kafkalab.toml (or [tool.kafkalab] of pyproject.toml)
    [contexts.orders]
    bootstrap_server = "SASL_SSL://kafka.example.com:9093"
    [contexts.orders.client]
    "security.protocol" = "SASL_SSL"
    "sasl.mechanism" = "SCRAM-SHA-512"
    "sasl.username" = "orders-svc"
    "sasl.password" = "${ORDERS_KAFKA_PASSWORD}"
    # the Schema Registry of `kafkalab schema` and produce/consume --value-format (optional)
    schema_registry = "https://registry.example.com"
    schema_registry_auth = "orders-svc:${ORDERS_REGISTRY_PASSWORD}"
    # the Kafka Connect REST API of `kafkalab connector` (optional)
    connect_url = "https://connect.example.com:8083"

The keys are librdkafka's property names, as kcat's -X takes them. A "${VAR}" in a value is read
from the environment when the context is used, so that no secret need sit in a file in git.
-X wins over the context's client table, and both over kafkalab's own settings for its clients.
Contexts come from the user's own file ($XDG_CONFIG_HOME/kafkalab/config.toml) and from the found
project file, whose contexts win by name. Settings that load code or run commands (CODE_SETTINGS)
are taken only from -X and the user's own file: a found file may be a cloned repository's.
Standard library only: `kafkalab config` reads the contexts without loading confluent_kafka.

May import: kafkalab.errors, kafkalab.settings, kafkalab.lab.{modes,secured}, kafkalab.kafka.bootstrap,
kafkalab.connectors.client (its ConnectTarget, lazily) (never the modules that make clients: clients.py
imports this one, for masked()).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kafkalab.errors import ConfigError
from kafkalab.kafka.bootstrap import parse_bootstrap
from kafkalab.lab.modes import MODES, OPTIONAL

if TYPE_CHECKING:
    from kafkalab.connectors.client import ConnectTarget

# What makes a client setting's value a secret, in one place: `kafkalab config` and every error
# that names settings show such values as MASK. A key is secret when it holds one of SECRET_WORDS
# (ssl.key.password, ssl.key.pem, ssl.keystore.*, sasl.password, sasl.oauthbearer.client.secret,
# sasl.oauthbearer.assertion.private.key.*, sasl.kerberos.keytab, ...) or is one of SECRET_KEYS.
# Public certificates (ssl.certificate.pem, ssl.ca.pem) are masked too: "pem" cannot tell them
# apart, and hiding a certificate costs nothing.
SECRET_WORDS = ("password", "passphrase", "secret", "token", "credential", "key", "pem", "jaas")
SECRET_KEYS = frozenset({
    "sasl.oauthbearer.config",  # the unsecured JWT's claims, or a metadata login's client secret
})
MASK = "********"
# Settings that a command option gives: -X would only contradict it.
RESERVED = {
    "bootstrap.servers": "give the brokers with -b/--bootstrap-server, or a context's bootstrap_server",
    "group.id": "give the group with --group",
}
# librdkafka settings that load code or run a command (librdkafka's CONFIGURATION.md), in one
# place, with what each does for the error. librdkafka acts on them as the client is made, before
# any broker is asked: a context in a found file (a cloned repository's kafkalab.toml) must not
# hold them, nor may completion make a client with them. "interceptors" is not among them: it is
# set through librdkafka's API only, and an interceptor's own settings exist only once a plugin
# (plugin.library.paths) is loaded.
CODE_SETTINGS = {
    "plugin.library.paths": "loads shared libraries (librdkafka plugins) into kafkalab",
    "sasl.kerberos.kinit.cmd": "is a shell command that librdkafka runs",
    "sasl.kerberos.principal": "is put into the shell command that runs kinit",
    "sasl.kerberos.keytab": "is put into the shell command that runs kinit",
    "ssl.engine.location": "loads an OpenSSL engine library into kafkalab",
    "ssl.engine.id": "names an OpenSSL engine to load",
    "ssl.providers": "loads OpenSSL provider modules into kafkalab",
}
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_CONTEXT_KEYS = ("bootstrap_server", "client", "schema_registry", "schema_registry_auth", "connect_url")


def parse_settings(items: Iterable[str]) -> dict[str, str]:
    """-X KEY=VALUE items as a dict, later ones winning; ValueError says what is wrong with one."""
    found: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"{item!r} is not KEY=VALUE (a librdkafka property, such as security.protocol=SSL).")
        if key in RESERVED:
            raise ValueError(f"{key} is not for -X: {RESERVED[key]}.")
        found[key] = value
    return found


def loads_code(key: str) -> bool:
    """Whether a client setting loads code or runs a command (CODE_SETTINGS)."""
    return _normal(key) in CODE_SETTINGS


def _normal(key: str) -> str:
    # librdkafka matches names exactly; kafkalab's keyword arguments turn "_" into ".": match
    # every spelling that could reach it, so that none slips past.
    return key.strip().lower().replace("_", ".").replace("-", ".")


def is_secret(key: str) -> bool:
    name = key.strip().lower()
    return name in SECRET_KEYS or any(word in name for word in SECRET_WORDS)


def masked(key: str, value: str) -> str:
    """The value as `kafkalab config` shows it: hidden when its key names a password, secret, token
    or key (SECRET_WORDS, SECRET_KEYS)."""
    return MASK if is_secret(key) else value


@dataclasses.dataclass(frozen=True)
class Context:
    name: str
    bootstrap_server: str | None  # as written: "${VAR}" not yet read
    client: Mapping[str, str]  # librdkafka settings, as written
    source: Path | None  # the config file
    schema_registry: str | None = None  # the registry's URL, as written
    schema_registry_auth: str | None = None  # "user:password" for its basic auth, as written (a secret)
    connect_url: str | None = None  # the Kafka Connect REST API's URL, as written

    def resolved(self, env: Mapping[str, str] | None = None) -> tuple[str | None, dict[str, str]]:
        """(bootstrap_server, client settings) with every "${VAR}" read from the environment."""
        env = os.environ if env is None else env
        where = f"context {self.name} in {self.source}"
        bootstrap = self.bootstrap_server
        if bootstrap is not None:
            bootstrap = expand(bootstrap, "bootstrap_server", where, env)
        return bootstrap, {key: expand(value, key, where, env) for key, value in self.client.items()}

    def registry(self, env: Mapping[str, str] | None = None) -> tuple[str | None, str | None]:
        """(schema_registry, schema_registry_auth) with every "${VAR}" read from the environment."""
        env = os.environ if env is None else env
        where = f"context {self.name} in {self.source}"
        return tuple(  # type: ignore[return-value]  # two of them, each str or None
            None if value is None else expand(value, key, where, env)
            for key, value in (("schema_registry", self.schema_registry),
                               ("schema_registry_auth", self.schema_registry_auth))
        )

    def to_dict(self) -> dict[str, Any]:
        """As `kafkalab config --json` shows it: secrets masked, "${VAR}" not read."""
        found = {
            "bootstrap_server": self.bootstrap_server,
            "client": {key: masked(key, value) for key, value in self.client.items()},
            "source": str(self.source),
        }
        if self.schema_registry is not None:
            found["schema_registry"] = self.schema_registry
        if self.schema_registry_auth is not None:
            found["schema_registry_auth"] = masked_auth(self.schema_registry_auth)
        if self.connect_url is not None:
            found["connect_url"] = self.connect_url
        return found


def masked_auth(auth: str) -> str:
    """A registry's "user:password" as `kafkalab config` shows it: the user, the password masked."""
    user, sep, _password = auth.partition(":")
    return f"{user}:{MASK}" if sep else MASK


def expand(value: str, key: str, where: str, env: Mapping[str, str]) -> str:
    """Each "${VAR}" of value from the environment; ConfigError names a variable that is not set."""
    def read(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise ConfigError(
                f"{key} of {where} reads the environment variable {name}, which is not set.",
                f"Set {name} (export {name}=...), or give {key} with -X.",
            )
        return env[name]

    return _VARIABLE.sub(read, value)


def load_contexts(cwd: Path | None = None) -> dict[str, Context]:
    """The [contexts.NAME] tables of the user's file and of the found project file (which wins by
    name), checked: bootstrap_server and a client table, and no CODE_SETTINGS in a found file."""
    from kafkalab.settings import config_tables, user_config_path

    contexts = {}
    for table, path, own in config_tables("contexts", cwd):
        for name, written in table.items():
            context = _checked(str(name), written, path)
            if not own:
                _refuse_code(context, user_config_path())
            contexts[context.name] = context
    return contexts


def _checked(name: str, written: Any, path: Path) -> Context:
    where = f"{path}: context {name}"
    if not isinstance(written, dict):
        raise ConfigError(f"{where} is not a table.", f"Write it as [contexts.{name}].")
    body = {str(k).replace("-", "_"): v for k, v in written.items()}
    unknown = sorted(set(body) - set(_CONTEXT_KEYS))
    if unknown:
        raise ConfigError(
            f"{where} has an unknown key {unknown[0]!r}.",
            f"A context has bootstrap_server, a [contexts.{name}.client] table of librdkafka settings, "
            "schema_registry, schema_registry_auth and connect_url.",
        )
    bootstrap = body.get("bootstrap_server")
    if bootstrap is not None and not isinstance(bootstrap, str):
        raise ConfigError(f"{where}: bootstrap_server {bootstrap!r} is not a string.")
    client = body.get("client", {})
    if not isinstance(client, dict):
        raise ConfigError(f"{where}: client is not a table.", f"Write it as [contexts.{name}.client].")
    settings = {}
    for key, value in client.items():
        if isinstance(value, (dict, list)) or value is None:
            raise ConfigError(f"{where}: client setting {key} is not a string, a number or a boolean.")
        if key in RESERVED:
            raise ConfigError(f"{where}: {key} is not a client setting here: {RESERVED[key]}.")
        settings[str(key)] = str(value).lower() if isinstance(value, bool) else str(value)
    registry: dict[str, str | None] = {}
    for key in ("schema_registry", "schema_registry_auth", "connect_url"):
        value = body.get(key)
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{where}: {key} is not a string.")
        registry[key] = value
    return Context(name, bootstrap, settings, path, registry["schema_registry"], registry["schema_registry_auth"],
                   registry["connect_url"])


def _refuse_code(context: Context, own_file: Path) -> None:
    """ConfigError when a context of a found file sets what loads code or runs a command."""
    for key in context.client:
        if loads_code(key):
            raise ConfigError(
                f"{context.source}: context {context.name} sets {key}, which "
                f"{CODE_SETTINGS[_normal(key)]}: kafkalab takes it only from -X or from your own "
                f"file {own_file}, never from a file found in a directory.",
                f"Remove {key} from {context.source}. If you trust it, give it with -X {key}=..., "
                f"or define the context in {own_file}.",
            )


def select(name: str, source: str, cwd: Path | None = None) -> Context:
    """The context called `name` (from `source`: --context, KAFKALAB_CONTEXT, the file), or ConfigError."""
    from kafkalab.settings import user_config_path

    contexts = load_contexts(cwd)
    if name in contexts:
        return contexts[name]
    where = " and ".join(sorted({str(c.source) for c in contexts.values()}))
    known = f"the contexts in {where} are {', '.join(sorted(contexts))}" if contexts else "no config file defines any"
    raise ConfigError(
        f"There is no context {name!r} ({source}): {known}.",
        "Define it as [contexts.NAME] in kafkalab.toml or [tool.kafkalab] of pyproject.toml, or in your "
        f"own file {user_config_path()}; `kafkalab config` lists them.",
    )


@dataclasses.dataclass(frozen=True)
class Target:
    """Where a Kafka command goes, and with which client settings."""

    bootstrap: str
    client: Mapping[str, str]  # the context's client table, then -X over it
    lab: bool  # the lab's own address (then "start the lab" is the hint when no broker answers)
    replication: int = -1  # of a new topic by default: the lab mode's; -1 elsewhere, the broker's default


@dataclasses.dataclass(frozen=True)
class RegistryTarget:
    """Where a schema command (and produce/consume --value-format) finds its Schema Registry."""

    url: str
    auth: str | None  # "user:password" for basic auth, "${VAR}" read
    lab: bool  # the lab's own registry (then `up --with schema-registry` is the hint when none answers)


# Apicurio Registry's Confluent-compatible API, under which Confluent's clients find a registry's routes.
CCOMPAT_PATH = OPTIONAL["schema-registry"].api_path


def resolve_registry(
    flags: Mapping[str, Any], cwd: Path | None = None, env: Mapping[str, str] | None = None,
) -> RegistryTarget:
    """The registry of a schema command, as resolve_target finds brokers: --schema-registry; else the
    context's schema_registry, with its schema_registry_auth; else the schema_registry setting
    (KAFKALAB_SCHEMA_REGISTRY, the file); else the lab's (its Confluent-compatible API). `flags` are
    the global options (None: not given)."""
    from kafkalab.settings import resolve

    settings = resolve({k: v for k, v in flags.items() if v is not None}, env=env, cwd=cwd)
    if settings.context and settings.sources.get("schema_registry") != "flag":
        source = settings.sources.get("context", "flag")
        chosen = select(settings.context, "--context" if source == "flag" else source.removeprefix("env "), cwd)
        url, auth = chosen.registry(env)
        if url is not None:
            return RegistryTarget(url.rstrip("/"), auth, lab=False)
    if settings.schema_registry:
        return RegistryTarget(settings.schema_registry.rstrip("/"), None, lab=False)
    return RegistryTarget(settings.with_record().schema_registry_url, None, lab=True)



def resolve_connect(
    flags: Mapping[str, Any], cwd: Path | None = None, env: Mapping[str, str] | None = None,
) -> ConnectTarget:
    """The Connect cluster of a connector command, as resolve_registry finds a registry: --connect-url; else
    the context's connect_url; else the connect_url setting (KAFKALAB_CONNECT_URL, the file); else the lab's
    worker (`up --with connect`). `flags` are the global options (None: not given)."""
    from kafkalab.connectors.client import ConnectTarget
    from kafkalab.settings import resolve

    settings = resolve({k: v for k, v in flags.items() if v is not None}, env=env, cwd=cwd)
    if settings.context and settings.sources.get("connect_url") != "flag":
        source = settings.sources.get("context", "flag")
        chosen = select(settings.context, "--context" if source == "flag" else source.removeprefix("env "), cwd)
        if chosen.connect_url is not None:
            url = expand(chosen.connect_url, "connect_url", f"context {chosen.name} in {chosen.source}",
                         os.environ if env is None else env)
            return ConnectTarget(url.rstrip("/"), lab=False)
    if settings.connect_url:
        return ConnectTarget(settings.connect_url.rstrip("/"), lab=False)
    return ConnectTarget(OPTIONAL["connect"].url(settings.with_record()), lab=True)


def resolve_target(
    flags: Mapping[str, Any], bootstrap_server: str | None, settings_x: Mapping[str, str],
    cwd: Path | None = None, env: Mapping[str, str] | None = None,
) -> Target:
    """The brokers of a Kafka command, checked: --bootstrap-server; else the context's
    bootstrap_server (--context, KAFKALAB_CONTEXT or the file's context); else the
    bootstrap_server setting (KAFKALAB_BOOTSTRAP_SERVER, the file); else the lab's address.
    `flags` are the global options (None: not given), `settings_x` the -X settings."""
    from kafkalab.settings import resolve

    given_flags = {k: v for k, v in {**flags, "bootstrap_server": bootstrap_server}.items() if v is not None}
    settings = resolve(given_flags, env=env, cwd=cwd)
    client: dict[str, str] = {}
    if settings.context:
        source = settings.sources.get("context", "flag")
        chosen = select(settings.context, "--context" if source == "flag" else source.removeprefix("env "), cwd)
        from_context, client = chosen.resolved(env)
        if from_context is not None and bootstrap_server is None:
            where = f"bootstrap_server of context {chosen.name} in {chosen.source}"
            return Target(parse_bootstrap(from_context, where), {**client, **settings_x}, lab=False)
    client.update(settings_x)
    given = settings.bootstrap_server if bootstrap_server is None else bootstrap_server  # -b '' is given
    if bootstrap_server is None and not given:
        from kafkalab.lab.secured import client_settings

        lab = settings.with_record()
        # A secured lab's own listener settings (its user, its CA), under the context's and -X.
        return Target(lab.lab_bootstrap, {**client_settings(lab), **client}, lab=True,
                      replication=MODES[lab.mode].replication)
    source = settings.sources.get("bootstrap_server", "flag")  # "flag", "env KAFKALAB_...", or a file
    if source == "flag":
        where = "--bootstrap-server"
    else:
        where = source.removeprefix("env ") if source.startswith("env ") else f"bootstrap_server in {source}"
    return Target(parse_bootstrap(given, where), client, lab=False)
