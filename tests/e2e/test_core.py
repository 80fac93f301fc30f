"""`up`, `status`, `down`, `logs` end to end, on the real test bed, in both modes."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from kafka_cli import broker_held

from kafkalab import Lab
from kafkalab.cli.main import cli
from kafkalab.errors import STATUS_DEGRADED, STATUS_NOT_RUNNING

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def run(lab: Lab, *args: str, env: dict[str, str] | None = None) -> Result:
    """The CLI in-process, with the lab's settings in the environment, as a user's shell would have."""
    lab_env = {**lab.settings.compose_env(), "KAFKALAB_MODE": lab.settings.mode, **(env or {})}
    return CliRunner().invoke(cli, list(args), env=lab_env)


def produce(lab: Lab, topic: str, values: list[bytes]) -> None:
    producer = lab.producer(acks="all")
    for value in values:
        producer.produce(topic, value)
    assert producer.flush(30) == 0


def consume_all(lab: Lab, topic: str, expected: int, timeout: float = 30) -> list[bytes]:
    consumer = lab.consumer(f"g-{uuid.uuid4().hex[:8]}")
    consumer.subscribe([topic])
    got: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while len(got) < expected and time.monotonic() < deadline:
            for message in consumer.consume(num_messages=1000, timeout=0.5):
                assert message.error() is None, message.error()
                got.append(message.value())
    finally:
        consumer.close()
    return got


def topic_names(lab: Lab) -> set[str]:
    return set(lab.admin().list_topics(timeout=10).topics)


@pytest.mark.parametrize("mode", ["kraft", "zookeeper"])
def test_lifecycle_keeps_data_until_down_volumes(mode: str, lab_factory: Callable[..., Lab]) -> None:
    lab = lab_factory(mode=mode)
    up = run(lab, "up", "--wait-ui")
    assert up.exit_code == 0, up.stderr
    assert f"Lab {lab.settings.project} ({mode}): healthy" in up.stdout

    status = run(lab, "status", "--json")
    assert status.exit_code == 0, status.stdout
    data = json.loads(status.stdout)
    assert data["state"] == "healthy"
    assert data["mode"] == mode
    assert data["broker"]["broker_count"] == 1
    assert data["broker"]["bootstrap"] == f"localhost:{lab.settings.port}"
    assert data["ui"]["healthy"] is True
    expected_services = ["kafka", "kafka-ui"] if mode == "kraft" else ["kafka", "kafka-ui", "zookeeper"]
    assert [s["service"] for s in data["services"]] == expected_services
    for service in data["services"]:
        published = [p for p in service["ports"] if "->" in p]
        assert published and all(p.startswith("127.0.0.1:") for p in published), service

    # The blog's promise: topics are created on first use.
    values = [f"order-{i}".encode() for i in range(100)]
    produce(lab, "orders", values)
    assert consume_all(lab, "orders", 100) == values

    assert run(lab, "down").exit_code == 0
    assert run(lab, "status").exit_code == STATUS_NOT_RUNNING
    assert run(lab, "up", "--no-ui").exit_code == 0
    assert consume_all(lab, "orders", 100) == values, "data must survive down/up"

    down = run(lab, "down", "--volumes", "--yes")
    assert down.exit_code == 0
    removed = "2 containers and 3 volumes" if mode == "zookeeper" else "1 container and 1 volume"
    assert down.stderr.endswith(f"Removed {removed} of {lab.settings.project}.\n")
    assert run(lab, "up", "--no-ui").exit_code == 0
    assert "orders" not in topic_names(lab)


def test_up_twice_and_down_twice(lab_factory: Callable[..., Lab]) -> None:
    lab = lab_factory()
    assert run(lab, "up", "--no-ui").exit_code == 0
    again = run(lab, "up", "--no-ui")
    assert again.exit_code == 0
    assert f"The lab {lab.settings.project} is already running." in again.stderr
    first = run(lab, "down")
    assert first.exit_code == 0
    assert first.stderr.endswith(f"Removed 1 container of {lab.settings.project}.\n")
    second = run(lab, "down")
    assert second.exit_code == 0
    assert second.stderr.endswith(f"Removed 0 containers of {lab.settings.project}.\n")


def test_status_while_down_says_so_quickly(lab_factory: Callable[..., Lab]) -> None:
    lab = lab_factory()
    start = time.monotonic()
    result = run(lab, "status")
    elapsed = time.monotonic() - start
    assert result.exit_code == STATUS_NOT_RUNNING
    assert result.stdout == f"Lab {lab.settings.project} (kraft): not running\n"
    assert elapsed < 1.0
    assert json.loads(run(lab, "status", "--json").stdout)["state"] == "not running"


def test_status_degraded_logs_and_no_wait(lab_factory: Callable[..., Lab]) -> None:
    lab = lab_factory()
    started = run(lab, "up", "--no-wait")
    assert started.exit_code == 0, started.stderr
    assert "(not waiting until it is ready)" in started.stderr
    lab.wait_ready(120)
    assert run(lab, "status").exit_code == 0

    logs = run(lab, "logs", "kafka", "--tail", "5")
    assert logs.exit_code == 0
    assert len(logs.stdout.splitlines()) == 5
    every = run(lab, "logs")
    assert "kafka-ui-standin: serving on :8080" in every.stdout
    assert "Kafka Server started" in every.stdout

    subprocess.run(["docker", "stop", f"{lab.settings.project}-kafka-ui-1"], check=True, capture_output=True)
    degraded = run(lab, "status", "--json")
    assert degraded.exit_code == STATUS_DEGRADED
    data = json.loads(degraded.stdout)
    assert data["state"] == "degraded"
    assert data["ui"]["healthy"] is False
    assert {s["service"]: s["state"] for s in data["services"]} == {"kafka": "running", "kafka-ui": "exited"}


# --- errors, each caused for real ------------------------------------------------------------


def test_docker_missing(lab_factory: Callable[..., Lab], tmp_path: Path) -> None:
    result = run(lab_factory(), "up", env={"PATH": str(tmp_path)})
    assert result.exit_code == 4
    assert result.stderr.splitlines()[-2] == "Error: Docker was not found: there is no `docker` on PATH."


def test_daemon_down(lab_factory: Callable[..., Lab], tmp_path: Path) -> None:
    result = run(lab_factory(), "up", env={"DOCKER_HOST": f"unix://{tmp_path}/no-daemon.sock"})
    assert result.exit_code == 5
    assert result.stderr.splitlines()[-2].startswith("Error: The Docker daemon is not answering: ")


def test_port_taken_by_a_program(lab_factory: Callable[..., Lab]) -> None:
    lab = lab_factory()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", lab.settings.port))
        holder.listen()
        result = run(lab, "up")
    assert result.exit_code == 7
    assert result.stderr.splitlines()[-2] == (
        f"Error: Port {lab.settings.port} (kafka) on 127.0.0.1 is already taken by another program."
    )
    assert result.stderr.splitlines()[-1] == "Hint: Stop it, or choose another port with --port."


def test_port_taken_by_another_lab_names_its_container(lab_factory: Callable[..., Lab]) -> None:
    first = lab_factory()
    first.up(ui=False, wait=False)
    second = lab_factory(port=first.settings.port)
    result = run(second, "up", "--no-ui")
    assert result.exit_code == 7
    assert result.stderr.splitlines()[-2] == (
        f"Error: Port {first.settings.port} (kafka) on 127.0.0.1 is already taken by container "
        f"{first.settings.project}-kafka-1."
    )


def test_image_missing_under_pull_never(lab_factory: Callable[..., Lab]) -> None:
    lab = lab_factory()
    result = run(lab, "up", "--pull", "never", env={"KAFKALAB_IMAGE_UI": "kafkalab-test/no-such-ui:0"})
    assert result.exit_code == 8
    assert result.stderr.splitlines()[-2] == (
        "Error: Image kafkalab-test/no-such-ui:0 is not on this machine, and --pull is never."
    )


def test_readiness_timeout_shows_the_broker_log(lab_factory: Callable[..., Lab]) -> None:
    lab = lab_factory()
    lab.up(ui=False)
    with broker_held(lab):  # a real hang
        result = run(lab, "up", "--no-ui", "--timeout", "2")
    assert result.exit_code == 10
    lines = result.stderr.splitlines()
    assert lines[-2] == f"Error: The broker at localhost:{lab.settings.port} was not ready within 2 s."
    assert lines[-1].startswith("Hint: Read the broker log above;")
    log = lines[lines.index("Last 30 log lines:") + 1 : -2]
    assert len(log) == 30
    assert all(line.startswith("[20") or line.startswith((" ", "\t", "20")) for line in log), log


def test_bad_config_file(lab_factory: Callable[..., Lab], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "kafkalab.toml").write_text('mode = "kraft"\nport = "high"\n')
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["up"], env={"KAFKALAB_PORT": ""})
    assert result.exit_code == 3
    assert result.stderr.splitlines()[0] == (
        f"Error: Bad value for port ({tmp_path / 'kafkalab.toml'}): 'high' is a string, not a port number."
    )


# --- the wheel, installed in a fresh venv ------------------------------------------------------


def test_wheel_in_a_fresh_venv_runs_up_and_down(tmp_path: Path, lab_factory: Callable[..., Lab]) -> None:
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", dist, ROOT], check=True)
    (wheel,) = dist.glob("kafkalab-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    subprocess.run([venv / "bin" / "pip", "install", "-q", wheel], check=True)
    lab = lab_factory()
    env: dict[str, Any] = {**os.environ, **lab.settings.compose_env()}
    kafkalab = str(venv / "bin" / "kafkalab")
    up = subprocess.run([kafkalab, "up", "--no-ui"], cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert up.returncode == 0, up.stderr
    status = subprocess.run([kafkalab, "status", "--json"], cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    assert json.loads(status.stdout)["state"] == "healthy"
    down = subprocess.run([kafkalab, "down", "--volumes", "--yes"], cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert down.returncode == 0, down.stderr
    module = subprocess.run([venv / "bin" / "python", "-m", "kafkalab", "--version"], capture_output=True, text=True, check=True)
    # The wheel's version is the newest of the changelog (tests/unit/test_docs.py checks the venv's too).
    newest = re.search(r"^## \[(\d+\.\d+\.\d+)\]", (ROOT / "CHANGELOG.md").read_text(), re.MULTILINE)
    assert newest is not None
    assert module.stdout == f"kafkalab {newest[1]}\n"


def test_up_refuses_a_running_lab_with_other_settings(lab_factory: Callable[..., Lab]) -> None:
    lab = lab_factory()
    lab.up(ui=False, wait=False)
    other_port = run(lab, "up", "--no-ui", env={"KAFKALAB_PORT": str(lab.settings.port + 1)})
    assert other_port.exit_code == 3
    assert other_port.stderr.splitlines() == [
        f"Error: The lab {lab.settings.project} is already running with kafka on port {lab.settings.port}, "
        f"not {lab.settings.port + 1}.",
        "Hint: Use the same port settings, or `kafkalab down` it first.",
    ]
    other_mode = run(lab, "up", "--no-ui", "--mode", "zookeeper")
    assert other_mode.exit_code == 3
    assert other_mode.stderr.splitlines()[0] == (
        f"Error: The lab {lab.settings.project} is already running in kraft mode, not zookeeper."
    )


def test_verbose_shows_docker_commands_and_logs_follow(lab_factory: Callable[..., Lab]) -> None:
    lab = lab_factory()
    up = run(lab, "-v", "up", "--no-ui")
    assert up.exit_code == 0
    shown = [line for line in up.stderr.splitlines() if line.startswith("$ docker")]
    assert any(line.startswith("$ docker ps --all") for line in shown), shown
    assert any("docker compose --file" in line and " up --detach" in line for line in shown), "\n".join(shown)

    env = {**os.environ, **lab.settings.compose_env()}
    follow = subprocess.Popen(
        [sys.executable, "-m", "kafkalab", "logs", "kafka", "-f", "--tail", "1"],
        env=env, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert follow.stdout is not None
        first = follow.stdout.readline()  # blocks until the follower prints; the test timeout bounds it
        assert first.startswith("kafka-1  | ")
        assert follow.poll() is None, "-f keeps following"
    finally:
        follow.terminate()
        follow.wait(10)


def test_down_volumes_asks_on_a_terminal_and_no_keeps_the_data(
    lab_factory: Callable[..., Lab], on_a_terminal: Callable[..., tuple[int, bytes]],
) -> None:
    lab = lab_factory()
    lab.up(ui=False)
    code, seen = on_a_terminal(["down", "--volumes"], b"n\n", {**os.environ, **lab.settings.compose_env()})
    assert f"Delete all data of the lab {lab.settings.project}? [y/N]".encode() in seen
    assert code == 15
    assert b"Error: Nothing was deleted." in seen
    assert lab.status().healthy, "answering no changes nothing"


def test_up_on_a_terminal_shows_each_phase_while_it_lasts(
    lab_factory: Callable[..., Lab], on_a_terminal: Callable[..., tuple[int, bytes]],
) -> None:
    lab = lab_factory()
    env = {**os.environ, **lab.settings.compose_env(), "TERM": "xterm-256color"}
    code, seen = on_a_terminal(["up", "--wait-ui"], None, env)
    assert code == 0, seen.decode(errors="replace")[-2000:]
    phases = [b"Starting containers", b"Waiting for the broker to answer", b"Waiting for kafka-ui to answer",
              b"Ready in"]
    where = [seen.find(phase) for phase in phases]
    assert -1 not in where and where == sorted(where), (where, seen.decode(errors="replace")[-2000:])
    assert lab.status().healthy


def test_cluster_mode_replicates_across_three_brokers(lab_factory: Callable[..., Lab]) -> None:
    lab = lab_factory(mode="cluster")
    up = run(lab, "up", "--no-ui")
    assert up.exit_code == 0, up.stderr
    data = json.loads(run(lab, "status", "--json").stdout)
    assert data["state"] == "healthy"
    assert data["broker"]["broker_count"] == 3
    port = lab.settings.port
    assert [b["address"] for b in data["broker"]["brokers"]] == [f"localhost:{p}" for p in (port, port + 1, port + 2)]

    assert lab.create_topic("payments", partitions=3, replication=3)
    md = lab.admin().list_topics("payments", timeout=10).topics["payments"]
    assert all(sorted(p.replicas) == [1, 2, 3] for p in md.partitions.values())

    # One broker gone: min.insync.replicas=2 still takes acks=all writes, and status says degraded.
    subprocess.run(["docker", "stop", f"{lab.settings.project}-kafka-3-1"], check=True, capture_output=True)
    values = [f"pay-{i}".encode() for i in range(50)]
    produce(lab, "payments", values)
    assert sorted(consume_all(lab, "payments", 50)) == sorted(values)
    assert run(lab, "status").exit_code == STATUS_DEGRADED

    logs = run(lab, "logs", "kafka-2", "--tail", "3")
    assert logs.exit_code == 0 and len(logs.stdout.splitlines()) == 3
    # `down` finds the running mode itself: no --mode needed.
    down = CliRunner().invoke(cli, ["down", "--volumes", "--yes"], env={
        **lab.settings.compose_env(), "KAFKALAB_MODE": "kraft"})
    assert down.exit_code == 0
    assert down.stderr.endswith(f"Removed 3 containers and 3 volumes of {lab.settings.project}.\n")


def test_a_flag_beats_the_shell_environment_inside_compose(lab_factory: Callable[..., Lab], spare_port: int) -> None:
    lab = lab_factory()
    shell_port = str(spare_port)
    env = {**lab.settings.compose_env(), "KAFKALAB_PORT": shell_port}
    result = CliRunner().invoke(cli, ["--port", str(lab.settings.port), "up", "--no-ui"], env=env)
    assert result.exit_code == 0, result.stderr
    ports = subprocess.run(
        ["docker", "port", f"{lab.settings.project}-kafka-1", "9094"], capture_output=True, text=True, check=True,
    ).stdout
    assert ports.strip() == f"127.0.0.1:{lab.settings.port}"


def test_up_without_ui_ignores_a_stopped_ui(lab_factory: Callable[..., Lab]) -> None:
    lab = lab_factory()
    lab.up()
    project = lab.settings.project
    subprocess.run(["docker", "stop", f"{project}-kafka-ui-1", f"{project}-kafka-1"], check=True, capture_output=True)
    result = run(lab, "up", "--no-ui")
    assert result.exit_code == 0, result.stderr
    assert lab.status().state == "degraded"  # kafka-ui is still stopped, and status says so


def test_output_closed_early_is_not_an_error(lab_factory: Callable[..., Lab]) -> None:
    lab = lab_factory()
    lab.up(ui=False)
    env = {**os.environ, **lab.settings.compose_env()}
    reader = subprocess.run(
        ["bash", "-c", f"{sys.executable} -m kafkalab logs kafka | head -n 1 >/dev/null; echo ${{PIPESTATUS[0]}}"],
        env=env, capture_output=True, text=True, check=True,
    )
    assert reader.stdout == "0\n"
    assert "Error" not in reader.stderr, reader.stderr



def test_with_lab_that_fails_to_start_takes_down_what_it_started(lab_factory: Callable[..., Lab]) -> None:
    from kafkalab.errors import ReadinessTimeout

    lab = lab_factory(timeout=0.5)
    with pytest.raises(ReadinessTimeout), lab:
        pass
    assert lab.compose.containers() == []
