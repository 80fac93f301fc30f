"""Connect from anywhere, on the real test bed: the lab's network that other compose projects join,
`kafkalab connect`, the subnet setting and `kafkalab doctor`."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from kafka_cli import IMAGES, broker_held, cli_run, lab_env

from kafkalab import Lab

pytestmark = pytest.mark.e2e
# A real Kafka client: Kafka's own command-line tools, with the java of the bed's kafka image.
KAFKA_TOOL = ["java", "-XX:TieredStopAtLevel=1", "-cp", "/opt/kafka/libs/*"]




def sh(*args: str, check: bool = True) -> str:
    return subprocess.run(args, capture_output=True, text=True, check=check).stdout


def network_labels(name: str) -> dict[str, str]:
    return json.loads(sh("docker", "network", "inspect", name, "--format", "{{json .Labels}}"))  # type: ignore[no-any-return]


def network_exists(name: str) -> bool:
    return subprocess.run(["docker", "network", "inspect", name], capture_output=True, check=False).returncode == 0


class UsersProject:
    """A compose project of the user's, in a directory of its own: `docker compose` run on it."""

    def __init__(self, directory: Path, name: str, text: str) -> None:
        self.name = name
        self.file = directory / "compose.yaml"
        self.file.write_text(text)

    def compose(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("KAFKALAB_")}
        done = subprocess.run(["docker", "compose", "-p", self.name, "-f", str(self.file), *args],
                              capture_output=True, text=True, check=False, env=clean)
        if check:
            assert done.returncode == 0, done.stderr
        return done


@pytest.fixture
def users_project(tmp_path: Path, bed: SimpleNamespace) -> Iterator[Callable[[str], UsersProject]]:
    made: list[UsersProject] = []

    def make(text: str) -> UsersProject:
        project = UsersProject(tmp_path, bed.project_name("-app"), text)
        made.append(project)
        return project

    yield make
    for project in made:  # before the lab's own teardown, which waits for its network to go
        project.compose("down", "--volumes", "--remove-orphans", check=False)


def tool_service(network: str, tool: str, *args: str, keep: bool = False) -> str:
    """The compose file of a user's project whose service runs one of Kafka's tools on the lab's network."""
    entrypoint = json.dumps(["sleep", "300"] if keep else [*KAFKA_TOOL, tool, *args])
    return (
        "services:\n"
        "  app:\n"
        f"    image: {os.environ['KAFKALAB_IMAGE_KAFKA']}\n"
        "    pull_policy: never\n"
        f"    entrypoint: {entrypoint}\n"
        "    networks: [kafka]\n"
        "networks:\n"
        "  kafka:\n"
        f"    name: {network}\n"
        "    external: true\n"
    )


# --- 1. the lab's network --------------------------------------------------------------------


def test_a_users_compose_project_joins_the_lab_by_the_name_status_reports(
    lab_factory: Callable[..., Lab], users_project: Callable[[str], UsersProject],
) -> None:
    lab = lab_factory()
    assert cli_run(lab, "up", "--no-ui").exit_code == 0
    assert lab.create_topic("orders", partitions=3)
    status = json.loads(cli_run(lab, "status", "--json").stdout)
    network = status["network"]
    assert network == {"name": lab.settings.project, "bootstrap": "kafka:9092"}
    assert network_labels(network["name"])["dev.kafkalab.lab"] == lab.settings.project
    assert network_labels(network["name"])["dev.kafkalab.mode"] == "kraft"

    app = users_project(tool_service(network["name"], "org.apache.kafka.tools.TopicCommand",
                                     "--bootstrap-server", network["bootstrap"], "--describe", "--topic", "orders"))
    described = app.compose("run", "--rm", "app")
    first = described.stdout.splitlines()[0].split("\t")
    assert first[0] == "Topic: orders", described.stdout
    assert "PartitionCount: 3" in first, described.stdout
    assert described.stdout.count("Leader: 1") == 3, described.stdout


def test_the_network_setting_names_it_and_down_removes_it(lab_factory: Callable[..., Lab], bed: SimpleNamespace) -> None:
    name = bed.project_name("-net")
    lab = lab_factory(network=name)
    up = cli_run(lab, "up", "--no-ui")
    assert up.exit_code == 0, up.stderr
    assert "│ network            │ " + name in up.stdout
    assert network_labels(name)["dev.kafkalab.lab"] == lab.settings.project
    assert not network_exists(f"{lab.settings.project}_default")
    other = cli_run(lab, "up", "--no-ui", KAFKALAB_NETWORK=f"{name}-2")
    assert other.exit_code == 3
    assert other.stderr.splitlines()[0] == (
        f"Error: The lab {lab.settings.project} is already running on the network {name}, not {name}-2."
    )
    down = cli_run(lab, "down")
    assert down.exit_code == 0, down.stderr
    assert not network_exists(name)


def test_up_refuses_a_network_of_that_name_that_is_not_the_labs(lab_factory: Callable[..., Lab]) -> None:
    lab = lab_factory()
    name = lab.settings.lab_network
    sh("docker", "network", "create", "--label", f"com.docker.compose.project={lab.settings.project}", name)
    try:
        up = cli_run(lab, "up", "--no-ui")
        assert up.exit_code == 3, up.stderr
        assert up.stderr.splitlines() == [
            f"Error: A network named {name} exists that is not the lab {name}'s: it is compose project {name}'s.",
            "Hint: Give the lab's network another name with KAFKALAB_NETWORK (or `network` in the config file); "
            f"kafkalab leaves {name} alone.",
        ]
        assert cli_run(lab, "down", "--volumes", "--yes").exit_code == 0
        assert network_exists(name), "down leaves a network without the lab's label alone"
        assert sh("docker", "ps", "-aq", "--filter", f"label=dev.kafkalab.lab={lab.settings.project}") == ""
    finally:
        sh("docker", "network", "rm", name, check=False)


def test_down_leaves_a_network_that_a_users_service_still_uses(
    lab_factory: Callable[..., Lab], users_project: Callable[[str], UsersProject], bed: SimpleNamespace,
) -> None:
    lab = lab_factory()
    assert cli_run(lab, "up", "--no-ui").exit_code == 0
    app = users_project(tool_service(lab.settings.lab_network, "", keep=True))
    app.compose("up", "-d")
    down = cli_run(lab, "down")
    assert down.exit_code == 0, down.stderr
    assert down.stderr.splitlines()[-1] == (
        f"Left the network {lab.settings.lab_network} in place: {app.name}-app-1 still uses it "
        "(it goes with the next `kafkalab down` once nothing does)."
    )
    assert network_exists(lab.settings.lab_network)
    assert cli_run(lab, "up", "--no-ui").exit_code == 0, "the lab comes back on the network it left"
    app.compose("down")
    assert cli_run(lab, "down", "--volumes", "--yes").exit_code == 0
    bed.wait_until(lambda: not bed.docker_leftovers(lab.settings.project), 30, "the lab to be gone")
    assert not network_exists(lab.settings.lab_network)



# --- 2. kafkalab connect ---------------------------------------------------------------------

def users_app(image: str) -> str:
    """A user's service that runs Kafka's own client, which asks every broker it learns of from the
    metadata of the bootstrap in KAFKA_BOOTSTRAP_SERVERS (which the snippet of `connect` sets)."""
    script = ("exec java -XX:TieredStopAtLevel=1 -cp '/opt/kafka/libs/*' "
              'org.apache.kafka.tools.BrokerApiVersionsCommand --bootstrap-server "$$KAFKA_BOOTSTRAP_SERVERS"')
    return f"services:\n  app:\n    image: {image}\n    pull_policy: never\n    entrypoint: {json.dumps(['sh', '-c', script])}\n"


def env_lines(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


@pytest.mark.parametrize("mode", ["kraft", "cluster"])
def test_connect_in_each_format_reaches_every_broker(
    mode: str, lab_factory: Callable[..., Lab], users_project: Callable[[str], UsersProject], tmp_path: Path,
) -> None:
    from kafkalab.kafka import cluster

    lab = lab_factory(mode=mode)
    up = cli_run(lab, "up", "--no-ui", "--mode", mode)
    assert up.exit_code == 0, up.stderr
    port = lab.settings.port
    names = ["kafka", "kafka-2", "kafka-3"] if mode == "cluster" else ["kafka"]

    env = cli_run(lab, "connect")  # no mode given: the lab's record has it
    assert env.exit_code == 0 and env.stderr == "", env.stderr
    variables = env_lines(env.stdout)
    assert variables == {
        "KAFKA_BOOTSTRAP_SERVERS": ",".join(f"localhost:{port + i}" for i in range(len(names))),
        "KAFKA_DOCKER_NETWORK": lab.settings.project,
        "KAFKA_INTERNAL_BOOTSTRAP_SERVERS": ",".join(f"{n}:9092" for n in names),
    }
    # From this machine, with the address as printed: every broker answers, and advertises what it printed.
    info = cluster.cluster_info(variables["KAFKA_BOOTSTRAP_SERVERS"], timeout=10)
    assert [a for _, a in info.brokers] == variables["KAFKA_BOOTSTRAP_SERVERS"].split(",")

    data = json.loads(cli_run(lab, "connect", "--format", "json").stdout)
    status = json.loads(cli_run(lab, "status", "--json").stdout)
    assert data["network"] == {"name": status["network"]["name"], "bootstrap_servers": status["network"]["bootstrap"]}
    assert data["env"] == variables
    assert [b["internal"] for b in data["brokers"]] == variables["KAFKA_INTERNAL_BOOTSTRAP_SERVERS"].split(",")

    # From a container: the user's own compose file, and the snippet as printed, added as a second file.
    snippet = cli_run(lab, "connect", "--format", "compose")
    assert snippet.exit_code == 0
    assert snippet.stdout == data["compose"]
    (tmp_path / "kafka.yaml").write_text(snippet.stdout)
    app = users_project(users_app(os.environ["KAFKALAB_IMAGE_KAFKA"]))
    ran = app.compose("-f", str(tmp_path / "kafka.yaml"), "run", "--rm", "app")
    answered = sorted(line.split(" (id: ")[0] for line in ran.stdout.splitlines() if " (id: " in line)
    assert answered == sorted(f"{n}:9092" for n in names), ran.stdout + ran.stderr

    # doctor asks every broker too, from this machine and from the lab's network.
    code, report, took = doctor(lab)
    print(f"\ndoctor on a healthy {mode} lab without kafka-ui: {took:.2f} s")
    assert code == 0, report
    assert check(report, "network")["detail"].startswith(
        variables["KAFKA_INTERNAL_BOOTSTRAP_SERVERS"].replace(",", ", ") + (" answer " if mode == "cluster" else " answers "))
    assert check(report, "host")["detail"].endswith(", ".join(f"{a} (127.0.0.1)" for a in variables["KAFKA_BOOTSTRAP_SERVERS"].split(",")))
    assert check(report, "ui") == {"check": "ui", "title": "kafka-ui", "result": "not checked",
                                   "detail": "not checked: the lab runs without kafka-ui", "fix": None}


# --- 3. the subnet setting -------------------------------------------------------------------


def free_subnet() -> str:
    """A /24 of 10.0.0.0/8 that no Docker network and no route of this machine uses."""
    import ipaddress
    import random

    ids = sh("docker", "network", "ls", "-q").split()
    used = sh("docker", "network", "inspect", *ids, "--format", "{{range .IPAM.Config}}{{.Subnet}} {{end}}").split()
    used += [line.split()[0] for line in sh("ip", "route").splitlines() if "/" in line.split()[0]]
    taken = [ipaddress.ip_network(u, strict=False) for u in used if ":" not in u]
    while True:
        candidate = ipaddress.ip_network(f"10.{random.randint(100, 250)}.{random.randint(0, 255)}.0/24")
        if not any(candidate.overlaps(t) for t in taken):
            return str(candidate)


def test_the_subnet_setting_is_honoured_and_a_second_lab_on_it_gets_the_typed_error(
    lab_factory: Callable[..., Lab],
) -> None:
    subnet = free_subnet()
    first = lab_factory(subnet=subnet)
    up = cli_run(first, "up", "--no-ui")
    assert up.exit_code == 0, up.stderr
    name = first.settings.lab_network
    assert json.loads(sh("docker", "network", "inspect", name, "--format", "{{json .IPAM.Config}}")) == [{"Subnet": subnet}]
    address = sh("docker", "inspect", f"{first.settings.project}-kafka-1", "--format",
                 "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}").strip()
    assert address.rsplit(".", 1)[0] == subnet.rsplit(".", 1)[0], address
    assert first.status().healthy

    second = lab_factory(subnet=subnet)
    taken = cli_run(second, "up", "--no-ui")
    assert taken.exit_code == 22, taken.stderr
    error, hint = taken.stderr.splitlines()[-2:]
    assert error.startswith(
        f"Error: The subnet {subnet} of the lab's network {second.settings.lab_network} overlaps one that Docker "
        "has already: "
    ), error
    assert error.endswith("Pool overlaps with other one on this address space"), error
    assert hint.startswith("Hint: Give the lab's network a free range of its own with KAFKALAB_SUBNET"), hint
    assert sh("docker", "ps", "-q", "--filter", f"label=dev.kafkalab.lab={second.settings.project}") == ""


# --- 4. kafkalab doctor ----------------------------------------------------------------------


def doctor(lab: Lab, **extra: str) -> tuple[int, dict[str, Any], float]:
    """`kafkalab doctor --json` in a process of its own, as a user runs it: exit code, report, seconds."""
    began = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "kafkalab", "doctor", "--json"], env=lab_env(lab, **extra),
                          capture_output=True, text=True, check=False, timeout=60)
    took = time.monotonic() - began
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout), took


def results(report: dict[str, Any]) -> dict[str, str]:
    return {c["check"]: c["result"] for c in report["checks"]}


def check(report: dict[str, Any], key: str) -> dict[str, Any]:
    return next(c for c in report["checks"] if c["check"] == key)  # type: ignore[no-any-return]


def test_doctor_on_a_healthy_lab(lab_factory: Callable[..., Lab]) -> None:
    lab = lab_factory()
    assert cli_run(lab, "up", "--wait-ui").exit_code == 0
    code, report, took = doctor(lab)
    print(f"\ndoctor on a healthy lab: {took:.2f} s (its own figure: {report['seconds']} s)")
    assert code == 0, report
    # Every check passes but those of the Schema Registry and Kafka Connect, which this lab runs without
    # (`--with` adds them).
    assert {k: v for k, v in results(report).items() if v != "pass"} == {
        "schema-registry": "not checked", "connect": "not checked"}, report
    assert check(report, "connect")["detail"] == (
        "not checked: the lab runs without a Kafka Connect (`kafkalab up --with connect` adds it)")
    assert (report["ok"], report["first_failure"], report["mode"]) == (True, None, "kraft")
    assert check(report, "ports")["detail"] == (
        f"{lab.settings.port} (kafka) this lab's, {lab.settings.ui_port} (kafka-ui) this lab's"
    )
    assert check(report, "network")["detail"] == (
        f"kafka:9092 answers from a container of {os.environ['KAFKALAB_IMAGE_KAFKA']} on the network "
        f"{lab.settings.lab_network} (Kafka's BrokerApiVersionsCommand)"
    )
    assert took < 15


def test_doctor_with_the_daemon_unreachable(lab_factory: Callable[..., Lab], tmp_path: Path) -> None:
    lab = lab_factory()
    code, report, took = doctor(lab, DOCKER_HOST=f"unix://{tmp_path}/no-daemon.sock")
    print(f"\ndoctor with the daemon unreachable: {took:.2f} s")
    assert code == 31, report
    assert report["first_failure"] == "daemon"
    daemon = check(report, "daemon")
    assert daemon["detail"].startswith(f"The Docker daemon is not answering: Cannot connect to the Docker daemon at "
                                       f"unix://{tmp_path}/no-daemon.sock"), daemon
    assert daemon["fix"].startswith(f"DOCKER_HOST is unix://{tmp_path}/no-daemon.sock: unset it"), daemon
    assert results(report)["docker"] == "pass"
    assert [k for k, r in results(report).items() if r == "fail"] == ["daemon"]
    assert took < 15


def test_doctor_with_the_labs_port_held_by_another_program(lab_factory: Callable[..., Lab]) -> None:
    lab = lab_factory()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", lab.settings.port))
        holder.listen()
        code, report, took = doctor(lab)
    print(f"\ndoctor with the lab's port held by another program: {took:.2f} s")
    assert code == 34, report
    assert report["first_failure"] == "ports"
    ports = check(report, "ports")
    me = Path(f"/proc/{os.getpid()}/comm").read_text().strip()
    assert ports["detail"] == f"{lab.settings.port} (kafka) is taken by {me} (pid {os.getpid()})", ports
    assert ports["fix"] == "Stop what holds it, or give the lab other ports: --port (KAFKALAB_PORT)."
    assert check(report, "lab")["detail"] == f"the lab {lab.settings.project} is not running"
    assert took < 15


def test_doctor_with_the_broker_container_stopped(lab_factory: Callable[..., Lab]) -> None:
    lab = lab_factory()
    assert cli_run(lab, "up", "--wait-ui").exit_code == 0
    sh("docker", "stop", f"{lab.settings.project}-kafka-1")
    code, report, took = doctor(lab)
    print(f"\ndoctor with the broker container stopped: {took:.2f} s")
    assert code == 37, report
    assert report["first_failure"] == "lab"
    assert check(report, "lab")["detail"].startswith("kafka is exited (Exited ("), report
    assert check(report, "host")["detail"] == f"No Kafka broker answered at localhost:{lab.settings.port}: connection refused."
    assert results(report) == {
        "docker": "pass", "daemon": "pass", "compose": "pass", "socket": "pass", "ports": "pass",
        "resources": "pass", "images": "pass", "lab": "fail", "host": "fail", "network": "not checked", "ui": "fail",
        "schema-registry": "not checked", "connect": "not checked", "advertise": "pass",
    }
    assert took < 15


def test_doctor_with_a_hung_broker_ends_in_time(lab_factory: Callable[..., Lab]) -> None:
    lab = lab_factory()
    assert cli_run(lab, "up", "--no-ui").exit_code == 0
    with broker_held(lab):  # the container runs and its port accepts, nothing answers
        code, report, took = doctor(lab)
    print(f"\ndoctor with a hung broker: {took:.2f} s")
    assert code == 38, report
    assert (results(report)["lab"], results(report)["host"], results(report)["network"]) == ("pass", "fail", "fail")
    assert took < 15


def test_doctor_for_a_user_without_access_to_the_docker_socket() -> None:
    """For real, as tests/e2e/test_safety.py does it: a user outside the docker group, with the system's
    Python, on a copy of kafkalab and of what its doctor loads before it asks the broker."""
    import shutil
    import tempfile

    import click
    import rich

    import kafkalab

    user = "kafkalab-nodocker"
    if subprocess.run(["id", user], capture_output=True, check=False).returncode != 0:
        subprocess.run(["useradd", "--no-create-home", "--shell", "/bin/sh", user], check=True, capture_output=True)
    home = Path(tempfile.mkdtemp(prefix="kafkalab-nodocker-"))
    try:
        lib = home / "lib"
        for package in (kafkalab, click, rich):
            source = Path(str(package.__file__)).parent
            shutil.copytree(source, lib / source.name, ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(Path(str(kafkalab.__file__)).parents[1] / "compose", lib / "kafkalab" / "compose")
        home.chmod(0o755)
        env = {"PATH": os.environ["PATH"], "HOME": str(home), "PYTHONPATH": str(lib), **IMAGES}
        began = time.monotonic()
        done = subprocess.run(["runuser", "-u", user, "--", "/usr/bin/python3", "-m", "kafkalab", "doctor", "--json"],
                              env=env, capture_output=True, text=True, check=False, cwd=home, timeout=60)
        took = time.monotonic() - began
    finally:
        shutil.rmtree(home)
    print(f"\ndoctor for a user without access to the socket: {took:.2f} s")
    assert done.returncode == 33, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert results(report)["daemon"] == "not checked"
    socket_check = check(report, "socket")
    assert socket_check["detail"] == "this user may not use /var/run/docker.sock"
    assert "docker group" in socket_check["fix"] and "rootless Docker" in socket_check["fix"]
    assert took < 15
