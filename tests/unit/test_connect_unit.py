"""The lab's network and what apps need to connect, without Docker's daemon: the settings, the
compose files as `docker compose config` reads them, and what `status` shows."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from kafkalab.cli.main import cli
from kafkalab.docker.compose import compose_dir
from kafkalab.docker.models import Container
from kafkalab.errors import ConfigError
from kafkalab.kafka.cluster import ClusterInfo
from kafkalab.lab import state
from kafkalab.lab.connection import LabNetwork, internal_bootstrap
from kafkalab.lab.lab import Lab
from kafkalab.lab.modes import LAB_LABEL, MODE_LABEL, MODES
from kafkalab.lab.status import LabStatus
from kafkalab.settings import Settings, resolve

MODE_FILES = sorted(compose_dir().glob("*.yaml"))


def compose_config(files: list[Path], env: dict[str, str]) -> dict[str, Any]:
    """`docker compose config` (the CLI plugin alone; no daemon needed) as JSON."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KAFKALAB_")}
    args = [a for f in files for a in ("-f", str(f))]
    done = subprocess.run(
        ["docker", "compose", "-p", "cfgtest", *args, "config", "--format", "json"],
        env={**clean, **env}, capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


# --- 1. the lab's network --------------------------------------------------------------------


@pytest.mark.parametrize("path", MODE_FILES, ids=lambda p: p.name)
def test_the_network_is_named_by_the_setting_and_keeps_the_labs_labels(path: Path) -> None:
    mode = path.stem
    by_project = compose_config([path], Settings(mode=mode, project="orders").compose_env())["networks"]
    assert by_project["default"]["name"] == "orders"
    assert by_project["default"]["labels"] == {LAB_LABEL: "orders", MODE_LABEL: mode}
    named = compose_config([path], Settings(mode=mode, project="orders", network="shared-kafka").compose_env())
    assert named["networks"]["default"]["name"] == "shared-kafka"
    assert named["networks"]["default"]["labels"] == {LAB_LABEL: "orders", MODE_LABEL: mode}
    # By hand (`docker compose -f compose/kraft.yaml up -d`): the project's name too.
    assert compose_config([path], {})["networks"]["default"]["name"] == "kafkalab"
    assert compose_config([path], {"KAFKALAB_PROJECT": "orders"})["networks"]["default"]["name"] == "orders"


def test_the_network_setting_defaults_to_the_project() -> None:
    settings = resolve({"project": "orders"}, env={}, cwd=Path("/"))
    assert (settings.network, settings.lab_network) == ("", "orders")
    assert settings.compose_env()["KAFKALAB_NETWORK"] == "orders"
    assert ("network", "orders", "default") in settings.as_rows()
    named = resolve({"project": "orders"}, env={"KAFKALAB_NETWORK": "shared.kafka-1"}, cwd=Path("/"))
    assert named.lab_network == "shared.kafka-1"
    assert ("network", "shared.kafka-1", "env KAFKALAB_NETWORK") in named.as_rows()


@pytest.mark.parametrize(("value", "why"), [
    ("my net", "is not a Docker network name (letters, digits, '_', '.' and '-', from a letter or digit on)"),
    ("-net", "is not a Docker network name (letters, digits, '_', '.' and '-', from a letter or digit on)"),
    ("bridge", "is one of Docker's own networks: the lab needs one of its own"),
    ("host", "is one of Docker's own networks: the lab needs one of its own"),
])
def test_a_bad_network_name_is_a_config_error(value: str, why: str) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve({}, env={"KAFKALAB_NETWORK": value}, cwd=Path("/"))
    assert caught.value.message == f"Bad value for network (env KAFKALAB_NETWORK): {value!r} {why}."
    assert caught.value.exit_code == 3


@pytest.mark.parametrize(("mode", "bootstrap"), [
    ("kraft", "kafka:9092"), ("zookeeper", "kafka:9092"), ("cluster", "kafka:9092,kafka-2:9092,kafka-3:9092"),
])
def test_the_internal_bootstrap_has_every_broker_of_the_mode(mode: str, bootstrap: str) -> None:
    assert internal_bootstrap(mode) == bootstrap
    assert len(bootstrap.split(",")) == len(MODES[mode].brokers)


def _container(networks: tuple[str, ...], lab: str = "orders") -> Container:
    return Container("kafka", "orders-kafka-1", "running", "Up 5 seconds", ("127.0.0.1:9094->9094/tcp",), "k:1",
                     lab=lab, mode="kraft" if lab else "", networks=networks)


def test_the_labs_network_is_the_one_its_containers_are_on() -> None:
    lab = Lab(Settings(project="orders"))
    assert lab.network() == LabNetwork("orders", "kafka:9092")
    assert lab.network((_container(("orders",)),)) == LabNetwork("orders", "kafka:9092")
    # kafkalab 0.1's lab, which Compose put on <project>_default.
    assert lab.network((_container(("orders_default",), lab=""),)) == LabNetwork("orders_default", "kafka:9092")
    cluster = Lab(Settings(project="orders", mode="cluster", network="shared"))
    assert cluster.network() == LabNetwork("shared", "kafka:9092,kafka-2:9092,kafka-3:9092")


def test_a_running_lab_on_another_network_is_refused() -> None:
    lab = Lab(Settings(project="orders", network="other"))
    with pytest.raises(ConfigError) as caught:
        lab._check_same_lab([_container(("orders",))])
    assert caught.value.message == "The lab orders is already running on the network orders, not other."
    lab._check_same_lab([_container(("orders_default",), lab="")])  # 0.1's labs: by their containers


def _healthy(network: LabNetwork | None) -> LabStatus:
    info = ClusterInfo("localhost:9094", "abc", 1, ((1, "localhost:9094"),), 2, 4)
    return LabStatus("orders", "kraft", "healthy", (_container(("orders",)),), info, None, None, network=network)


def test_status_shows_the_network_and_the_internal_bootstrap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Lab, "status", lambda self: _healthy(LabNetwork("orders", "kafka:9092")))
    shown = CliRunner().invoke(cli, ["status"])
    assert shown.exit_code == 0, shown.stderr
    assert "│ network            │ orders         │" in shown.stdout
    assert "│ internal bootstrap │ kafka:9092     │" in shown.stdout
    data = json.loads(CliRunner().invoke(cli, ["status", "--json"]).stdout)
    assert data["network"] == {"name": "orders", "bootstrap": "kafka:9092"}


# --- 2. kafkalab connect ---------------------------------------------------------------------



CLUSTER_ENV = """\
# The lab orders (cluster), from this machine:
KAFKA_BOOTSTRAP_SERVERS=localhost:19094,localhost:19095,localhost:19096
# From a container on the lab's network (docker run --network, or an external network in Compose):
KAFKA_DOCKER_NETWORK=orders
KAFKA_INTERNAL_BOOTSTRAP_SERVERS=kafka:9092,kafka-2:9092,kafka-3:9092
"""

KRAFT_COMPOSE = """\
# Your service on the network of the lab orders (kraft). Paste this into your
# compose file, with your service's name for `app` (or pass it as a second file: -f).
services:
  app:
    environment:
      KAFKA_BOOTSTRAP_SERVERS: kafka:9092
    networks:
      - default  # your project's own network, which a service leaves once it lists others
      - shared
networks:
  shared:
    name: shared
    external: true  # the lab's: your project joins it, and never creates or removes it
"""


def test_connect_prints_env_lines_with_every_broker(state_dir: Path) -> None:
    del state_dir
    result = CliRunner().invoke(cli, ["-p", "orders", "--port", "19094", "connect"], env={"KAFKALAB_MODE": "cluster"})
    assert result.exit_code == 0, result.stderr
    assert result.stdout == CLUSTER_ENV
    assert result.stderr == "Note: no broker of the lab orders answers now: `kafkalab up` starts it.\n"


def test_connect_prints_a_compose_snippet(state_dir: Path) -> None:
    del state_dir
    result = CliRunner().invoke(cli, ["-p", "orders", "connect", "--format", "compose"],
                                env={"KAFKALAB_NETWORK": "shared"})
    assert result.exit_code == 0, result.stderr
    assert result.stdout == KRAFT_COMPOSE


@pytest.mark.parametrize(("mode", "brokers"), [("kraft", 1), ("zookeeper", 1), ("cluster", 3)])
def test_connect_json_has_all_of_it(mode: str, brokers: int, state_dir: Path) -> None:
    del state_dir
    result = CliRunner().invoke(cli, ["-p", "orders", "--port", "19094", "connect", "--format", "json"],
                                env={"KAFKALAB_MODE": mode})
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    names = ["kafka", "kafka-2", "kafka-3"][:brokers]
    assert data["brokers"] == [
        {"service": n, "host": f"localhost:{19094 + i}", "internal": f"{n}:9092"} for i, n in enumerate(names)
    ]
    assert data["bootstrap_servers"] == ",".join(f"localhost:{19094 + i}" for i in range(brokers))
    assert data["network"] == {"name": "orders", "bootstrap_servers": ",".join(f"{n}:9092" for n in names)}
    assert data["env"]["KAFKA_INTERNAL_BOOTSTRAP_SERVERS"] == data["network"]["bootstrap_servers"]
    assert (data["project"], data["mode"]) == ("orders", mode)
    assert f"      KAFKA_BOOTSTRAP_SERVERS: {data['network']['bootstrap_servers']}\n" in data["compose"]


def test_connect_uses_the_mode_and_network_of_the_labs_last_up(state_dir: Path) -> None:

    state.write("orders", {**Settings(project="orders", network="shared").compose_env(), "KAFKALAB_MODE": "cluster"})
    found = Lab(resolve({"project": "orders"}, env={}, cwd=Path("/"))).connection()
    assert (found.mode, found.network) == ("cluster", "shared")
    assert found.internal_bootstrap == "kafka:9092,kafka-2:9092,kafka-3:9092"
    chosen = Lab(resolve({"project": "orders"}, env={"KAFKALAB_NETWORK": "mine", "KAFKALAB_MODE": "kraft"},
                         cwd=Path("/"))).connection()
    assert (chosen.mode, chosen.network, chosen.bootstrap) == ("kraft", "mine", "localhost:9094")
    assert (state_dir / "orders.env").is_file()


# --- 3. the subnet setting, and Docker's address pools -------------------------------------------


@pytest.mark.parametrize("path", MODE_FILES, ids=lambda p: p.name)
def test_the_subnet_setting_reaches_the_labs_network(path: Path) -> None:
    from kafkalab.docker.compose import Compose

    settings = Settings(mode=path.stem, project="orders", subnet="10.213.0.0/24")
    files = Compose(settings).files
    assert files == [path, compose_dir() / "extra" / "subnet.yaml"]
    network = compose_config([Path(f) for f in files], settings.compose_env())["networks"]["default"]
    assert network["ipam"]["config"] == [{"subnet": "10.213.0.0/24"}]
    assert (network["name"], network["labels"][LAB_LABEL]) == ("orders", "orders")
    # Without it, Docker chooses: the file is not added, and KAFKALAB_SUBNET is not set.
    assert Compose(Settings(mode=path.stem)).files == [path]
    assert "KAFKALAB_SUBNET" not in Settings(mode=path.stem).compose_env()
    assert compose_config([path], Settings(mode=path.stem).compose_env())["networks"]["default"].get("ipam", {}) == {}


@pytest.mark.parametrize(("value", "why"), [
    ("10.213.0.0", "is not an IPv4 subnet in CIDR notation, such as 10.213.0.0/24"),
    ("ten/24", "is not an IPv4 subnet in CIDR notation, such as 10.213.0.0/24"),
    ("fd00::/64", "is not an IPv4 subnet in CIDR notation, such as 10.213.0.0/24"),
    ("10.213.0.1/24", "has host bits set: the subnet is 10.213.0.0/24"),
    ("10.213.0.0/29", "is too small for the lab and the services that join it: give /28 or larger"),
])
def test_a_bad_subnet_is_a_config_error(value: str, why: str) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve({}, env={"KAFKALAB_SUBNET": value}, cwd=Path("/"))
    assert caught.value.message == f"Bad value for subnet (env KAFKALAB_SUBNET): {value!r} {why}."


def test_a_good_subnet_resolves() -> None:
    settings = resolve({}, env={"KAFKALAB_SUBNET": "192.168.240.0/28"}, cwd=Path("/"))
    assert settings.subnet == "192.168.240.0/28"
    assert settings.compose_env()["KAFKALAB_SUBNET"] == "192.168.240.0/28"


@pytest.mark.parametrize(("stderr", "subnet", "message"), [
    # Compose 2.40 on Engine 20.10, for real (tests/e2e/test_connect.py causes it).
    ("failed to create network orders: Error response from daemon: Pool overlaps with other one on this address space",
     "10.213.0.0/24",
     "The subnet 10.213.0.0/24 of the lab's network orders overlaps one that Docker has already: failed to create "
     "network orders: Error response from daemon: Pool overlaps with other one on this address space"),
    # All of Docker's default pools taken (a VPN that routes 172.16.0.0/12 and 192.168.0.0/16).
    ("failed to create network orders: Error response from daemon: could not find an available, non-overlapping "
     "IPv4 address pool among the defaults to assign to the network", "",
     "Docker has no free address range for the lab's network orders, as each of its default pools overlaps a "
     "network or a route here: failed to create network orders: Error response from daemon: could not find an "
     "available, non-overlapping IPv4 address pool among the defaults to assign to the network"),
])
def test_dockers_address_pool_failures_are_one_typed_error(stderr: str, subnet: str, message: str) -> None:
    from kafkalab.docker.errors import translate
    from kafkalab.errors import EXIT_CODES, SubnetUnavailable

    exc = translate(["docker", "compose", "up"], 1, stderr, Settings(project="orders", subnet=subnet))
    assert isinstance(exc, SubnetUnavailable)
    assert exc.message == message
    assert exc.exit_code == EXIT_CODES["SubnetUnavailable"] == 22
    assert "KAFKALAB_SUBNET" in exc.hint


def test_an_up_that_must_recreate_a_network_in_use_says_what_to_do() -> None:
    from kafkalab.docker.errors import translate

    stderr = ("Error response from daemon: error while removing network: network orders id 1e69 has active "
              "endpoints")
    exc = translate(["docker", "compose", "up"], 1, stderr, Settings(project="orders"))
    assert isinstance(exc, ConfigError)
    assert exc.message == f"The lab's network orders must be made anew for these settings, and other containers still use it: {stderr}"
    assert exc.hint.startswith("Stop them, or `docker network disconnect orders CONTAINER`")


# --- 4. kafkalab doctor ----------------------------------------------------------------------


def test_doctor_exit_codes_are_distinct_and_documented() -> None:
    from kafkalab import errors
    from kafkalab.lab.doctor import CHECKS, TITLES

    codes = list(errors.DOCTOR_EXIT_CODES.values())
    others = [*errors.EXIT_CODES.values(), errors.STATUS_NOT_RUNNING, errors.STATUS_DEGRADED, 0, 2]
    assert len(codes) == len(set(codes)) and not set(codes) & set(others)
    assert [key for key, _ in CHECKS] == list(errors.DOCTOR_EXIT_CODES)
    documented = (Path(__file__).parents[2] / "docs" / "errors.md").read_text()
    for key, code in errors.DOCTOR_EXIT_CODES.items():
        assert f"| {code} | | `doctor`: {TITLES[key]} |" in documented, key


def test_reach_tries_each_address_in_the_resolvers_order() -> None:
    """localhost resolving to ::1 first, where nothing listens, while the port is bound on 127.0.0.1 only."""
    import socket

    from kafkalab.lab.doctor import reach

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]

        def v6_first(host: str, port: int, **_kw: Any) -> list[Any]:
            assert host == "localhost"
            return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::1", port, 0, 0)),
                    (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

        assert reach("localhost", port, 1.0, resolve=v6_first) == ([("::1", False), ("127.0.0.1", True)], None)
        assert reach("127.0.0.1", port, 1.0) == ([("127.0.0.1", True)], None)
    found, error = reach("no-such-host.invalid", 9, 1.0)
    assert found == [] and error


def test_doctor_flags_advertised_listeners_that_resolve_to_an_address_nothing_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import socket

    from kafkalab.kafka import cluster
    from kafkalab.lab import doctor

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        real = socket.getaddrinfo

        def v6_first(host: str, port: int, *args: Any, **kw: Any) -> list[Any]:
            if host != "localhost":
                return real(host, port, *args, **kw)  # type: ignore[no-any-return]
            return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::1", port, 0, 0)),
                    (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

        monkeypatch.setattr(cluster, "check_reachable", lambda *a, **k: None)
        monkeypatch.setattr(cluster, "cluster_info", lambda bootstrap, timeout, conf=None: ClusterInfo(
            bootstrap, "abc", 1, ((1, f"localhost:{port}"),), 0, 0))
        monkeypatch.setattr(socket, "getaddrinfo", v6_first)
        check = doctor._Doctor(Lab(Settings(project="orders", port=port)), 1e12)
        check.host(check.settings)
    found = check.checks["host"]
    assert found.ok is False
    assert found.detail == (
        f"broker 1 advertises localhost:{port}: localhost resolves to ::1 first, where nothing answers (it does "
        "at 127.0.0.1: a client that tries only the first address fails)"
    )
    assert found.fix is not None and found.fix.startswith("Make localhost resolve to 127.0.0.1 first")


def _diagnosis(*results: tuple[str, bool | None]) -> Any:
    from kafkalab.lab.doctor import CHECKS, Check, Diagnosis

    given = dict(results)
    checks = tuple(Check(key, given.get(key, True), f"{key} found", "Fix it." if given.get(key) is False else None)
                   for key, _ in CHECKS)
    return Diagnosis("orders", "kraft", checks, 1.25)


def test_doctor_exits_with_the_code_of_the_first_failed_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Lab, "doctor", lambda self: _diagnosis(("ports", False), ("lab", False), ("host", None)))
    shown = CliRunner().invoke(cli, ["doctor"])
    assert shown.exit_code == 34, shown.stderr
    assert "│ ✘ │ lab's ports" in shown.stdout
    assert "Fix: Fix it." in shown.stdout
    assert "│ ○ │ broker from this machine" in shown.stdout
    assert shown.stdout.splitlines()[-1] == "✘ First failure: lab's ports (exit 34); 1 more failed; 1.2 s."
    data = json.loads(CliRunner().invoke(cli, ["doctor", "--json"]).stdout)
    assert (data["ok"], data["first_failure"], data["exit_code"]) == (False, "ports", 34)
    assert data["checks"][4] == {"check": "ports", "title": "lab's ports", "result": "fail", "detail": "ports found",
                                 "fix": "Fix it."}
    assert data["checks"][8]["result"] == "not checked"
    monkeypatch.setattr(Lab, "doctor", lambda self: _diagnosis())
    healthy = CliRunner().invoke(cli, ["doctor"])
    assert healthy.exit_code == 0
    assert healthy.stdout.splitlines()[-1] == "✔ All checks passed in 1.2 s."


HUNG_DOCKER = """\
#!/bin/sh
case "$1" in
  --version) echo "Docker version 28.2.2, build e6534b4";;
  context) echo "unix:///var/run/docker.sock";;
  *) exec sleep 60;;  # a daemon that accepts and never answers
esac
"""


def test_doctor_ends_in_time_with_a_daemon_that_never_answers(tmp_path: Path) -> None:
    import time

    fake = tmp_path / "docker"
    fake.write_text(HUNG_DOCKER)
    fake.chmod(0o755)
    began = time.monotonic()
    result = CliRunner().invoke(cli, ["-p", "orders", "doctor", "--json"],
                                env={"PATH": f"{tmp_path}:/usr/bin:/bin", "KAFKALAB_PROJECT": "orders"})
    took = time.monotonic() - began
    data = json.loads(result.stdout)
    assert result.exit_code == 31, result.stdout
    daemon = data["checks"][1]
    assert (daemon["check"], daemon["result"]) == ("daemon", "fail")
    assert daemon["detail"] == "`docker version` did not answer within 4 s."
    assert data["checks"][2]["detail"] == "`docker compose` did not answer within 4 s."
    assert took < 15, took
