"""The bed's stand-in for apicurio/apicurio-registry:3.3.3 (KAFKALAB_IMAGE_SCHEMA_REGISTRY): it runs as
the public image does (Java 21, uid 1001, port 8080), answers the Confluent-compatible API, keeps
schemas in memory by default and in Kafka with APICURIO_STORAGE_KIND=kafkasql.

Each test runs its own containers (unique names, `--rm`, host ports that Docker picks on 127.0.0.1)
on a network of its own, and removes them all in a finally. It prints the time from `docker run` to the
first 200 and the memory `docker stats` shows then.
Run: set -a; . tests/bed/images.env; set +a; .venv/bin/pytest tests/bed/test_apicurio.py -v -s
"""

from __future__ import annotations

import json
import secrets
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import registry_http

pytestmark = pytest.mark.bed

START_TIMEOUT = 300  # seconds from `docker run` to the API's first 200 (about 30 s on an idle machine)
SUBJECTS = "/apis/ccompat/v7/subjects"
# The uid apicurio/apicurio-registry runs as: `USER 1001` in its distro/docker/src/main/docker/Dockerfile.jvm.
PUBLIC_UID = 1001
AVRO = json.dumps(
    {
        "type": "record",
        "name": "T",
        "namespace": "dev.kafkalab.bed",
        "fields": [{"name": "id", "type": "long"}, {"name": "name", "type": "string"}],
    }
)


def docker(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} exited {proc.returncode}\n{proc.stdout}{proc.stderr}")
    return proc


def http(port: int, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """(status, JSON body) of a request to the registry on 127.0.0.1:PORT."""
    return registry_http.request(f"http://127.0.0.1:{port}{path}", method, body)


class Bed:
    """The containers and the network of one test; `close()` removes them all."""

    def __init__(self) -> None:
        self.prefix = f"kltbed-apicurio-{secrets.token_hex(4)}"
        self.containers: list[str] = []
        self.network = f"{self.prefix}-net"
        docker("network", "create", "--label", "kltbed=apicurio", self.network)

    def run(self, name: str, image: str, *args: str, env: dict[str, str] | None = None) -> str:
        """docker run -d --rm NAME on the network; the container's full name."""
        full = f"{self.prefix}-{name}"
        self.containers.append(full)
        env_args = [a for k, v in (env or {}).items() for a in ("-e", f"{k}={v}")]
        docker(
            "run", "-d", "--rm", "--pull", "never", "--name", full, "--network", self.network, *env_args, *args, image
        )
        return full

    def remove(self, container: str) -> None:
        docker("rm", "-f", "-v", container, check=False, timeout=60)

    def close(self) -> None:
        for container in reversed(self.containers):
            self.remove(container)
        docker("network", "rm", self.network, check=False, timeout=60)


@pytest.fixture
def bed(docker_ready: None) -> Iterator[Bed]:
    made = Bed()
    try:
        yield made
    finally:
        made.close()


def host_port(container: str) -> int:
    """The 127.0.0.1 port Docker published for the container's 8080."""
    out = docker("port", container, "8080/tcp").stdout.split()
    [port] = {int(a.rsplit(":", 1)[1]) for a in out if a.startswith("127.0.0.1:")}
    return port


def start_registry(
    bed: Bed, image: str, name: str, wait_until: Callable[..., Any], label: str, env: dict[str, str] | None = None
) -> int:
    """Run the registry, poll until GET subjects is 200; print the time and the memory. Its host port."""
    t0 = time.monotonic()
    container = bed.run(name, image, "-p", "127.0.0.1::8080", env=env)
    port = host_port(container)

    def subjects() -> tuple[int, Any]:
        running = docker("inspect", "-f", "{{.State.Running}}", container, check=False, timeout=30).stdout.strip()
        assert running == "true", f"{container} stopped:\n{docker('logs', container, check=False).stderr[-3000:]}"
        return http(port, "GET", SUBJECTS)

    _, body = wait_until(subjects, START_TIMEOUT, f"{label}: 200 from {SUBJECTS}", until=lambda r: r[0] == 200)
    ready = time.monotonic() - t0
    mem = docker("stats", "--no-stream", "--format", "{{.MemUsage}}", container).stdout.strip()
    print(f"\n[time-to-ready] {label}: {ready:.1f} s from docker run to 200 from {SUBJECTS}; memory {mem}")
    assert isinstance(body, list), body
    return port


def register_and_read(port: int, subject: str) -> int:
    """Register AVRO under SUBJECT through the ccompat API and read it back; its global id."""
    status, body = http(port, "POST", f"{SUBJECTS}/{subject}/versions", {"schema": AVRO, "schemaType": "AVRO"})
    assert status == 200, (status, body)
    schema_id = body["id"]
    assert isinstance(schema_id, int), body
    assert_registered(port, subject, schema_id)
    return schema_id


def assert_registered(port: int, subject: str, schema_id: int) -> None:
    assert http(port, "GET", SUBJECTS) == (200, [subject])
    status, latest = http(port, "GET", f"{SUBJECTS}/{subject}/versions/latest")
    assert status == 200, (status, latest)
    assert (latest["subject"], latest["version"], latest["id"]) == (subject, 1, schema_id), latest
    assert json.loads(latest["schema"]) == json.loads(AVRO), latest
    status, by_id = http(port, "GET", f"/apis/ccompat/v7/schemas/ids/{schema_id}")
    assert status == 200 and json.loads(by_id["schema"]) == json.loads(AVRO), (status, by_id)


def test_schema_registry_image_runs_as_the_public_image(images_env: dict[str, str], docker_ready: None) -> None:
    image = images_env["KAFKALAB_IMAGE_SCHEMA_REGISTRY"]
    config = json.loads(docker("image", "inspect", "-f", "{{json .Config}}", image).stdout)
    assert config["User"] == str(PUBLIC_UID), config["User"]
    assert set(config["ExposedPorts"]) == {"8080/tcp", "8443/tcp", "9000/tcp"}, config["ExposedPorts"]
    assert config["Cmd"] == ["/opt/jboss/container/java/run/run-java.sh"], config
    assert not config.get("Entrypoint"), config
    proc = docker("run", "--rm", "--pull", "never", "--entrypoint", "java", image, "-version")
    assert proc.stderr.startswith('openjdk version "21.'), proc.stderr
    files = docker(
        "run", "--rm", "--pull", "never", "--entrypoint", "stat", image,
        "-c", "%u:%g %a %n", "/deployments", "/deployments/quarkus-run.jar", "/deployments/data",
    ).stdout.split("\n")  # fmt: skip
    # Dockerfile.jvm: chmod -R ug=rwx, chown -R 1001:0 /deployments (the base's data/ with it).
    assert files[:3] == [
        "1001:0 775 /deployments",
        "1001:0 774 /deployments/quarkus-run.jar",
        "1001:0 775 /deployments/data",
    ], files


def test_schema_registry_in_memory_registers_avro(
    bed: Bed, images_env: dict[str, str], wait_until: Callable[..., Any]
) -> None:
    image = images_env["KAFKALAB_IMAGE_SCHEMA_REGISTRY"]
    port = start_registry(bed, image, "mem", wait_until, "apicurio in-memory")
    assert http(port, "GET", SUBJECTS) == (200, [])
    # The JVM is PID 1 (run-java.sh execs it), as the public image's user, on Java 21.
    container = bed.containers[-1]
    status = docker("exec", container, "cat", "/proc/1/status").stdout
    uids = next(line.split()[1:] for line in status.splitlines() if line.startswith("Uid:"))
    assert uids == [str(PUBLIC_UID)] * 4, uids
    cmdline = docker("exec", container, "cat", "/proc/1/cmdline").stdout.split("\0")
    assert cmdline[0] == "java" and cmdline[-3:-1] == ["-jar", "/deployments/quarkus-run.jar"], cmdline
    version = docker("exec", container, "java", "-version").stderr
    assert version.startswith('openjdk version "21.'), version
    register_and_read(port, "t-value")


KAFKA_ENV = {
    "KAFKA_NODE_ID": "1",
    "KAFKA_PROCESS_ROLES": "broker,controller",
    "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@kafka:9093",
    "KAFKA_LISTENERS": "PLAINTEXT://:9092,CONTROLLER://:9093",
    "KAFKA_ADVERTISED_LISTENERS": "PLAINTEXT://kafka:9092",
    "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
    "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
    "KAFKA_INTER_BROKER_LISTENER_NAME": "PLAINTEXT",
    "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
    "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
    "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
    "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
    "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR": "1",
    "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR": "1",
    "KAFKA_HEAP_OPTS": "-Xmx384M -Xms384M",
}


def test_schema_registry_kafkasql_keeps_schemas_across_a_new_container(
    bed: Bed, images_env: dict[str, str], wait_until: Callable[..., Any]
) -> None:
    kafka = bed.run(
        "kafka", images_env["KAFKALAB_IMAGE_KAFKA"], "--network-alias", "kafka", "--hostname", "kafka", env=KAFKA_ENV
    )
    wait_until(
        lambda: docker("logs", kafka, check=False).stdout,
        START_TIMEOUT,
        "the broker to start",
        until=lambda out: "Kafka Server started" in out,
        interval=0.5,
    )
    image = images_env["KAFKALAB_IMAGE_SCHEMA_REGISTRY"]
    env = {"APICURIO_STORAGE_KIND": "kafkasql", "APICURIO_KAFKASQL_BOOTSTRAP_SERVERS": "kafka:9092"}
    port = start_registry(bed, image, "sql-1", wait_until, "apicurio kafkasql", env=env)
    assert http(port, "GET", SUBJECTS) == (200, [])
    schema_id = register_and_read(port, "t-value")
    first = bed.containers[-1]
    logs = docker("logs", first).stdout
    assert "RegistryStorage implementation: io.apicurio.registry.storage.impl.kafkasql" in logs, logs[-3000:]
    # The journal is in Kafka: a new container (nothing of the first one's filesystem or memory) has it.
    bed.remove(first)
    port = start_registry(bed, image, "sql-2", wait_until, "apicurio kafkasql, second container", env=env)
    assert_registered(port, "t-value", schema_id)
