"""The shipped compose files: valid for `docker compose config`, pinned, and bound to 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from kafkalab.docker.compose import compose_dir
from kafkalab.lab import state
from kafkalab.lab.modes import LAB_LABEL, MODE_LABEL, MODES, OPTIONAL
from kafkalab.settings import DEFAULT_IMAGES, Settings

FILES = sorted(compose_dir().glob("*.yaml"))


def config(path: Path, env: dict[str, str]) -> dict[str, object]:
    """`docker compose config` (the CLI plugin alone; no daemon needed) as JSON."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KAFKALAB_")}
    done = subprocess.run(
        ["docker", "compose", "-p", "cfgtest", "-f", str(path), "config", "--format", "json"],
        env={**clean, **env}, capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_one_file_per_mode() -> None:
    assert [p.name for p in FILES] == sorted(spec.file for spec in MODES.values())


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_defaults_are_the_pinned_public_images(path: Path) -> None:
    services = config(path, {})["services"]
    assert isinstance(services, dict)
    assert sorted(services) == sorted(MODES[path.stem].service_names)
    for name, service in services.items():
        image = service["image"]
        assert image in DEFAULT_IMAGES.values(), (name, image)
        assert ":" in image and not image.endswith(":latest"), image
        assert "bitnami" not in image and "provectuslabs" not in image
        assert service["pull_policy"] == "missing"
        for port in service.get("ports", []):
            assert port["host_ip"] == "127.0.0.1", (name, port)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_the_file_agrees_with_the_mode_table(path: Path) -> None:
    """Images, ports, volumes and the lab's labels, service by service, as kafkalab.lab.modes says."""
    spec = MODES[path.stem]
    settings = Settings(mode=spec.name, project="orders", port=19094, ui_port=18080, zookeeper_port=12181,
                        image_kafka="k:4", image_kafka_zk="k:3", image_zookeeper="z:1", image_ui="u:1")
    found = config(path, settings.compose_env())
    labels = {LAB_LABEL: "orders", MODE_LABEL: spec.name}
    for service in spec.services:
        conf = found["services"][service.name]  # type: ignore[index]
        assert conf["image"] == getattr(settings, service.image)
        assert [(p["published"], p["target"]) for p in conf["ports"]] == [
            (str(service.host_port(settings)), service.container_port)
        ]
        assert sorted(v["source"] for v in conf.get("volumes", [])) == sorted(service.volumes)
        assert conf["labels"] == labels
    assert sorted(found["volumes"]) == sorted(spec.volumes)  # type: ignore[arg-type]
    for volume in found["volumes"].values():  # type: ignore[attr-defined]
        assert volume["labels"] == labels
    assert found["networks"]["default"]["labels"] == labels  # type: ignore[index]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_kafka_uis_dynamic_config_is_off_unless_the_setting_turns_it_on(path: Path) -> None:
    """kafka-ui has no login: its dynamic config would let whoever reaches its port repoint it."""
    def dynamic(env: dict[str, str]) -> object:
        return config(path, env)["services"]["kafka-ui"]["environment"]["DYNAMIC_CONFIG_ENABLED"]  # type: ignore[index]

    assert dynamic({}) == "false"
    assert dynamic(Settings().compose_env()) == "false"
    assert dynamic(Settings(ui_dynamic_config=True).compose_env()) == "true"


def test_each_mode_keeps_its_own_data() -> None:
    """The modes' cluster ids differ: a volume shared by two modes would keep the second from starting."""
    names = [v for spec in MODES.values() for v in spec.volumes]
    assert len(names) == len(set(names))
    assert MODES["kraft"].volumes == ("kafka-data",)  # the name of earlier versions: their data stays


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_settings_reach_the_file(path: Path) -> None:
    settings = Settings(port=19094, ui_port=18080, zookeeper_port=12181, cluster_name="orders",
                        pull="never", image_ui="local/ui:1")
    services = config(path, settings.compose_env())["services"]
    assert isinstance(services, dict)
    kafka, ui = services["kafka"], services["kafka-ui"]
    assert [p["published"] for p in kafka["ports"]] == ["19094"]
    assert "EXTERNAL://localhost:19094" in kafka["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    assert "PLAINTEXT://kafka:9092" in kafka["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    assert kafka["environment"]["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "true"
    assert ui["environment"]["KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS"].startswith("kafka:9092")
    assert ui["environment"]["KAFKA_CLUSTERS_0_NAME"] == "orders"
    assert [p["published"] for p in ui["ports"]] == ["18080"]
    assert ui["image"] == "local/ui:1"
    assert {s["pull_policy"] for s in services.values()} == {"never"}
    if path.stem == "cluster":
        assert [services[b]["ports"][0]["published"] for b in ("kafka-2", "kafka-3")] == ["19095", "19096"]
        assert services["kafka-3"]["environment"]["KAFKA_ADVERTISED_LISTENERS"] == (
            "PLAINTEXT://kafka-3:9092,EXTERNAL://localhost:19096"
        )
    if path.stem == "zookeeper":
        assert [p["published"] for p in services["zookeeper"]["ports"]] == ["12181"]
        assert kafka["environment"]["KAFKA_ZOOKEEPER_CONNECT"] == "zookeeper:2181"
    else:
        assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"


@pytest.mark.parametrize(
    ("stderr", "error", "message"),
    [
        ("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
         "DaemonDown", "The Docker daemon is not answering: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"),
        ("Error response from daemon: driver failed programming external connectivity on endpoint krt-kafka-1 (1ec7): "
         "Bind for 127.0.0.1:19094 failed: port is already allocated",
         "PortInUse", "Port 19094 on 127.0.0.1 is already taken."),
        ("Error response from daemon: No such image: kafkalab-test/nope:0", "ImageMissing",
         "Image kafkalab-test/nope:0 is not on this machine, and --pull is never."),
        ("docker: 'compose' is not a docker command.\nSee 'docker --help'", "ComposeV1Only",
         "Docker Compose v2 was not found: `docker compose` is not a docker command here."),
        ("unknown command: docker compose\n\nRun 'docker --help' for more information", "ComposeV1Only",
         "Docker Compose v2 was not found: `docker compose` is not a docker command here."),
        # Engine 28's wording for a taken port.
        ("Error response from daemon: failed to set up container networking: driver failed programming external "
         "connectivity on endpoint krt-kafka-1 (1ec7): failed to bind host port for 127.0.0.1:19094:172.18.0.2:9094/tcp: "
         "address already in use", "PortInUse", "Port 19094 on 127.0.0.1 is already taken."),
        ("permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock: "
         "Get \"http://%2Fvar%2Frun%2Fdocker.sock/v1.50/containers/json\": dial unix /var/run/docker.sock: "
         "connect: permission denied", "DockerSocketDenied",
         "This user may not use the Docker daemon: permission denied while trying to connect to the Docker daemon "
         "socket at unix:///var/run/docker.sock: Get \"http://%2Fvar%2Frun%2Fdocker.sock/v1.50/containers/json\": "
         "dial unix /var/run/docker.sock: connect: permission denied"),
        ("service \"kafka\" refers to undefined volume data: invalid compose project", "ComposeError",
         "`docker compose up` failed: service \"kafka\" refers to undefined volume data: invalid compose project"),
    ],
)
def test_docker_stderr_becomes_a_typed_error(stderr: str, error: str, message: str) -> None:
    from kafkalab.docker.errors import translate

    exc = translate(["docker", "compose", "up"], 1, stderr, Settings(pull="never"))
    assert (type(exc).__name__, exc.message) == (error, message)



def test_a_failed_pull_says_so_when_pulling_was_allowed() -> None:
    from kafkalab.docker.errors import translate

    stderr = "Error response from daemon: pull access denied for x/nope, repository does not exist"
    exc = translate(["docker", "compose", "up"], 1, stderr, Settings(pull="missing"))
    assert exc.message == f"Image x/nope could not be pulled: {stderr}"
    assert exc.hint.startswith("Check the image name and tag")


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_the_jvm_settings_have_their_defaults_in_the_settings_only(path: Path) -> None:
    """One place: the compose files read the variables without a default of their own."""
    text = path.read_text()
    for name in ("KAFKALAB_KAFKA_HEAP", "KAFKALAB_KAFKA_JVM_OPTS", "KAFKALAB_KAFKA_JMX_OPTS", "KAFKALAB_CLUSTER_ID"):
        assert f"${{{name}:" not in text and f"${{{name}-" not in text, name
    kafka = config(path, Settings(mode=path.stem, kafka_heap="-Xmx300M").compose_env())["services"]["kafka"]  # type: ignore[index]
    assert kafka["environment"]["KAFKA_HEAP_OPTS"] == "-Xmx300M"


SERVICE_FILES = sorted((compose_dir() / "services").glob("*.yaml"))


def config_of(paths: list[Path], env: dict[str, str]) -> dict[str, Any]:
    """`docker compose config` of several files (-f each), as JSON."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KAFKALAB_")}
    files = [a for p in paths for a in ("-f", str(p))]
    done = subprocess.run(["docker", "compose", "-p", "cfgtest", *files, "config", "--format", "json"],
                          env={**clean, **env}, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_one_file_per_optional_service() -> None:
    assert [p.stem for p in SERVICE_FILES] == sorted(OPTIONAL)


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("name", sorted(OPTIONAL))
def test_an_optional_services_file_agrees_with_the_table_in_every_mode(mode: str, name: str) -> None:
    """Image, port on 127.0.0.1, the lab's labels (with the mode's), and the mode's brokers inside."""
    service = OPTIONAL[name]
    settings = Settings(mode=mode, project="orders", port=19094, ui_port=18080, schema_registry_port=18081,  # type: ignore[arg-type]
                        with_=(name,), image_schema_registry="r:1")
    spec = settings.spec
    found = config_of([compose_dir() / spec.file, compose_dir() / "services" / f"{name}.yaml"], settings.compose_env())
    conf = found["services"][name]
    assert conf["image"] == getattr(settings, service.image)
    assert [(p["host_ip"], p["published"], p["target"]) for p in conf["ports"]] == [
        ("127.0.0.1", str(service.host_port(settings)), service.container_port)
    ]
    assert conf["labels"] == {LAB_LABEL: "orders", MODE_LABEL: mode}
    assert list(conf["networks"]) == ["default"]  # the lab's network, where its name is its address
    if name == "schema-registry":
        assert conf["environment"]["APICURIO_KAFKASQL_BOOTSTRAP_SERVERS"] == spec.internal_bootstrap
        assert conf["environment"]["APICURIO_STORAGE_KIND"] == "kafkasql"
        assert "-Xmx" in conf["environment"]["JAVA_OPTS"]  # a bounded heap, not 80% of the container's memory
    else:  # connect: the worker config kafkalab writes (with the mode's brokers in it), mounted read-only
        assert "-Xmx" in conf["environment"]["KAFKA_HEAP_OPTS"]  # not connect-distributed.sh's 2 GB
        assert "/opt/kafka/bin/connect-distributed.sh /etc/kafkalab/connect-distributed.properties" \
            in conf["entrypoint"][-1]
        assert [(v["source"], v["target"], v.get("read_only")) for v in conf["volumes"]] == [
            (str(state.connect_config("orders")), "/etc/kafkalab/connect-distributed.properties", True)
        ]
    assert sorted(found["services"]) == sorted(spec.service_names)


@pytest.mark.parametrize("path", SERVICE_FILES, ids=lambda p: p.name)
def test_an_optional_services_default_is_its_pinned_public_image(path: Path) -> None:
    conf = config_of([compose_dir() / "kraft.yaml", path], {})["services"][path.stem]
    assert conf["image"] == DEFAULT_IMAGES[OPTIONAL[path.stem].image] == {
        "schema-registry": "apicurio/apicurio-registry:3.3.3", "connect": "apache/kafka:4.4.0"}[path.stem]
    assert conf["pull_policy"] == "missing"
