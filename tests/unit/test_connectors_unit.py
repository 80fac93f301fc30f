"""Kafka Connect without Docker (issue 22): the worker config kafkalab writes, the settings of the
worker, the REST API's answers as kafkalab's errors (against a small HTTP server of the test's own),
where the connector commands find their Connect cluster, and a failed task in a lab's status."""

from __future__ import annotations

import json
import stat
import threading
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner

from kafkalab.cli.main import cli
from kafkalab.connectors import worker
from kafkalab.connectors.client import (
    Connect,
    ConnectorState,
    ConnectTarget,
    TaskState,
    connect_error,
    one_line,
    parse_state,
    read_config,
)
from kafkalab.docker.compose import Compose, compose_dir
from kafkalab.docker.models import Container
from kafkalab.errors import (
    EXIT_CODES,
    AuthenticationFailed,
    ConfigError,
    ConnectorNotFound,
    ConnectRebalancing,
    ConnectUnreachable,
    InvalidConnectorConfig,
    KafkalabError,
)
from kafkalab.kafka.cluster import ClusterInfo
from kafkalab.kafka.contexts import resolve_connect
from kafkalab.lab import state
from kafkalab.lab.connection import LabNetwork
from kafkalab.lab.status import assemble
from kafkalab.settings import Settings, resolve

LAB = ConnectTarget("http://localhost:8083", lab=True)
ELSEWHERE = ConnectTarget("http://connect.example.com:8083", lab=False)


def lines(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


# --- the worker config ------------------------------------------------------------------------------


def test_the_worker_config_of_a_kraft_lab() -> None:
    found = lines(worker.worker_config(Settings(project="orders")))
    assert found["bootstrap.servers"] == "kafka:9092"
    assert found["group.id"] == "kafkalab-connect"
    assert [found[f"{k}.storage.topic"] for k in ("config", "offset", "status")] == [
        "connect-configs", "connect-offsets", "connect-status"]
    assert {found[f"{k}.storage.replication.factor"] for k in ("config", "offset", "status")} == {"1"}
    assert (found["key.converter"], found["key.converter.schemas.enable"]) == (
        "org.apache.kafka.connect.json.JsonConverter", "false")
    assert (found["value.converter"], found["value.converter.schemas.enable"]) == (
        "org.apache.kafka.connect.json.JsonConverter", "false")
    assert found["plugin.path"] == "/tmp/kafkalab-plugins"
    assert found["plugin.discovery"] == "service_load"  # the distribution's plugins all have manifests
    assert (found["listeners"], found["rest.advertised.host.name"]) == ("http://0.0.0.0:8083", "connect")


def test_a_cluster_labs_worker_knows_every_broker_and_replicates_its_topics_three_times() -> None:
    found = lines(worker.worker_config(Settings(mode="cluster")))
    assert found["bootstrap.servers"] == "kafka:9092,kafka-2:9092,kafka-3:9092"
    assert {found[f"{k}.storage.replication.factor"] for k in ("config", "offset", "status")} == {"3"}


@pytest.mark.parametrize(("name", "cls", "extra"), [
    ("json-schemas", "org.apache.kafka.connect.json.JsonConverter", {"value.converter.schemas.enable": "true"}),
    ("string", "org.apache.kafka.connect.storage.StringConverter", {}),
    ("bytes", "org.apache.kafka.connect.converters.ByteArrayConverter", {}),
    ("org.example.MyConverter", "org.example.MyConverter", {}),
])
def test_the_value_converter_setting(name: str, cls: str, extra: dict[str, str]) -> None:
    found = lines(worker.worker_config(resolve({"value_converter": name}, env={})))
    assert found["value.converter"] == cls
    assert {k: v for k, v in found.items() if k.startswith("value.converter.")} == extra


def test_avro_needs_the_labs_schema_registry() -> None:
    with pytest.raises(ConfigError) as caught:
        worker.worker_config(Settings(key_converter="avro", with_=("connect",)))
    assert caught.value.message == "key_converter is avro, and the lab runs no Schema Registry for it to read."
    found = lines(worker.worker_config(Settings(value_converter="avro", with_=("schema-registry", "connect"))))
    assert found["value.converter"] == "io.confluent.connect.avro.AvroConverter"
    assert found["value.converter.schema.registry.url"] == "http://schema-registry:8080/apis/ccompat/v7"


@pytest.mark.parametrize(("setting", "value", "why"), [
    ("key_converter", "not a class", "is no converter: give one of json, json-schemas, string, bytes, avro, or a "
                                     "converter's class name"),
    ("connect_plugins", "plugins", "is not an absolute path: give the folder of connector plugins from /"),
    ("connect_url", "localhost:8083", "is not an http:// or https:// URL"),
    ("connect_port", "0", "is not between 1 and 65535"),
])
def test_bad_connect_settings_are_config_errors(setting: str, value: str, why: str) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve({}, env={f"KAFKALAB_{setting.upper()}": value})
    assert caught.value.message == f"Bad value for {setting} (env KAFKALAB_{setting.upper()}): {value!r} {why}."


def test_the_worker_config_is_written_readable_by_the_workers_user(state_dir: Path, tmp_path: Path) -> None:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    settings = Settings(project="orders", with_=("connect",), connect_plugins=str(plugins))
    path = worker.write(settings)
    assert path == state_dir / "orders.connect.properties" == state.connect_config("orders")
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # the image's appuser reads it; it holds no secret
    assert lines(path.read_text())["plugin.path"] == "/tmp/kafkalab-plugins,/opt/kafkalab/plugins"
    assert "plugin.discovery" not in lines(path.read_text())  # hybrid_warn: a user's plugin may lack manifests
    assert settings.compose_env()["KAFKALAB_CONNECT_CONFIG"] == str(path)
    assert settings.compose_env()["KAFKALAB_CONNECT_PLUGINS"] == str(plugins)
    assert [Path(f).name for f in Compose(settings).files] == ["kraft.yaml", "connect.yaml", "connect-plugins.yaml"]
    state.forget("orders")  # down --volumes: the record goes, and the worker config with it
    assert not path.exists()


def test_a_plugins_folder_that_is_not_there_is_refused(state_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        worker.write(Settings(project="orders", connect_plugins=str(tmp_path / "nope")))
    assert caught.value.message == f"connect_plugins is {tmp_path / 'nope'}, which is no folder here."
    assert not state.connect_config("orders").exists()


def test_the_plugins_file_is_added_only_with_connect(state_dir: Path, tmp_path: Path) -> None:
    assert (compose_dir() / "extra" / "connect-plugins.yaml").is_file()
    files = Compose(Settings(with_=("schema-registry",), connect_plugins=str(tmp_path))).files
    assert [Path(f).name for f in files] == ["kraft.yaml", "schema-registry.yaml"]


# --- the REST API's answers ---------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "connector", "kind", "code"), [
    (400, "events", InvalidConnectorConfig, 46),
    (404, "events", ConnectorNotFound, 45),
    (404, None, ConnectUnreachable, 44),
    (409, None, ConnectRebalancing, 47),
    (401, None, AuthenticationFailed, 16),
    (500, "events", KafkalabError, 1),
])
def test_each_http_status_is_an_error_of_its_own(status: int, connector: str | None, kind: type, code: int) -> None:
    found = connect_error(LAB, status, "It said why.", connector)
    assert type(found) is kind and found.exit_code == code


def test_the_messages_of_the_rest_apis_errors() -> None:
    bad = connect_error(LAB, 400, "Connector configuration is invalid and contains the following 2 error(s):\n"
                        "Must configure one of topics or topics.regex\nMust configure one of topics or topics.regex\n"
                        "You can also find the above list of errors at the endpoint `/connector-plugins/{connector"
                        "Type}/config/validate`\n", "sink")
    assert bad.message == ("Kafka Connect at http://localhost:8083 refused the config of connector sink: Connector "
                           "configuration is invalid and contains the following 2 error(s): Must configure one of "
                           "topics or topics.regex.")
    assert connect_error(LAB, 404, "Connector events not found", "events").message == (
        "There is no connector events at http://localhost:8083 (Connector events not found).")
    assert connect_error(LAB, 409, "Cannot complete request momentarily due to stale configuration").hint == \
        "Run it again in a few seconds, once the workers have rebalanced."
    assert len(one_line("x" * 2000)) == 600
    plugin = ("PluginDesc{klass=class org.apache.kafka.connect.file.FileStreamSinkConnector, name='org.apache.kafka."
              "connect.file.FileStreamSinkConnector', version='4.4.0', type=sink, typeName='sink', location='file:/x'}")
    unknown = connect_error(LAB, 400, "org.apache.kafka.connect.errors.ConnectException: Failed to find any class that "
                            f"implements Connector and which name matches NoSuch, available connectors are: {plugin}, "
                            f"{plugin}", "u")
    assert unknown.message == ("Kafka Connect at http://localhost:8083 refused the config of connector u: Failed to "
                               "find any class that implements Connector and which name matches NoSuch.")
    assert "`kafkalab connector plugins`" in unknown.hint


def test_none_there_says_how_to_start_one_or_to_check_the_url() -> None:
    assert connect_error(LAB, 404, "").hint == ConnectUnreachable.hint
    assert connect_error(ELSEWHERE, 404, "").hint == ConnectUnreachable.hint_elsewhere
    assert "`kafkalab up --with connect`" in ConnectUnreachable.hint
    assert {EXIT_CODES[n] for n in ("ConnectUnreachable", "ConnectorNotFound", "InvalidConnectorConfig",
                                    "ConnectRebalancing")} == {44, 45, 46, 47}


class _Canned(BaseHTTPRequestHandler):
    answers: ClassVar[dict[tuple[str, str], tuple[int, bytes]]] = {}
    seen: ClassVar[list[tuple[str, str, bytes]]] = []

    def _answer(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.seen.append((self.command, self.path, body))
        status, text = self.answers.get((self.command, self.path), (404, b'{"error_code":404,"message":"nope"}'))
        self.send_response(status)
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    do_GET = do_PUT = do_POST = do_DELETE = _answer

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def canned() -> Iterator[tuple[str, type[_Canned]]]:
    """A Connect REST API of the test's own: (its URL, the handler whose answers the test sets)."""
    handler = type("Handler", (_Canned,), {"answers": {}, "seen": []})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def test_the_client_against_a_rest_api(canned: tuple[str, type[_Canned]]) -> None:
    url, handler = canned
    status = {"name": "a b", "type": "sink", "connector": {"state": "RUNNING", "worker_id": "w:8083"},
              "tasks": [{"id": 0, "state": "FAILED", "worker_id": "w:8083", "trace": "java.io.IOException: no\n\tat x"}]}
    handler.answers = {
        ("GET", "/connectors?expand=status"): (200, json.dumps({"a b": {"status": status}}).encode()),
        ("PUT", "/connectors/a%20b/config"): (201, b'{"name": "a b", "config": {}, "tasks": []}'),
        ("POST", "/connectors/a%20b/restart?includeTasks=true&onlyFailed=false"): (202, b""),
        ("PUT", "/connectors/busy/pause"): (409, b'{"error_code":409,"message":"Rebalance in progress"}'),
        ("GET", "/"): (200, b"<html>not Connect</html>"),
    }
    connect = Connect(ConnectTarget(url, lab=False))
    [found] = connect.states()
    assert (found.name, found.state, found.failed) == ("a b", "RUNNING", ("task 0 failed: java.io.IOException: no",))
    assert connect.put_config("a b", {"connector.class": "FileStreamSink", "topics": "t"}) is True
    assert json.loads(handler.seen[-1][2]) == {"connector.class": "FileStreamSink", "topics": "t", "name": "a b"}
    connect.restart("a b", include_tasks=True)
    handler.answers[("GET", "/connector-plugins?connectorsOnly=true")] = (200, json.dumps([
        {"class": "org.apache.kafka.connect.file.FileStreamSourceConnector", "type": "source", "version": "4.4.0"},
    ]).encode())
    handler.answers[("GET", "/connector-plugins?connectorsOnly=false")] = (200, json.dumps([
        {"class": "org.apache.kafka.connect.file.FileStreamSourceConnector", "type": "source", "version": "4.4.0"},
        {"class": "org.apache.kafka.connect.transforms.Filter", "type": "transformation", "version": "4.4.0"},
    ]).encode())
    assert [p.type for p in connect.plugins()] == ["source"]
    assert [p.type for p in connect.plugins(connectors_only=False)] == ["source", "transformation"]
    with pytest.raises(ConnectRebalancing):
        connect.pause("busy")
    with pytest.raises(ConnectorNotFound):
        connect.delete("gone")
    with pytest.raises(ConnectUnreachable) as caught:
        connect.info()
    assert "no JSON: no Connect REST API" in caught.value.message


def test_a_refused_config_names_each_error_with_its_setting(canned: tuple[str, type[_Canned]]) -> None:
    """The 400 of a create lists its errors without their settings (two settings' same error read as
    one): the worker's validate endpoint names them, as apply shows them."""
    url, handler = canned
    same = "Must configure one of topics or topics.regex"
    handler.answers = {
        ("PUT", "/connectors/bad/config"): (400, json.dumps({"error_code": 400, "message": (
            f"Connector configuration is invalid and contains the following 2 error(s):\n{same}\n{same}\n"
            "You can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/"
            "validate`")}).encode()),
        ("PUT", "/connector-plugins/FileStreamSink/config/validate"): (200, json.dumps({"error_count": 2, "configs": [
            {"value": {"name": "topics", "errors": [same]}}, {"value": {"name": "file", "errors": []}},
            {"value": {"name": "topics.regex", "errors": [same + "."]}}]}).encode()),
    }
    with pytest.raises(InvalidConnectorConfig) as caught:
        Connect(ConnectTarget(url, lab=False)).put_config("bad", {"connector.class": "FileStreamSink"})
    assert caught.value.message == (
        f"Kafka Connect at {url} refused the config of connector bad: Connector configuration is invalid and "
        f"contains 2 error(s): topics: {same}; topics.regex: {same}.")
    assert caught.value.hint == InvalidConnectorConfig.hint


def test_describe_shows_how_many_tasks_and_their_ids() -> None:
    from kafkalab.cli.render import task_count

    assert [task_count(ids) for ids in ((), (0,), (0, 1))] == ["0", "1 (id 0)", "2 (ids 0, 1)"]


def test_nothing_listening_is_connect_unreachable() -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on: bound, never listening
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        with pytest.raises(ConnectUnreachable) as caught:
            Connect(ConnectTarget(url, lab=True), timeout=2).states()
    assert caught.value.message.startswith(f"No Kafka Connect answers at {url} (ConnectError")
    assert caught.value.hint == ConnectUnreachable.hint


def test_a_connector_state_and_what_failed() -> None:
    found = parse_state("x", {"connector": {"state": "FAILED", "worker_id": "w", "trace": "E: boom\n at y"},
                              "tasks": [{"id": 1, "state": "RUNNING", "worker_id": "w"},
                                        {"id": 0, "state": "FAILED", "worker_id": "w", "trace": "T: bad"}]})
    assert [t.id for t in found.tasks] == [0, 1]
    assert found.failed == ("the connector failed: E: boom", "task 0 failed: T: bad")
    assert found.to_dict()["tasks"][1] == {"id": 1, "state": "RUNNING", "worker": "w", "trace": None}


def test_a_connectors_config_from_flags_or_a_file() -> None:
    assert read_config(("a=1", "b=x=y", "c="), None, "--config") == {"a": "1", "b": "x=y", "c": ""}
    whole = json.dumps({"name": "n", "config": {"tasks.max": 1, "x": True, "name": "n"}})
    assert read_config((), whole, "f.json") == read_config((), '{"tasks.max": "1", "x": "true"}', "f.json") == {
        "tasks.max": "1", "x": "true"}
    for bad in ("{", '{"config": {"a": {"b": 1}}}', "[1]"):
        with pytest.raises(InvalidConnectorConfig):
            read_config((), bad, "f.json")
    with pytest.raises(InvalidConnectorConfig) as caught:
        read_config(("nothing",), None, "--config")
    assert caught.value.message == "'nothing' is not KEY=VALUE."


def test_create_takes_flags_or_a_file_not_both(tmp_path: Path) -> None:
    (tmp_path / "c.json").write_text("{}")
    for args in ([], ["--config", "a=1", "--file", str(tmp_path / "c.json")]):
        result = CliRunner().invoke(cli, ["connector", "create", "x", *args])
        assert result.exit_code == 2 and "not both" in result.output, result.output


# --- where the connector commands go ------------------------------------------------------------------


def test_the_connect_url_comes_from_the_flag_the_context_the_setting_or_the_lab(
    state_dir: Path, tmp_path: Path,
) -> None:
    (tmp_path / "kafkalab.toml").write_text(
        '[contexts.prod]\nbootstrap_server = "k:9092"\nconnect_url = "https://${CONNECT_HOST}:8083/"\n')
    env = {"CONNECT_HOST": "connect.example.com"}
    assert resolve_connect({"connect_url": "http://a:1"}, cwd=tmp_path, env=env) == ConnectTarget("http://a:1", False)
    assert resolve_connect({"context": "prod"}, cwd=tmp_path, env=env) == ConnectTarget(
        "https://connect.example.com:8083", False)
    assert resolve_connect({}, cwd=tmp_path, env={"KAFKALAB_CONNECT_URL": "http://b:2"}) == ConnectTarget(
        "http://b:2", False)
    state.write("orders", {"KAFKALAB_MODE": "kraft", "KAFKALAB_CONNECT_PORT": "18083", "KAFKALAB_WITH": "connect"})
    assert resolve_connect({"project": "orders"}, cwd=tmp_path, env={}) == ConnectTarget("http://localhost:18083", True)


# --- a failed task in the lab's status ----------------------------------------------------------------


def test_a_failed_task_makes_the_lab_degraded_naming_the_connector() -> None:
    settings = Settings(project="orders", with_=("connect",))
    compose = SimpleNamespace(settings=settings, spec=settings.spec, running_for=lambda _c: 5.0)
    containers = tuple(Container(name, f"orders-{name}-1", "running", "Up", (), "img") for name in ("connect", "kafka"))
    info = ClusterInfo("localhost:9094", "id", 1, ((1, "localhost:9094"),), 3, 3)
    good = ConnectorState("fine", "source", "RUNNING", "connect:8083", (TaskState(0, "RUNNING", "connect:8083"),))
    bad = ConnectorState("sink", "sink", "RUNNING", "connect:8083",
                         (TaskState(0, "FAILED", "connect:8083", "org.x.ConnectException: no file\n\tat y"),))
    network = LabNetwork("orders", "kafka:9092")
    found = assemble(compose, containers, info, None, None, network, (), (good, bad))  # type: ignore[arg-type]
    assert found.state == "degraded"
    assert found.problems == ("connector sink: task 0 failed: org.x.ConnectException: no file.",)
    assert found.hint == ("`kafkalab connector status sink` shows the whole trace; once the cause is fixed, "
                          "`kafkalab connector restart sink --include-tasks` restarts it.")
    assert found.to_dict()["connectors"][1]["tasks"][0]["state"] == "FAILED"
    healthy = assemble(compose, containers, info, None, None, network, (), (good,))  # type: ignore[arg-type]
    assert (healthy.state, healthy.to_dict()["connectors"][0]["name"]) == ("healthy", "fine")
    assert assemble(compose, containers, info, None, None, network).to_dict()["connectors"] is None  # type: ignore[arg-type]


# --- [connectors.NAME]: connectors declared beside topics ----------------------------------------------

DECLARED = """\
[connectors.lines-in]
config = { "connector.class" = "FileStreamSource", file = "/tmp/in.txt", topic = "lines", "tasks.max" = 1 }

[connectors.lines-out.config]
"connector.class" = "FileStreamSink"
topics = "lines"
file = "/tmp/out.txt"

[connectors.same]
config = { "connector.class" = "FileStreamSink", topics = "lines" }
"""


def test_declared_connectors_are_parsed_with_their_lines(tmp_path: Path) -> None:
    from kafkalab.declare import plan

    (tmp_path / "kafkalab.toml").write_text(DECLARED)
    found = plan.load(tmp_path).objects["connectors"]
    assert [c.name for c in found] == ["lines-in", "lines-out", "same"]
    assert found[0].settings == {"connector.class": "FileStreamSource", "file": "/tmp/in.txt", "topic": "lines",
                                 "tasks.max": "1"}
    assert plan.load(tmp_path).count() == "3 connectors"
    for body, why in [
        ('[connectors.x]\nconfig = { file = "/tmp/a" }\n', "line 2, [connectors.x]: config has no connector.class"),
        ("[connectors.x]\nconfig = {}\n", "line 2, [connectors.x]: config must be a table of the connector's settings"),
        ('[connectors.x]\nclass = "a"\n', "line 2, [connectors.x]: unknown key 'class'."),
        ('[connectors.x]\nconfig = { "connector.class" = "A", tags = ["a"] }\n',
         "line 2, [connectors.x]: config tags = [\"a\"] is no setting's value"),
    ]:
        (tmp_path / "kafkalab.toml").write_text(body)
        with pytest.raises(ConfigError) as caught:
            plan.load(tmp_path)
        assert caught.value.message.startswith(f"{tmp_path / 'kafkalab.toml'}, {why}"), caught.value.message


def test_a_connectors_config_table_takes_unquoted_dotted_keys(tmp_path: Path) -> None:
    from kafkalab.declare import plan

    # TOML reads `tasks.max = 1` as {"tasks": {"max": 1}}: the keys are joined with "." again, in the file's order.
    (tmp_path / "kafkalab.toml").write_text('[connectors.lines-in.config]\nconnector.class = "FileStreamSource"\n'
                                            'tasks.max = 1\ntopic = "lines"\nerrors.deadletterqueue.topic.name = "dlq"\n')
    (found,) = plan.load(tmp_path).objects["connectors"]
    assert found.config == (("connector.class", "FileStreamSource"), ("tasks.max", "1"), ("topic", "lines"),
                            ("errors.deadletterqueue.topic.name", "dlq"))


def test_the_plan_creates_updates_and_leaves_alone(canned: tuple[str, type[_Canned]], tmp_path: Path) -> None:
    from kafkalab.declare import plan
    from kafkalab.declare.base import Cluster
    from kafkalab.declare.connectors import ConnectorKind

    url, handler = canned
    (tmp_path / "kafkalab.toml").write_text(DECLARED)
    existing = {"lines-out": {"info": {"config": {"connector.class": "FileStreamSink", "topics": "lines",
                                                  "file": "/tmp/old.txt", "name": "lines-out"}}},
                "same": {"info": {"config": {"connector.class": "FileStreamSink", "topics": "lines", "name": "same"}}},
                "other": {"info": {"config": {"connector.class": "X", "name": "other"}}}}
    handler.answers = {
        ("GET", "/connectors?expand=info"): (200, json.dumps(existing).encode()),
        ("PUT", "/connector-plugins/FileStreamSource/config/validate"): (200, b'{"error_count": 0, "configs": []}'),
        ("PUT", "/connector-plugins/FileStreamSink/config/validate"): (200, json.dumps({"error_count": 1, "configs": [
            {"value": {"name": "file", "errors": ["Not writable"]}}]}).encode()),
        ("PUT", "/connectors/lines-in/config"): (201, b"{}"),
        ("PUT", "/connectors/lines-out/config"): (200, b"{}"),
    }
    cluster = Cluster("localhost:9094", 1, connect=ConnectTarget(url, lab=True))
    found = plan.make_plan(plan.load(tmp_path), cluster)
    assert [f"{s.mark} {s.describe()}" for s in found.steps] == [
        "+ create connector lines-in (FileStreamSource)", "~ update connector lines-out (FileStreamSink): file differs"]
    with pytest.raises(InvalidConnectorConfig) as caught:  # validated first: nothing is carried out
        plan.apply(found, cluster)
    assert caught.value.message == (f"Kafka Connect at {url} refused the config of connector lines-out: file: Not "
                                    "writable. Nothing of the plan was applied.")
    assert not [s for s in handler.seen if s[1].startswith("/connectors/")]
    handler.answers[("PUT", "/connector-plugins/FileStreamSink/config/validate")] = (200, b'{"error_count": 0}')
    applied = plan.declare_on_up(plan.load(tmp_path), cluster)  # up does both, a connector's config being the worker's
    assert applied.summary() == "1 connector created, 1 connector updated"
    assert json.loads(handler.seen[-1][2]) == {"connector.class": "FileStreamSink", "topics": "lines",
                                                "file": "/tmp/out.txt", "name": "lines-out"}
    exported = ConnectorKind().export(cluster)  # plan.export asks the brokers too
    assert exported["other"] == {"config": {"connector.class": "X"}}
    assert tomllib.loads(plan.to_toml({"connectors": exported})) == {"with": ["connect"], "connectors": exported}


def test_an_updates_differing_keys_are_named_not_their_values() -> None:
    from kafkalab.declare.connectors import PutConnector, differing

    have = {"name": "c", "connector.class": "X", "db.password": "old", "gone": "1", "same": "s"}
    want = {"connector.class": "X", "db.password": "new", "same": "s", "added": "2"}
    assert differing(have, want) == ("db.password", "added", "gone")
    step = PutConnector("connector", "c", tuple(want.items()), True, differing(have, want))
    assert step.describe() == "update connector c (X): db.password, added, gone differ"
    assert "new" not in step.describe() and step.to_dict()["changed"] == ["db.password", "added", "gone"]


def test_declared_connectors_need_a_connect(tmp_path: Path) -> None:
    from kafkalab.declare import plan
    from kafkalab.declare.base import lab_cluster

    (tmp_path / "kafkalab.toml").write_text(DECLARED)
    with pytest.raises(ConfigError) as caught:
        plan.check(plan.load(tmp_path), lab_cluster(Settings(project="orders")))
    assert caught.value.message == (f"{tmp_path / 'kafkalab.toml'}, line 1, [connectors.lines-in]: connectors are "
                                    "declared, and the lab orders runs no Kafka Connect.")
    assert "`kafkalab up --with connect`" in (caught.value.hint or "")
    assert lab_cluster(Settings(with_=("connect",), connect_port=18083)).connect == ConnectTarget(
        "http://localhost:18083", lab=True)
