"""A secured lab on the real test bed (issue 21): each security mode of the EXTERNAL listener, in
kraft, cluster and zookeeper mode. One lab per (mode, security), shared by the tests of this module:
a client without credentials is refused, kafkalab's own commands just work, and confluent-kafka with
what `kafkalab connect --format json` prints produces and consumes (TLS with the host name verified);
kafkajs logs in with SCRAM. And what is refused before anything starts: exposing plaintext without
--insecure, an address this machine lacks, a running lab's security changed."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import Result
from kafka_cli import kl, lab_env

from kafkalab import Lab

pytestmark = pytest.mark.e2e
NODE_DIR = Path(__file__).resolve().parents[1] / "node"
LABS = [
    ("kraft", "sasl-plain"), ("kraft", "sasl-scram"), ("kraft", "ssl"), ("kraft", "sasl-ssl"), ("kraft", "mtls"),
    ("cluster", "sasl-ssl"), ("cluster", "mtls"), ("zookeeper", "sasl-scram"), ("zookeeper", "ssl"),
]


@pytest.fixture(scope="module", params=LABS, ids=lambda p: f"{p[0]}-{p[1]}")
def secured(request: pytest.FixtureRequest, bed: SimpleNamespace) -> Iterator[Lab]:
    mode, security = request.param
    lab = Lab(bed.lab_settings(mode=mode, security=security))
    try:
        lab.up(ui=False)
        yield lab
    finally:
        bed.teardown_project(lab.settings.project)


def cli_run(lab: Lab, *args: str, input: str | None = None) -> Result:
    """`kafkalab ARGS` in a user's shell for the lab: its name and ports, never its security (the record's)."""
    return kl(*args, input=input, env=lab_env(lab))


def client(lab: Lab) -> dict[str, str]:
    """librdkafka's settings from `kafkalab connect --format json --show-secrets`, as an app takes them."""
    result = cli_run(lab, "connect", "--format", "json", "--show-secrets")
    assert result.exit_code == 0, result.output
    found: dict[str, str] = json.loads(result.stdout)["client"]
    return found


def fresh(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def refused(conf: dict[str, Any]) -> None:
    """A metadata request that the lab must refuse (librdkafka's lines go to a quiet logger)."""
    import logging

    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({**conf, "logger": logging.getLogger("refused"), "reconnect.backoff.max.ms": 200})
    with pytest.raises(KafkaException):
        admin.list_topics(timeout=4)


def round_trip(conf: dict[str, str], topic: str) -> None:
    from confluent_kafka import Consumer, Producer

    producer = Producer(conf)
    producer.produce(topic, b"secured", key=b"k")
    assert producer.flush(30) == 0
    consumer = Consumer({**conf, "group.id": fresh("g"), "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                assert (message.key(), message.value()) == (b"k", b"secured")
                return
        raise AssertionError(f"nothing read back from {topic} within 30 s")
    finally:
        consumer.close()


def test_a_client_without_credentials_is_refused(secured: Lab) -> None:
    conf = client(secured)
    bare = {"bootstrap.servers": conf["bootstrap.servers"]}
    refused(bare)  # plaintext to a SASL or TLS listener
    if "sasl.username" in conf:  # the right protocol and user, a wrong password
        refused({**conf, "sasl.password": "wrong"})
    if "ssl.ca.location" in conf:  # TLS without the lab's CA: the system's CAs do not know it
        refused({k: v for k, v in conf.items() if k != "ssl.ca.location"})
    if "ssl.certificate.location" in conf:  # mtls: no client certificate
        refused({k: v for k, v in conf.items() if not k.startswith(("ssl.certificate", "ssl.key"))})


def test_kafkalabs_own_commands_just_work(secured: Lab) -> None:
    topic = fresh("orders")
    assert (r := cli_run(secured, "topic", "create", topic, "-p", "2")).exit_code == 0, r.output
    assert (r := cli_run(secured, "produce", topic, input="a\nb\n")).exit_code == 0, r.output
    r = cli_run(secured, "consume", topic, "--from-beginning", "-n", "2", "--group", fresh("g"))
    assert r.exit_code == 0, r.output
    assert sorted(r.stdout.split()) == ["a", "b"]
    assert (r := cli_run(secured, "group", "list")).exit_code == 0, r.output
    status = cli_run(secured, "status", "--json")
    assert status.exit_code == 0, status.output
    assert json.loads(status.stdout)["broker"]["topics"] >= 1
    assert secured.brokers_answer()
    # The Python API: the Lab's own clients carry the user and the CA.
    secured.create_topic(fresh("api"), if_not_exists=True)
    assert topic in secured.admin().list_topics(timeout=10).topics


def test_confluent_kafka_with_connects_settings_produces_and_consumes(secured: Lab) -> None:
    conf = client(secured)
    if "ssl.ca.location" in conf:
        assert conf["ssl.ca.location"] == str(secured.connection().security.ca)  # type: ignore[union-attr]
        conf["ssl.endpoint.identification.algorithm"] = "https"  # librdkafka's default, said out loud
    round_trip(conf, fresh("app"))


def test_wrong_credentials_and_an_unknown_ca_get_their_exit_codes(secured: Lab, tmp_path: Path) -> None:
    conf = client(secured)
    if "sasl.username" in conf:
        r = cli_run(secured, "topic", "list", "-X", "sasl.password=wrong")
        assert r.exit_code == 16, r.output
        assert "SASL authentication" in r.stderr
    if "ssl.ca.location" in conf:
        from kafkalab.security import certs

        certs.make_ca(tmp_path, "another")
        r = cli_run(secured, "topic", "list", "-X", f"ssl.ca.location={tmp_path / 'ca.pem'}")
        assert r.exit_code == 17, r.output
        assert str(tmp_path / "ca.pem") in r.stderr
        r = cli_run(secured, "topic", "list", "-X", f"ssl.ca.location={tmp_path / 'none.pem'}")  # no such file
        assert r.exit_code == 3, r.output
        assert r.stderr.startswith(f"Error: ssl.ca.location {tmp_path / 'none.pem'}: no such file.\nHint: "), r.stderr
    assert "sasl.username" in conf or "ssl.ca.location" in conf


def test_kafkajs_logs_in_with_scram(secured: Lab) -> None:
    """Over SASL_PLAINTEXT and SASL_SSL the lab's user logs in from Node.js; elsewhere, SCRAM's users
    are made all the same (every mode): a listener without SASL refuses the login."""
    node = shutil.which("node")
    assert node, "the e2e tests need Node.js (node) on PATH"
    assert (NODE_DIR / "node_modules" / "kafkajs").is_dir(), "the Node.js clients are not installed: `make node`"
    conf = client(secured)
    security = secured.connection().security
    assert security is not None and security.user is not None
    args = [node, str(NODE_DIR / "scram.js"), conf["bootstrap.servers"], security.user.name, security.user.password,
            fresh("node")]
    if security.mode.tls:
        args.append(str(security.ca))
    done = subprocess.run(args, capture_output=True, text=True, timeout=90, check=False)
    if conf.get("sasl.mechanism") == "SCRAM-SHA-512":
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["brokers"] == len(secured.compose.spec.brokers)
    else:
        assert done.returncode == 1, (done.stdout, done.stderr)


def test_a_scram_password_reaches_the_brokers_as_it_is(secured: Lab) -> None:
    """create_users hands ConfigCommand a .properties file over docker exec's stdin: a password with
    a backslash, brackets, `=`, a space and characters beyond ASCII (escaped as \\uXXXX) logs in as it
    is; elsewhere (no SCRAM on the listener) the user is made all the same."""
    from kafkalab.lab import secured as lab_security
    from kafkalab.security.users import User

    odd = User(fresh("odd"), "p\u00e4$$ w\\0rd&;#!:=,[x]'~\U0001f600")
    first = next(c.name for c in secured.compose.containers(echo=False)
                 if c.service == secured.compose.spec.brokers[0].name)
    lab_security.create_users(secured.settings, first, [odd], time.monotonic() + 90, secured.compose.env())
    conf = client(secured)
    if conf.get("sasl.mechanism") != "SCRAM-SHA-512":
        return
    own = {**conf, "sasl.username": odd.name, "sasl.password": odd.password}
    from confluent_kafka.admin import AdminClient

    assert AdminClient(own).list_topics(timeout=20).brokers
    refused({**own, "sasl.password": odd.password[:-1]})


def test_the_secrets_are_private_and_the_record_holds_none(secured: Lab) -> None:
    from kafkalab.lab import state

    folder = state.security_dir(secured.settings.project)
    assert folder.stat().st_mode & 0o777 == 0o700
    keys = sorted(p.name for p in folder.iterdir() if p.suffix == ".key" or p.name in ("users.json",))
    assert "ca.key" in keys and "users.json" in keys and "kafka.key" in keys
    assert all((folder / k).stat().st_mode & 0o777 == 0o600 for k in keys)
    password = secured.connection().security.user.password  # type: ignore[union-attr]
    record = state.env_file(secured.settings.project).read_text()
    assert password not in record and "BEGIN" not in record
    assert f"KAFKALAB_SECURITY={secured.settings.security}" in record


def test_a_running_labs_security_is_not_changed_on_the_way(secured: Lab) -> None:
    other = "plaintext" if secured.settings.security != "plaintext" else "ssl"
    r = cli_run(secured, "up", "--security", other, "--no-ui")
    assert r.exit_code == 3, r.output
    assert f"already running with security {secured.settings.security}, not {other}" in r.stderr


# --- refused before anything starts ---------------------------------------------------------------

def test_exposing_plaintext_needs_insecure(bed: SimpleNamespace) -> None:
    project = bed.project_name("-expose")
    r = kl("-p", project, "up", "--expose", "0.0.0.0", "--advertise", "lab.example", "--no-ui")
    assert r.exit_code == 3, r.output
    assert "--security" in r.stderr and "--insecure" in r.stderr
    r = kl("-p", project, "up", "--expose", "127.0.0.1", "--security", "ssl", "--no-ui")
    assert r.exit_code == 3, r.output
    assert "--expose 127.0.0.1 is this machine's loopback address: other machines cannot reach it." in r.stderr
    r = kl("-p", project, "up", "--expose", "10.231.255.254", "--security", "sasl-ssl", "--no-ui")
    assert r.exit_code == 3, r.output
    assert "This machine has no address 10.231.255.254" in r.stderr
    r = kl("-p", project, "up", "--expose", "0.0.0.0", "--security", "sasl-ssl", "--no-ui")
    assert r.exit_code == 3, r.output
    assert "--advertise" in r.stderr
    assert bed.docker_leftovers(project) == []


def test_down_keeps_the_ca_and_down_volumes_deletes_it(bed: SimpleNamespace) -> None:
    from kafkalab.lab import state

    lab = Lab(bed.lab_settings(security="ssl"))
    try:
        lab.up(ui=False)
        ca = lab.connection().security.ca.read_bytes()  # type: ignore[union-attr]
        conf = {"bootstrap.servers": lab.settings.lab_bootstrap, **lab.client_settings()}
        lab.down()
        assert state.security_dir(lab.settings.project).is_dir()
        lab = Lab(lab.settings)
        lab.up(ui=False)
        assert lab.connection().security.ca.read_bytes() == ca  # type: ignore[union-attr]
        round_trip(conf, fresh("again"))  # the client of before trusts the lab still
        lab.down(volumes=True)
        assert not state.security_dir(lab.settings.project).exists()
    finally:
        bed.teardown_project(lab.settings.project)


# --- another machine: a network namespace with a veth pair to this one ---------------------------

CLIENT = """
import json, logging, sys
from confluent_kafka import Consumer, KafkaException, Producer
conf = json.loads(sys.argv[1])
conf["logger"] = logging.getLogger("quiet")
producer = Producer(conf)
failed = []
producer.produce(sys.argv[2], b"from another machine", on_delivery=lambda err, _m: err and failed.append(err.str()))
left = producer.flush(20)
if left or failed:
    sys.exit(f"not delivered: {failed or left}")
consumer = Consumer({**conf, "group.id": "remote", "auto.offset.reset": "earliest"})
consumer.subscribe([sys.argv[2]])
for _ in range(60):
    message = consumer.poll(0.5)
    if message is not None and message.error() is None:
        print(message.value().decode())
        sys.exit(0)
sys.exit("nothing read back")
"""


@pytest.fixture
def another_machine(bed: SimpleNamespace) -> Iterator[tuple[str, str]]:
    """A network namespace that plays another machine: (its name, this machine's address on the
    veth pair between them). Removed, veth and all, at the end."""
    import os

    n = os.getpid() % 250 + 1
    name, host_end, far_end = f"klsec-{os.getpid()}", f"klsec{n}h", f"klsec{n}n"
    here, there = f"10.231.{n}.1", f"10.231.{n}.2"

    def ip(*args: str) -> None:
        subprocess.run(["ip", *args], check=True, capture_output=True, text=True)

    ip("netns", "add", name)
    try:
        ip("link", "add", host_end, "type", "veth", "peer", "name", far_end)
        ip("link", "set", far_end, "netns", name)
        ip("addr", "add", f"{here}/24", "dev", host_end)
        ip("link", "set", host_end, "up")
        ip("netns", "exec", name, "ip", "addr", "add", f"{there}/24", "dev", far_end)
        ip("netns", "exec", name, "ip", "link", "set", far_end, "up")
        ip("netns", "exec", name, "ip", "link", "set", "lo", "up")
        yield name, here
    finally:
        subprocess.run(["ip", "link", "delete", host_end], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "delete", name], capture_output=True, check=False)


def test_another_machine_connects_over_sasl_ssl_with_the_ca_connect_names(
    bed: SimpleNamespace, another_machine: tuple[str, str], tmp_path: Path,
) -> None:
    import sys

    namespace, address = another_machine
    lab = Lab(bed.lab_settings(security="sasl-ssl", expose=address, expose_ui=True))
    try:
        lab.up()
        shown = cli_run(lab, "connect", "--format", "json", "--show-secrets")
        assert shown.exit_code == 0, shown.output
        found = json.loads(shown.stdout)
        remote = f"{address}:{lab.settings.port}"
        assert found["advertised_bootstrap_servers"] == remote
        conf = {**found["client"], "bootstrap.servers": remote, "ssl.endpoint.identification.algorithm": "https"}
        assert Path(conf["ssl.ca.location"]).read_text().startswith("-----BEGIN CERTIFICATE-----")
        status = json.loads(cli_run(lab, "status", "--json").stdout)
        assert (status["advertised_bootstrap"], status["security"]) == (remote, "sasl-ssl")
        doctor = json.loads(cli_run(lab, "doctor", "--json").stdout)
        advertise = {c["check"]: c for c in doctor["checks"]}["advertise"]
        assert advertise["result"] == "pass" and f"{address} ({address}) is this machine's" in advertise["detail"], \
            advertise

        def from_there(settings: dict[str, str]) -> subprocess.CompletedProcess[str]:
            return subprocess.run(["ip", "netns", "exec", namespace, sys.executable, "-c", CLIENT, json.dumps(settings),
                                   fresh("remote")], capture_output=True, text=True, timeout=120, check=False)

        done = from_there(conf)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "from another machine"
        # A client that trusts another CA (its own) is refused: the lab's certificate is the lab CA's.
        from kafkalab.security import certs

        certs.make_ca(tmp_path, "stranger")
        done = from_there({**conf, "ssl.ca.location": str(tmp_path / "ca.pem"), "message.timeout.ms": "5000"})
        assert done.returncode != 0
        assert "not delivered" in done.stderr and "certificate verify failed" in done.stderr, done.stderr
        # The brokers, and with expose_ui kafka-ui, are published on that address and 127.0.0.1 only.
        ports = {c.service: {p.split("->")[0] for p in c.ports if "->" in p} for c in lab.compose.containers()}
        assert ports == {"kafka": {f"127.0.0.1:{lab.settings.port}", remote},
                         "kafka-ui": {f"127.0.0.1:{lab.settings.ui_port}", f"{address}:{lab.settings.ui_port}"}}
    finally:
        bed.teardown_project(lab.settings.project)


def test_a_java_client_with_connects_properties(secured: Lab, tmp_path: Path) -> None:
    """Kafka's own Java tools (the bed's kafka image: Java 21) with `connect --format java`: PEM
    truststore and keystore, as Java 17+ clients read them."""
    import os

    shown = cli_run(secured, "connect", "--format", "java", "--show-secrets")
    assert shown.exit_code == 0, shown.output
    properties = tmp_path / "client.properties"
    properties.write_text(shown.stdout)
    folder = str(secured.connection().security.folder)  # type: ignore[union-attr]
    image = os.environ["KAFKALAB_IMAGE_KAFKA"]
    topic = fresh("java")
    assert cli_run(secured, "topic", "create", topic).exit_code == 0
    done = subprocess.run(
        ["docker", "run", "--rm", "--network", "host", "--user", "0", "-v", f"{folder}:{folder}:ro",
         "-v", f"{properties}:/client.properties:ro", "--entrypoint", "java", image, "-XX:TieredStopAtLevel=1",
         "-cp", "/opt/kafka/libs/*", "org.apache.kafka.tools.TopicCommand",
         "--bootstrap-server", secured.settings.lab_bootstrap, "--command-config", "/client.properties", "--list"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert topic in done.stdout.split()


def test_a_declared_topic_is_made_on_a_secured_lab(secured: Lab, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The lab as code (issue 20) on a secured lab: `up`'s declaration and `kafkalab apply` log in."""
    from kafkalab.declare.plan import load

    first, second = fresh("declared"), fresh("applied")
    (tmp_path / "kafkalab.toml").write_text(f"[topics.{first}]\npartitions = 2\n")
    assert secured.declare(load(tmp_path)).summary() == "1 topic created"
    (tmp_path / "kafkalab.toml").write_text(f"[topics.{first}]\npartitions = 2\n[topics.{second}]\npartitions = 1\n")
    monkeypatch.chdir(tmp_path)
    r = cli_run(secured, "apply")
    assert r.exit_code == 0, r.output
    assert {first, second} <= set(secured.admin().list_topics(timeout=10).topics)
