"""Kafka Connect as an optional service of the lab (`up --with connect`, issue 22), on the real test bed:
`up` waits for the worker and says when it was ready; `connect` and `doctor` show it; FileStreamSource
streams a file into a topic and FileStreamSink the topic into a file, compared line by line; a bad
config is a clear error (46), an unknown connector 45; a failed task makes the lab degraded, naming the
connector; the connectors survive `down` and are gone with `down --volumes`; MirrorMaker 2's
MirrorSourceConnector copies a topic from a second lab (another project on other ports) into this one."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from kafka_cli import IMAGES, poll

from kafkalab import Lab
from kafkalab.cli.main import cli
from kafkalab.lab.state import state_dir

pytestmark = pytest.mark.e2e
# Lines a file connector carries as they are: spaces, quotes, backslashes, non-ASCII, JSON-looking text.
LINES = [f"line {i}: ünïcödé \"quoted\" \\ {{\"n\": {i}}}" for i in range(1, 201)]


def lab_env(lab: Lab) -> dict[str, str]:
    """A user's shell for this lab: its project and ports, the bed's images; no mode and no `with`."""
    s = lab.settings
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KAFKALAB_")}
    return {**clean, **IMAGES, "KAFKALAB_PROJECT": s.project, "KAFKALAB_PORT": str(s.port),
            "KAFKALAB_UI_PORT": str(s.ui_port), "KAFKALAB_CONNECT_PORT": str(s.connect_port),
            "KAFKALAB_TIMEOUT": "240"}


def run(lab: Lab, *args: str, input: str | None = None, **extra: str) -> Result:
    return CliRunner().invoke(cli, list(args), env={**lab_env(lab), **extra}, input=input)


def ok(lab: Lab, *args: str) -> Result:
    result = run(lab, *args)
    assert result.exit_code == 0, (args, result.output)
    return result


def up_with_connect(lab: Lab, *args: str, **extra: str) -> Result:
    up = run(lab, "up", "--no-ui", *args, **extra)
    assert up.exit_code == 0, up.output
    assert "Kafka Connect ready in " in up.stderr, up.stderr
    return up


def connectors(lab: Lab) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in json.loads(ok(lab, "connector", "list", "--json").stdout)}


def worker(lab: Lab) -> str:
    return f"{lab.settings.project}-connect-1"


def docker(*args: str, input: str | None = None) -> str:
    return subprocess.run(["docker", *args], input=input, capture_output=True, text=True, check=True).stdout


def read_file(lab: Lab, path: str) -> list[str]:
    done = subprocess.run(["docker", "exec", worker(lab), "cat", path], check=False, capture_output=True, text=True)
    return done.stdout.splitlines() if done.returncode == 0 else []


def running(lab: Lab, name: str) -> bool:
    found = connectors(lab).get(name)
    return bool(found) and found["state"] == "RUNNING" and [t["state"] for t in found["tasks"]] == ["RUNNING"]


def test_file_connectors_errors_a_failed_task_and_the_connectors_lifetime(lab_factory: Callable[..., Lab]) -> None:
    lab = lab_factory()
    url = f"http://localhost:{lab.settings.connect_port}"
    up_with_connect(lab, "--with", "connect")
    env = ok(lab, "connect").stdout
    assert f"KAFKA_CONNECT_URL={url}\n" in env and "KAFKA_CONNECT_INTERNAL_URL=http://connect:8083\n" in env, env
    doctor = run(lab, "doctor", "--json")
    checks = {c["check"]: c for c in json.loads(doctor.stdout)["checks"]}
    assert (doctor.exit_code, checks["connect"]["result"]) == (0, "pass"), checks["connect"]
    plugins = {p["class"]: p["type"] for p in json.loads(ok(lab, "connector", "plugins", "--json").stdout)}
    assert {"org.apache.kafka.connect.file.FileStreamSourceConnector",
            "org.apache.kafka.connect.mirror.MirrorSourceConnector"} <= set(plugins), plugins
    assert set(plugins.values()) <= {"source", "sink"}, plugins  # connectors only: --all adds the others
    # A class may be two plugins (a converter and a header_converter): (class, type) pairs.
    every = {(p["class"], p["type"]) for p in json.loads(ok(lab, "connector", "plugins", "--all", "--json").stdout)}
    assert set(plugins.items()) <= every and {"converter", "transformation"} <= {t for _c, t in every}, every

    # A file into a topic, the topic into another file: both read back and compared line by line.
    docker("exec", "-i", worker(lab), "sh", "-c", "cat > /tmp/in.txt", input="\n".join(LINES) + "\n")
    created = ok(lab, "connector", "create", "lines-in", "--config", "connector.class=FileStreamSource",
                 "--config", "file=/tmp/in.txt", "--config", "topic=lines")
    assert created.stderr == "Created connector lines-in.\n"
    ok(lab, "connector", "create", "lines-out", "-c", "connector.class=FileStreamSink", "-c", "topics=lines",
       "-c", "file=/tmp/out.txt")
    assert poll(lambda: read_file(lab, "/tmp/out.txt") == LINES, 120, "the sink's file to hold every line")
    consumed = ok(lab, "consume", "lines", "--from-beginning", "-n", str(len(LINES))).stdout.splitlines()
    assert [json.loads(value) for value in consumed] == LINES  # the default converter: JSON, no schema
    assert poll(lambda: running(lab, "lines-in") and running(lab, "lines-out"), 60, "both connectors running")
    described = json.loads(ok(lab, "connector", "describe", "lines-in", "--json").stdout)
    assert described["config"]["file"] == "/tmp/in.txt" and described["type"] == "source", described
    assert described["tasks"] == [0], described
    assert "│ source │ 1 (id 0) │" in ok(lab, "connector", "describe", "lines-in").stdout

    errors(lab, url)
    failed_task(lab)
    lifetime(lab)


def errors(lab: Lab, url: str) -> None:
    """A bad config: the worker's message, on one line, exit 46; no such connector: 45."""
    bad = run(lab, "connector", "create", "bad", "-c", "connector.class=FileStreamSink", "-c", "file=/tmp/x")
    assert bad.exit_code == 46, bad.output
    assert bad.stderr.startswith(f"Error: Kafka Connect at {url} refused the config of connector bad: Connector "
                                 "configuration is invalid and contains 2 error(s): topics: Must configure one of "
                                 "topics or topics.regex; topics.regex: Must configure one of topics or topics.regex.\n"
                                 ), bad.stderr
    assert len(bad.stderr.splitlines()) == 2
    unknown = run(lab, "connector", "create", "u", "-c", "connector.class=NoSuch", "-c", "topics=x")
    assert unknown.exit_code == 46, unknown.output
    assert unknown.stderr == (
        f"Error: Kafka Connect at {url} refused the config of connector u: Failed to find any class that implements "
        "Connector and which name matches NoSuch.\nHint: Fix the config as the message says; `kafkalab connector "
        "plugins` lists the worker's connector classes.\n"), unknown.stderr
    assert run(lab, "connector", "status", "nope").exit_code == 45
    assert run(lab, "connector", "create", "x", "-c", "no-equals").exit_code == 46
    assert "bad" not in connectors(lab)



def failed_task(lab: Lab) -> None:
    """A task that fails makes the lab degraded, naming the connector and the task's error."""
    ok(lab, "connector", "create", "broken", "-c", "connector.class=FileStreamSink", "-c", "topics=lines",
       "-c", "file=/no/such/dir/out.txt")

    def degraded() -> dict[str, Any] | None:
        result = run(lab, "status", "--json")
        found: dict[str, Any] = json.loads(result.stdout)
        return found if result.exit_code == 21 else None

    found = poll(degraded, 60, "status to say the lab is degraded")
    assert found["state"] == "degraded"
    assert any(p.startswith("connector broken: task 0 failed: org.apache.kafka.connect.errors.ConnectException: "
                            "Couldn't find or create file '/no/such/dir/out.txt'") for p in found["problems"]), found
    assert "kafkalab connector restart broken --include-tasks" in found["hint"], found["hint"]
    states = {c["name"]: c for c in found["connectors"]}
    assert states["broken"]["tasks"][0]["state"] == "FAILED" and states["lines-in"]["state"] == "RUNNING"
    status = ok(lab, "connector", "status", "broken")
    assert "FAILED" in status.stdout and "FileStreamSinkTask.start" in status.stdout, status.stdout
    ok(lab, "connector", "restart", "broken", "--include-tasks")
    assert run(lab, "connector", "delete", "broken").exit_code == 15  # no terminal to ask on, no --yes
    assert ok(lab, "connector", "delete", "broken", "--yes").stderr == "Deleted connector broken.\n"
    assert poll(lambda: run(lab, "status").exit_code == 0, 60, "the lab to be healthy again")



def lifetime(lab: Lab) -> None:
    """Paused and resumed; then the connectors survive `down` (the lab's record brings the worker back),
    and are gone with `down --volumes`."""
    ok(lab, "connector", "pause", "lines-in")
    assert poll(lambda: connectors(lab)["lines-in"]["state"] == "PAUSED", 30, "lines-in to be paused")
    ok(lab, "connector", "resume", "lines-in")
    assert poll(lambda: running(lab, "lines-in"), 30, "lines-in to run again")
    ok(lab, "down")
    assert run(lab, "connector", "list").exit_code == 44  # nothing answers at the lab's worker
    up_with_connect(lab)
    assert poll(lambda: set(connectors(lab)) == {"lines-in", "lines-out"}, 60, "the connectors after down and up")
    assert poll(lambda: running(lab, "lines-in") and running(lab, "lines-out"), 60, "both running after up")
    ok(lab, "down", "--volumes", "--yes")
    up_with_connect(lab, "--with", "connect")
    assert connectors(lab) == {}


DECLARED = """\
[connectors.raw]
config = { "connector.class" = "FileStreamSource", file = "/tmp/in.txt", topic = "raw" }
"""


def test_plugins_converters_and_declared_connectors(
    lab_factory: Callable[..., Lab], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """connect_plugins: a folder of plugins (here a copy of the distribution's FileStream jar, in a
    folder of its own), mounted read-only and on plugin.path; value_converter string: lines as they are;
    a connector declared in kafkalab.toml: made by `up`, changed by `apply`, read back by `export`."""
    lab = lab_factory()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "kafkalab.toml").write_text(DECLARED)
    folder = tmp_path / "plugins" / "file-copy"
    folder.mkdir(parents=True)
    jar = subprocess.run(["docker", "run", "--rm", "--entrypoint", "sh", os.environ["KAFKALAB_IMAGE_KAFKA"], "-c",
                          "cat /opt/kafka/libs/connect-file-*.jar"], capture_output=True, check=True).stdout
    (folder / "connect-file.jar").write_bytes(jar)
    settings = {"KAFKALAB_CONNECT_PLUGINS": str(tmp_path / "plugins"), "KAFKALAB_VALUE_CONVERTER": "string"}
    up = up_with_connect(lab, "--with", "connect", **settings)
    assert "Declared: 1 connector created.\n" in up.stderr, up.stderr
    mounts = json.loads(docker("inspect", worker(lab), "--format", "{{json .Mounts}}"))
    assert {(m["Source"], m["Destination"], m["RW"]) for m in mounts if m["Type"] == "bind"} == {
        (str(tmp_path / "plugins"), "/opt/kafkalab/plugins", False),
        (str(state_dir() / f"{lab.settings.project}.connect.properties"),
         "/etc/kafkalab/connect-distributed.properties", False),
    }
    logged = "".join(Lab(lab.settings).logs("connect"))
    assert "Loading plugin from: /opt/kafkalab/plugins/file-copy" in logged
    docker("exec", "-i", worker(lab), "sh", "-c", "cat > /tmp/in.txt", input="\n".join(LINES[:20]) + "\n")

    def consumed() -> list[str] | None:  # the topic is made by the connector's first record
        result = run(lab, "consume", "raw", "--from-beginning", "-n", "20", "--timeout", "5")
        return result.stdout.splitlines() if result.exit_code == 0 else None

    assert poll(consumed, 60, "the declared connector's records") == LINES[:20]  # string: the lines as they are

    # The declaration changed (now a [connectors.raw.config] table, its dotted keys unquoted): `apply` shows
    # the plan, validates it with the worker and carries it out.
    (tmp_path / "kafkalab.toml").write_text('[connectors.raw.config]\nconnector.class = "FileStreamSource"\n'
                                            'file = "/tmp/in.txt"\ntopic = "raw-2"\ntasks.max = 1\n')
    dry = ok(lab, "apply", "--dry-run")
    assert "  ~ update connector raw (FileStreamSource): topic, tasks.max differ\n" in dry.stdout, dry.stdout
    assert ok(lab, "apply").stderr.endswith("Applied: 1 connector updated.\n")
    config = json.loads(ok(lab, "connector", "describe", "raw", "--json").stdout)["config"]
    assert (config["topic"], config["tasks.max"]) == ("raw-2", "1")
    assert "Nothing to do" in ok(lab, "apply").stderr
    exported = json.loads(ok(lab, "export", "--format", "json").stdout)
    assert exported["connectors"] == {"raw": {"config": {"connector.class": "FileStreamSource", "file": "/tmp/in.txt",
                                                         "topic": "raw-2", "tasks.max": "1"}}}
    assert "raw" in exported["topics"] and not {"connect-configs", "connect-offsets", "connect-status"} & set(
        exported["topics"]), exported["topics"]  # the worker's own topics are its state, not the project's


MIRROR_PROXY = r"""
import socket, sys, threading
listen, target = int(sys.argv[1]), (sys.argv[2], int(sys.argv[3]))
def pump(a, b):
    try:
        while data := a.recv(65536):
            b.sendall(data)
    except OSError:
        pass
    finally:
        a.close(); b.close()
server = socket.create_server(("127.0.0.1", listen))
while True:
    client, _ = server.accept()
    upstream = socket.create_connection(target)
    for a, b in ((client, upstream), (upstream, client)):
        threading.Thread(target=pump, args=(a, b), daemon=True).start()
"""


def test_mirror_maker_copies_a_topic_from_a_second_lab(lab_factory: Callable[..., Lab]) -> None:
    """The second lab's broker advertises localhost:PORT (its EXTERNAL listener) and kafka:9092 (the name
    of this lab's own broker too): so the worker reaches it as localhost:PORT, through a small TCP relay in
    the worker's container to that broker's address on this lab's network, which it joins for the test."""
    lab, second = lab_factory(), lab_factory()
    up_with_connect(lab, "--with", "connect")
    ok(second, "up", "--no-ui")
    values = [f"order {i}" for i in range(1, 51)]
    ok(second, "topic", "create", "orders", "-p", "2")
    produced = run(second, "produce", "orders", input="\n".join(values) + "\n")
    assert produced.exit_code == 0, produced.output
    broker = f"{second.settings.project}-kafka-1"
    network = lab.settings.lab_network
    docker("network", "connect", network, broker)
    try:
        address = docker("inspect", broker, "--format",
                         f'{{{{(index .NetworkSettings.Networks "{network}").IPAddress}}}}').strip()
        docker("exec", "-d", worker(lab), "python3", "-c", MIRROR_PROXY, str(second.settings.port), address, "9094")
        mirror = {
            "connector.class": "org.apache.kafka.connect.mirror.MirrorSourceConnector",
            "source.cluster.alias": "second", "target.cluster.alias": "lab",
            "source.cluster.bootstrap.servers": f"localhost:{second.settings.port}",
            "target.cluster.bootstrap.servers": "kafka:9092", "topics": "orders", "tasks.max": "1",
            "replication.factor": "1", "offset-syncs.topic.replication.factor": "1",
            "sync.topic.acls.enabled": "false",
            "key.converter": "org.apache.kafka.connect.converters.ByteArrayConverter",
            "value.converter": "org.apache.kafka.connect.converters.ByteArrayConverter",
        }
        # --connect-url: the lab's worker by its URL, from a shell of the second lab.
        url = f"http://localhost:{lab.settings.connect_port}"
        created = run(second, "--connect-url", url, "connector", "create", "mirror",
                      "--file", _write_json(lab, {"name": "mirror", "config": mirror}))
        assert created.exit_code == 0, created.output

        def copied() -> list[str] | None:
            result = run(lab, "consume", "second.orders", "--from-beginning", "--timeout", "2")
            found = sorted(result.stdout.splitlines()) if result.exit_code == 0 else []
            return found if len(found) >= len(values) else None

        assert poll(copied, 180, "second.orders to hold the second lab's orders") == sorted(values)
        assert run(second, "--connect-url", url, "connector", "status", "mirror").exit_code == 0
    finally:
        subprocess.run(["docker", "network", "disconnect", "--force", network, broker], check=False,
                       capture_output=True)


def _write_json(lab: Lab, data: dict[str, Any]) -> str:
    from kafkalab.lab import state

    path = state.state_dir() / f"{lab.settings.project}-mirror.json"
    path.write_text(json.dumps(data))
    return str(path)
