"""The REST API of a Kafka Connect cluster (the lab's worker, or any: --connect-url, a context's
connect_url), through httpx (the HTTP client that confluent-kafka's schemaregistry extra brings), and its
errors as kafkalab's, ONCE (connect_error): nothing answers there (ConnectUnreachable, 44), no such
connector (ConnectorNotFound, 45, a 404), a config it refuses (InvalidConnectorConfig, 46, a 400 with its
message), a rebalance under way (ConnectRebalancing, 47, a 409), 401/403 (AuthenticationFailed, 16).

    from kafkalab.connectors.client import Connect, ConnectTarget
    connect = Connect(ConnectTarget("http://localhost:8083", lab=False))
    connect.put_config("events", {"connector.class": "FileStreamSource", "file": "/tmp/in.txt", "topic": "t"})

May import: kafkalab.errors; httpx inside functions only (`kafkalab --help` must not load it).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from kafkalab.errors import (
    AuthenticationFailed,
    ConnectorNotFound,
    ConnectRebalancing,
    ConnectUnreachable,
    InvalidConnectorConfig,
    KafkalabError,
)

TIMEOUT = 10.0  # seconds one request may take (a create validates the config: a few seconds at most)


@dataclasses.dataclass(frozen=True)
class ConnectTarget:
    """Where a connector command finds its Connect cluster's REST API."""

    url: str
    lab: bool  # the lab's own worker (then `up --with connect` is the hint when none answers)


@dataclasses.dataclass(frozen=True)
class TaskState:
    id: int
    state: str  # RUNNING, FAILED, PAUSED, UNASSIGNED, RESTARTING
    worker: str
    trace: str = ""  # the failure's stack trace, for a FAILED task

    @property
    def reason(self) -> str:
        """The first line of the trace: the exception and its message."""
        return self.trace.strip().splitlines()[0] if self.trace.strip() else ""


@dataclasses.dataclass(frozen=True)
class ConnectorState:
    """A connector, its state and its tasks' (GET /connectors/NAME/status)."""

    name: str
    type: str  # source, sink, or "" when the worker cannot tell yet
    state: str
    worker: str
    tasks: tuple[TaskState, ...]
    trace: str = ""  # the connector's own failure, when it is FAILED

    @property
    def failed(self) -> tuple[str, ...]:
        """What failed, one line each: the connector itself, and each failed task with its reason."""
        found = [f"the connector failed: {first_line(self.trace)}"] if self.state == "FAILED" else []
        found += [f"task {t.id} failed: {t.reason}" for t in self.tasks if t.state == "FAILED"]
        return tuple(found)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "state": self.state, "worker": self.worker,
                "trace": self.trace or None,
                "tasks": [{"id": t.id, "state": t.state, "worker": t.worker, "trace": t.trace or None}
                          for t in self.tasks]}


@dataclasses.dataclass(frozen=True)
class Connector:
    """A connector's config and tasks (GET /connectors/NAME)."""

    name: str
    type: str
    config: dict[str, str]
    tasks: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Plugin:
    """A plugin the worker has (GET /connector-plugins; with connectorsOnly=false, not only connectors)."""

    cls: str
    type: str  # source, sink, converter, transformation, predicate, header_converter
    version: str

    def to_dict(self) -> dict[str, Any]:
        return {"class": self.cls, "type": self.type, "version": self.version}


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def parse_state(name: str, body: Mapping[str, Any]) -> ConnectorState:
    """A connector's status as the REST API gives it ({"name", "connector": {...}, "tasks": [...], "type"})."""
    own = body.get("connector") or {}
    tasks = tuple(
        TaskState(int(t.get("id", 0)), str(t.get("state", "")), str(t.get("worker_id", "")), str(t.get("trace") or ""))
        for t in body.get("tasks") or ()
    )
    return ConnectorState(str(body.get("name", name)), str(body.get("type") or ""), str(own.get("state", "")),
                          str(own.get("worker_id", "")), tuple(sorted(tasks, key=lambda t: t.id)),
                          str(own.get("trace") or ""))


MESSAGE_CHARS = 600  # of a REST API's message, at most
# After an unknown connector class, the worker lists every connector it has as Java's PluginDesc{...}
# text: `kafkalab connector plugins` lists them readably (the hint of InvalidConnectorConfig says so).
_AVAILABLE = re.compile(r",?\s*available connectors are:.*", re.DOTALL)
_JAVA_EXCEPTION = re.compile(r"^(?:[a-z_][a-z0-9_]*\.)+[A-Z]\w*(?:Exception|Error): ")  # the worker's own class


def one_line(message: str) -> str:
    """A REST API's message on one line: its lines joined (each once), without the pointer to the
    validate endpoint that follows a 400's list of errors, the list of every connector class that
    follows an unknown one, and the Java exception's class before it, cut at MESSAGE_CHARS."""
    message = _JAVA_EXCEPTION.sub("", _AVAILABLE.sub("", message.strip()))
    lines: list[str] = []
    for line in (x.strip() for x in message.splitlines()):
        if line and line not in lines and not line.startswith("You can also find the above list of errors"):
            lines.append(line)
    text = "".join(x if i == 0 else (" " if lines[i - 1].endswith(":") else "; ") + x for i, x in enumerate(lines))
    text = text.rstrip(".")
    return text if len(text) <= MESSAGE_CHARS else text[:MESSAGE_CHARS - 1] + "…"


def connect_error(target: ConnectTarget, status: int, message: str, connector: str | None = None) -> KafkalabError:
    """The kafkalab error of a REST API's answer: its HTTP status and message (the one place they are mapped)."""
    message = one_line(message) or f"HTTP {status}"
    if status in (401, 403):
        return AuthenticationFailed(
            f"The Connect REST API at {target.url} refused the request (HTTP {status}: {message}).",
            "It wants a login (the basic auth extension): kafkalab's connector commands send none.",
        )
    if status == 404 and connector is not None:
        return ConnectorNotFound(f"There is no connector {connector} at {target.url} ({message}).")
    if status == 404:
        return _unreachable(target, f"HTTP 404 for the REST API's path: {message}")
    if status == 400:
        what = f"the config of connector {connector}" if connector else "the request"
        return InvalidConnectorConfig(f"Kafka Connect at {target.url} refused {what}: {message}.")
    if status == 409:
        return ConnectRebalancing(f"Kafka Connect at {target.url} is rebalancing its workers ({message}).")
    return KafkalabError(f"Kafka Connect at {target.url} answered HTTP {status}: {message}.",
                         "`kafkalab logs connect` (the lab's worker) says why.")


def _unreachable(target: ConnectTarget, why: str) -> ConnectUnreachable:
    hint = ConnectUnreachable.hint if target.lab else ConnectUnreachable.hint_elsewhere
    return ConnectUnreachable(f"No Kafka Connect answers at {target.url} ({why}).", hint)


class Connect:
    """What `kafkalab connector` asks of a Connect cluster; each answer checked (connect_error)."""

    def __init__(self, target: ConnectTarget, timeout: float = TIMEOUT) -> None:
        self.target = target
        self.timeout = timeout

    def _call(self, method: str, path: str, *, body: Any = None, connector: str | None = None,
              params: Mapping[str, Any] | None = None) -> tuple[int, Any]:
        """One request: its status and JSON answer (None when it has no body); errors as kafkalab's."""
        from confluent_kafka.schema_registry.common._httpx_compat import httpx

        try:
            response = httpx.request(method, self.target.url + path, json=body, params=params, timeout=self.timeout,
                                     headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:  # refused, reset, timed out, a bad URL
            raise _unreachable(self.target, f"{type(exc).__name__}: {exc}") from None
        try:
            answer = response.json() if response.content else None
        except ValueError:
            if response.is_success:
                raise _unreachable(self.target, f"HTTP {response.status_code} with no JSON: no Connect REST API") \
                    from None
            answer = {"message": response.text[:200]}
        if not response.is_success:
            message = str(answer.get("message", "")) if isinstance(answer, dict) else ""
            raise connect_error(self.target, response.status_code, message, connector)
        return response.status_code, answer

    @staticmethod
    def _path(name: str) -> str:
        return "/connectors/" + quote(name, safe="")

    def info(self) -> dict[str, Any]:
        """GET /: the worker's version, commit and Kafka cluster id."""
        _status, found = self._call("GET", "/")
        return dict(found or {})

    def plugins(self, connectors_only: bool = True) -> list[Plugin]:
        """The worker's connector plugins (source, sink); with connectors_only False its converters,
        transformations and predicates too (the REST API's connectorsOnly)."""
        params = {"connectorsOnly": "true" if connectors_only else "false"}
        _status, found = self._call("GET", "/connector-plugins", params=params)
        return sorted((Plugin(str(p["class"]), str(p.get("type", "")), str(p.get("version", ""))) for p in found or ()),
                      key=lambda p: (p.type, p.cls))

    def states(self) -> list[ConnectorState]:
        """Every connector with its state and its tasks', by name (GET /connectors?expand=status)."""
        _status, found = self._call("GET", "/connectors", params={"expand": "status"})
        return [parse_state(name, (found[name] or {}).get("status") or {}) for name in sorted(found or {})]

    def state(self, name: str) -> ConnectorState:
        _status, found = self._call("GET", self._path(name) + "/status", connector=name)
        return parse_state(name, found or {})

    def get(self, name: str) -> Connector:
        _status, found = self._call("GET", self._path(name), connector=name)
        found = found or {}
        return Connector(str(found.get("name", name)), str(found.get("type") or ""),
                         {str(k): str(v) for k, v in (found.get("config") or {}).items()},
                         tuple(int(t.get("task", 0)) for t in found.get("tasks") or ()))

    def configs(self) -> dict[str, dict[str, str]]:
        """Every connector's config, by name (GET /connectors?expand=info)."""
        _status, found = self._call("GET", "/connectors", params={"expand": "info"})
        return {name: {str(k): str(v) for k, v in ((found[name] or {}).get("info") or {}).get("config", {}).items()}
                for name in sorted(found or {})}

    def validate(self, name: str, config: Mapping[str, str]) -> list[str]:
        """What the worker finds wrong with a connector's config, one line each; changes nothing
        (PUT /connector-plugins/CLASS/config/validate)."""
        plugin = quote(str(config.get("connector.class", "")), safe="")
        path = f"/connector-plugins/{plugin}/config/validate"
        _status, found = self._call("PUT", path, body={**config, "name": name}, connector=name)
        errors = []
        for item in (found or {}).get("configs") or ():
            value = item.get("value") or {}
            errors += [f"{value.get('name')}: {e}" for e in value.get("errors") or ()]
        return errors

    def put_config(self, name: str, config: Mapping[str, str]) -> bool:
        """Create the connector with this config, or update it (PUT /connectors/NAME/config): True when
        created. A config the worker refuses with a list of errors is InvalidConnectorConfig with each
        error and the setting it is of, as validate() gives them (the 400 names no setting, so that
        two settings' same error read as one)."""
        body = {**config, "name": name}
        try:
            status, _found = self._call("PUT", self._path(name) + "/config", body=body, connector=name)
        except InvalidConnectorConfig as exc:
            found = re.search(r"contains the following \d+ error\(s\)", exc.message)
            if not found:
                raise
            try:
                errors = self.validate(name, config)
            except KafkalabError:
                errors = []
            if not errors:
                raise
            raise InvalidConnectorConfig(
                f"{exc.message.partition(found.group(0))[0]}contains {len(errors)} error(s): "
                f"{'; '.join(e.rstrip('.') for e in errors)}.",
                exc.hint) from None
        return status == 201

    def pause(self, name: str) -> None:
        self._call("PUT", self._path(name) + "/pause", connector=name)

    def resume(self, name: str) -> None:
        self._call("PUT", self._path(name) + "/resume", connector=name)

    def restart(self, name: str, include_tasks: bool = False) -> None:
        params = {"includeTasks": "true", "onlyFailed": "false"} if include_tasks else None
        self._call("POST", self._path(name) + "/restart", params=params, connector=name)

    def delete(self, name: str) -> None:
        self._call("DELETE", self._path(name), connector=name)


def states_at(url: str, timeout: float = 2.0) -> tuple[ConnectorState, ...] | None:
    """The connectors of the lab's worker at url with their states; None when it does not give them
    (status then says what is wrong with the worker itself)."""
    try:
        return tuple(Connect(ConnectTarget(url, lab=True), timeout).states())
    except KafkalabError:
        return None


def read_config(items: tuple[str, ...], text: str | None, source: str) -> dict[str, str]:
    """A connector's config from --config k=v items, or from a JSON file's text ({"name", "config": {...}}
    as the REST API's POST takes it, or the config object alone); InvalidConnectorConfig says what is wrong."""
    import json

    if text is not None:
        try:
            found = json.loads(text)
        except ValueError as exc:
            raise InvalidConnectorConfig(f"{source} is not JSON: {exc}.",
                                         'Give {"config": {"connector.class": "...", ...}} or the config alone.') \
                from None
        if isinstance(found, dict) and isinstance(found.get("config"), dict):
            found = found["config"]
        if not isinstance(found, dict) or not all(not isinstance(v, (dict, list)) for v in found.values()):
            raise InvalidConnectorConfig(f"{source} holds no connector config: an object of keys and values.",
                                         'Give {"config": {"connector.class": "...", ...}} or the config alone.')
        return {str(k): (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in found.items() if k != "name"}
    config: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidConnectorConfig(f"{item!r} is not KEY=VALUE.",
                                         "Give each setting as --config key=value, such as --config tasks.max=1.")
        config[key.strip()] = value
    return config
