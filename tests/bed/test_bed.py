"""Tests of the test bed itself: the local images run the shipped compose files, Kafka works from
the host, the kafka-ui stand-in reports health, and nothing is ever pulled. Independent of
kafkalab's CLI and package: compose runs by subprocess (helpers in conftest.py), Kafka by
confluent_kafka.
Run: /tmp/venv/bin/python -m pytest tests/bed -v -s
"""

from __future__ import annotations

import json
import random
import re
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import envfile
import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

pytestmark = pytest.mark.bed

START_TIMEOUT = 120  # seconds for a broker to answer metadata after `compose up`
Conf = Callable[..., dict[str, Any]]


def produce(conf: Conf, bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> list[int]:
    """Produce with acks=all; return the offsets, failing on any delivery error."""
    producer = Producer(conf(bootstrap, acks="all", **{"enable.idempotence": True, "linger.ms": 5}))
    offsets: list[int | None] = [None] * len(records)
    errors: list[str] = []

    def on_delivery(i: int) -> Callable[[Any, Any], None]:
        def report(err: Any, msg: Any) -> None:
            if err is not None:
                errors.append(f"record {i}: {err}")
            else:
                offsets[i] = msg.offset()

        return report

    for i, (key, value) in enumerate(records):
        producer.produce(topic, key=key, value=value, on_delivery=on_delivery(i))
        producer.poll(0)
    assert producer.flush(30) == 0, "messages still undelivered after 30 s"
    assert not errors, errors[:5]
    assert None not in offsets
    return offsets  # type: ignore[return-value]


def consume_all(conf: Conf, bootstrap: str, topic: str, count: int, timeout: float = 30) -> list[Any]:
    """Read partition 0 from the start until `count` messages (no group rebalance to wait for)."""
    consumer = Consumer(conf(bootstrap, **{"group.id": "kltbed-readback", "enable.auto.commit": False}))
    try:
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        got: list[Any] = []
        deadline = time.monotonic() + timeout
        while len(got) < count:
            assert time.monotonic() < deadline, f"consumed {len(got)} of {count} within {timeout} s"
            for msg in consumer.consume(num_messages=count - len(got), timeout=1):
                assert msg.error() is None, msg.error()
                got.append(msg)
        return got
    finally:
        consumer.close()


def wait_for_brokers(
    wait_until: Callable[..., Any],
    admin: AdminClient,
    t0: float,
    label: str,
    until: Callable[[Any], bool],
) -> Any:
    """Poll metadata until `until(metadata)`; print the time since `compose up` (t0)."""
    md = wait_until(lambda: admin.list_topics(timeout=2), START_TIMEOUT, f"{label} brokers", until)
    ready = time.monotonic() - t0
    print(f"\n[time-to-ready] {label}: {ready:.1f} s from compose up to broker metadata")
    return md


def health(port: int) -> tuple[int, Any]:
    """GET the stand-in's /actuator/health: (status, JSON body); connection errors raise."""
    url = f"http://127.0.0.1:{port}/actuator/health"
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_standin_question_is_false_at_once_on_a_closed_port() -> None:
    # The stand-in asks with kafkalab/kafka/wire.py, copied into its image.
    from kafkalab.kafka.wire import answers

    # A bound socket that never listens: connections to its port are refused, and no one else can
    # take the port while the test runs.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        t0 = time.monotonic()
        assert answers("127.0.0.1", port, timeout=2.0) is False
        elapsed = time.monotonic() - t0
    assert elapsed < 0.5, f"took {elapsed:.2f} s: should fail fast, not wait for its 2 s timeout"


@pytest.mark.parametrize("file", ["kraft.yaml", "zookeeper.yaml", "cluster.yaml"])
def test_compose_files_pull_policy_comes_from_kafkalab_pull(
    file: str, compose: Callable[..., Any], images_env: dict[str, str]
) -> None:
    env = images_env
    assert env.get("KAFKALAB_PULL") == "never"
    project = compose(file, f"static-{file.removesuffix('.yaml')}")  # `config` only: creates nothing
    raw = project.config("--no-interpolate")["services"]
    resolved = project.config()["services"]
    assert raw and set(raw) == set(resolved)
    local_images = {v for k, v in env.items() if k.startswith("KAFKALAB_IMAGE_")}
    for name, service in raw.items():
        assert re.fullmatch(r"\$\{KAFKALAB_PULL(:?-[a-z]+)?\}", service.get("pull_policy", "")), (
            f"{file}: service {name} has pull_policy {service.get('pull_policy')!r}"
        )
        assert resolved[name]["pull_policy"] == "never", (file, name)
        assert resolved[name]["image"] in local_images, (file, name, resolved[name]["image"])


def test_pull_never_fails_on_a_missing_image_without_pulling(compose: Callable[..., Any]) -> None:
    missing = "kafkalab-test/does-not-exist:0"
    project = compose("kraft.yaml", "pullnever", KAFKALAB_IMAGE_UI=missing)
    proc = project.run("up", "-d", "--pull", "never", check=False, timeout=60)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert missing in out, out
    assert "Pulling" not in out, out
    for registry in ("docker.io", "ghcr.io", "registry", "https://", "pull access denied"):
        assert registry not in out.lower(), (registry, out)


def test_kraft_broker_round_trips_1000_messages(
    compose: Callable[..., Any], kafka_conf: Conf, wait_until: Callable[..., Any]
) -> None:
    kraft = compose("kraft.yaml", "kraft")
    t0 = time.monotonic()
    kraft.run("up", "-d")
    admin = AdminClient(kafka_conf(kraft.bootstrap))
    label = f"KRaft {kraft.env['KAFKALAB_IMAGE_KAFKA']}"
    md = wait_for_brokers(wait_until, admin, t0, label, until=lambda m: len(m.brokers) == 1)
    broker = next(iter(md.brokers.values()))
    assert (broker.id, broker.host, broker.port) == (1, "localhost", kraft.kafka_port)

    topic = "kltbed-roundtrip"
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(30)

    rng = random.Random(1000)
    records = [(i.to_bytes(4, "big") + rng.randbytes(12), rng.randbytes(rng.randint(1, 2048))) for i in range(1000)]
    assert len({k for k, _ in records}) == len({v for _, v in records}) == 1000
    t1 = time.monotonic()
    assert produce(kafka_conf, kraft.bootstrap, topic, records) == list(range(1000))
    got = consume_all(kafka_conf, kraft.bootstrap, topic, 1000)
    print(f"[kraft] produced and consumed 1000 messages in {time.monotonic() - t1:.1f} s")
    assert [m.offset() for m in got] == list(range(1000))
    assert [(m.key(), m.value()) for m in got] == records


def test_zookeeper_trio(compose: Callable[..., Any], kafka_conf: Conf, wait_until: Callable[..., Any]) -> None:
    zk = compose("zookeeper.yaml", "zk")
    t0 = time.monotonic()
    zk.run("up", "-d")
    admin = AdminClient(kafka_conf(zk.bootstrap))
    label = f"ZooKeeper-mode {zk.env['KAFKALAB_IMAGE_KAFKA_ZK']}"
    md = wait_for_brokers(wait_until, admin, t0, label, until=lambda m: 1 in m.brokers)
    assert list(md.brokers) == [1], md.brokers

    # A topic that doesn't exist is created by the broker on the first produce to it.
    topic = "kltbed-auto-created"  # the project's volumes are new: the topic can't exist yet
    assert topic not in admin.list_topics(timeout=10).topics
    record = (b"key", b"auto-created on first produce")
    assert produce(kafka_conf, zk.bootstrap, topic, [record]) == [0]
    created = admin.list_topics(timeout=10).topics
    assert topic in created and created[topic].error is None
    assert list(created[topic].partitions) == [0]
    [msg] = consume_all(kafka_conf, zk.bootstrap, topic, 1)
    assert (msg.key(), msg.value()) == record

    # The kafka-ui stand-in is UP while the broker answers, DOWN once it is stopped.
    wait_until(lambda: health(zk.ui_port), 60, "stand-in UP", until=lambda r: r == (200, {"status": "UP"}))
    zk.run("stop", "kafka")
    wait_until(
        lambda: health(zk.ui_port),
        30,
        "stand-in DOWN",
        until=lambda r: r == (503, {"status": "DOWN"}),
    )


# The local registries (tests/bed/registry, started by tests/bed/provision) and the bed's images in them
# under their public names (tests/bed/push-images). Settings: tests/bed/registry.env.


REGISTRY = envfile.read(envfile.BED / "registry.env")
REGISTRY_IMAGES = sorted(k for k in REGISTRY if k.startswith("REGISTRY_IMAGE_"))


def registry_get(
    registry: str, path: str = "/v2/", auth: tuple[str, str] | None = None, accept: str = ""
) -> tuple[int, dict[str, str], bytes]:
    """GET http://REGISTRY/PATH, never through a proxy: (status, lowercased headers, body); 4xx/5xx too."""
    import base64

    request = urllib.request.Request(f"http://{registry}{path}")
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(":".join(auth).encode()).decode())
    if accept:
        request.add_header("Accept", accept)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, {k.lower(): v for k, v in err.headers.items()}, err.read()
    except OSError as exc:
        raise AssertionError(f"no registry answers on {registry} (run tests/bed/registry): {exc}") from exc


def docker(*args: str, check: bool = True, timeout: float = 120) -> Any:
    """Run the docker CLI: the CompletedProcess; with check, a non-zero exit fails with its output."""
    import subprocess

    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} exited {proc.returncode}\n{proc.stdout}{proc.stderr}")
    return proc


def image_id(ref: str) -> str | None:
    proc = docker("image", "inspect", "-f", "{{.Id}}", ref, check=False, timeout=30)
    return proc.stdout.strip() if proc.returncode == 0 else None


def untag_registry_ref(ref: str) -> None:
    """Remove the local tag REF of a registry image (never a kafkalab-test/* image: those stay)."""
    registries = (REGISTRY["KAFKALAB_TEST_REGISTRY"], REGISTRY["KAFKALAB_TEST_AUTH_REGISTRY"])
    assert ref.startswith(tuple(f"{r}/" for r in registries)), f"not a local registry's image: {ref}"
    if image_id(ref) is not None:
        docker("image", "rm", ref, timeout=30)  # no --force: an image with other tags is only untagged
    assert image_id(ref) is None, ref


# The folders each public image declares as volumes (its Dockerfile's VOLUME): apache/kafka's
# docker/jvm/Dockerfile; confluentinc/kafka-images 7.9 kafka/ and zookeeper/Dockerfile.ubi8; kafbat/kafka-ui's
# api/Dockerfile declares none. A container gets an anonymous volume for each that is mapped to nothing.
PUBLIC_VOLUMES = {
    "KAFKALAB_IMAGE_KAFKA": ["/etc/kafka/secrets", "/mnt/shared/config", "/var/lib/kafka/data"],
    "KAFKALAB_IMAGE_KAFKA_ZK": ["/etc/kafka/secrets", "/var/lib/kafka/data"],
    "KAFKALAB_IMAGE_ZOOKEEPER": ["/etc/zookeeper/secrets", "/var/lib/zookeeper/data", "/var/lib/zookeeper/log"],
    "KAFKALAB_IMAGE_UI": [],
}


@pytest.mark.parametrize("key", sorted(PUBLIC_VOLUMES))
def test_images_declare_the_volumes_of_their_public_twins(key: str, images_env: dict[str, str]) -> None:
    volumes = json.loads(docker("image", "inspect", "-f", "{{json .Config.Volumes}}", images_env[key]).stdout)
    assert sorted(volumes or {}) == PUBLIC_VOLUMES[key], images_env[key]


CONNECT_JARS = ("runtime", "api", "json", "transforms", "file", "mirror", "mirror-client", "basic-auth-extension")


def test_the_kafka_image_has_connect_as_the_release_has_it(images_env: dict[str, str]) -> None:
    """libs/ has the release's Connect jars, all at the release's version (the four that Maven Central lacks
    at 4.4.0 rebuilt by tests/bed/images/kafka/connect-jars), bin/connect-distributed.sh and
    config/connect-log4j2.yaml (the e2e tests run a worker with them: tests/e2e/test_connect_service.py)."""
    image = images_env["KAFKALAB_IMAGE_KAFKA"]
    version = image.rsplit(":", 1)[1]
    out = docker("run", "--rm", "--entrypoint", "sh", image, "-c",
                 "ls /opt/kafka/libs; test -x /opt/kafka/bin/connect-distributed.sh && echo script; "
                 "test -f /opt/kafka/config/connect-log4j2.yaml && echo log-config").stdout.split()
    assert {f"connect-{name}-{version}.jar" for name in CONNECT_JARS} <= set(out), out
    assert not [jar for jar in out if jar.startswith("connect-") and not jar.endswith(f"-{version}.jar")], out
    assert {"script", "log-config"} <= set(out)


def test_registry_answers_v2() -> None:
    for registry, auth in (
        (REGISTRY["KAFKALAB_TEST_REGISTRY"], None),
        (
            REGISTRY["KAFKALAB_TEST_AUTH_REGISTRY"],
            (REGISTRY["KAFKALAB_TEST_REGISTRY_USER"], REGISTRY["KAFKALAB_TEST_REGISTRY_PASSWORD"]),
        ),
    ):
        status, headers, body = registry_get(registry, auth=auth)
        assert status == 200, (registry, status, body)
        assert headers.get("docker-distribution-api-version") == "registry/2.0", (registry, headers)
        assert body.strip() == b"{}", (registry, body)


def test_registry_has_the_bed_images_under_their_public_names(images_env: dict[str, str]) -> None:
    registry = REGISTRY["KAFKALAB_TEST_REGISTRY"]
    assert {k.removeprefix("REGISTRY_IMAGE_") for k in REGISTRY_IMAGES} == {
        k.removeprefix("KAFKALAB_IMAGE_") for k in images_env if k.startswith("KAFKALAB_IMAGE_")
    }
    status, _, body = registry_get(registry, "/v2/_catalog")
    assert status == 200, body
    catalog = set(json.loads(body)["repositories"])
    for key in REGISTRY_IMAGES:
        ref = REGISTRY[key]
        host, _, rest = ref.partition("/")
        repo, _, tag = rest.rpartition(":")
        assert host == registry and repo in catalog, (ref, catalog)
        assert repo.split("/")[0] in {"apache", "confluentinc", "kafbat", "apicurio"}, ref  # the public names
        status, _, body = registry_get(
            registry, f"/v2/{repo}/manifests/{tag}", accept="application/vnd.docker.distribution.manifest.v2+json"
        )
        assert status == 200, (ref, status, body)
        source = images_env["KAFKALAB_IMAGE_" + key.removeprefix("REGISTRY_IMAGE_")]
        digest = json.loads(body)["config"]["digest"]
        if key == REGISTRY["REGISTRY_FLAT_IMAGE"]:
            # One layer of its own, made of the local image (push-images: flat): its label says of which.
            status, _, config = registry_get(registry, f"/v2/{repo}/blobs/{digest}")
            assert json.loads(config)["config"]["Labels"]["kafkalab.flat-of"] == image_id(source), ref
        else:
            # The manifest's config is the local image itself: its digest is the local image's id.
            assert digest == image_id(source), f"{ref} is not {source} (run tests/bed/push-images)"


@pytest.mark.parametrize("key", REGISTRY_IMAGES)
def test_registry_image_pulls_after_rmi(key: str, docker_ready: None, images_env: dict[str, str]) -> None:
    ref = REGISTRY[key]
    source = images_env["KAFKALAB_IMAGE_" + key.removeprefix("REGISTRY_IMAGE_")]
    want = image_id(source)
    assert want, f"no local image {source}"
    untag_registry_ref(ref)
    try:
        proc = docker("pull", ref)
        assert ref in proc.stdout, proc.stdout
        if key == REGISTRY["REGISTRY_FLAT_IMAGE"]:
            made_of = docker("image", "inspect", "-f", '{{index .Config.Labels "kafkalab.flat-of"}}', ref).stdout
            assert made_of.strip() == want, f"pulled {ref} is not made of {source}"
        else:
            assert image_id(ref) == want, f"pulled {ref} is not {source}"
    finally:
        untag_registry_ref(ref)
    assert image_id(source) == want, f"{source} changed"


def test_auth_registry_needs_credentials(docker_ready: None, images_env: dict[str, str], tmp_path: Any) -> None:
    import subprocess
    from pathlib import Path

    registry = REGISTRY["KAFKALAB_TEST_AUTH_REGISTRY"]
    user, password = REGISTRY["KAFKALAB_TEST_REGISTRY_USER"], REGISTRY["KAFKALAB_TEST_REGISTRY_PASSWORD"]
    for auth in (None, (user, "wrong-password"), ("nobody", password)):
        status, headers, body = registry_get(registry, auth=auth)
        assert status == 401, (auth, status, body)
        assert headers.get("www-authenticate", "").startswith("Basic realm="), headers
    assert registry_get(registry, auth=(user, password))[0] == 200

    # docker itself: refused with no credentials, pulled once logged in. The login lives in a
    # DOCKER_CONFIG of the test's own, so the machine's docker login state is never touched.
    ref = REGISTRY["AUTH_REGISTRY_IMAGE_UI"]
    want = image_id(images_env["KAFKALAB_IMAGE_UI"])
    home_config = Path.home() / ".docker" / "config.json"
    home_before = home_config.read_bytes() if home_config.exists() else None
    config = str(tmp_path / "docker-config")
    untag_registry_ref(ref)
    try:
        refused = docker("--config", config, "pull", ref, check=False)
        assert refused.returncode != 0, refused.stdout
        assert "no basic auth credentials" in refused.stderr or "unauthorized" in refused.stderr, refused.stderr
        assert image_id(ref) is None
        login = subprocess.run(
            ["docker", "--config", config, "login", "-u", user, "--password-stdin", registry],
            input=password,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert login.returncode == 0, login.stdout + login.stderr
        docker("--config", config, "pull", ref)
        assert image_id(ref) == want, f"pulled {ref} is not {images_env['KAFKALAB_IMAGE_UI']}"
        docker("--config", config, "logout", registry)
    finally:
        untag_registry_ref(ref)
    assert (home_config.read_bytes() if home_config.exists() else None) == home_before, "~/.docker/config.json changed"
