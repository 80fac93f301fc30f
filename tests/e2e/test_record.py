"""A lab is found by its name (issue 17): every command takes the lab's settings from its record;
the ports a mode derives are checked before anything starts; a killed `up` is no port conflict; a
lab made by kafkalab 0.1 (made here as 0.1 made it, from its compose file in git) keeps its data
and is seen as it is; `down --volumes` takes the record and the lock along. On the real test bed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner, Result

from kafkalab import Lab
from kafkalab.cli.main import cli
from kafkalab.errors import STATUS_NOT_RUNNING
from kafkalab.lab import state

pytestmark = pytest.mark.e2e
KAFKALAB = [sys.executable, "-m", "kafkalab"]
ROOT = Path(__file__).resolve().parents[2]
# The last commit of kafkalab 0.1's layout: no labels, broker 1's data in kafka-data in every mode.
# kafkalab 0.1's compose/cluster.yaml, as it was released (commit e9690ad): a plain clone needs no git history.
RELEASE_0_1_CLUSTER = Path(__file__).parent / "kafkalab-0.1" / "cluster.yaml"


def shell(project: str, **extra: str) -> dict[str, str]:
    """A user's shell that names the lab only: no port, no mode (the bed's images, as everywhere)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KAFKALAB_")}
    images = {k: v for k, v in os.environ.items() if k.startswith("KAFKALAB_IMAGE_") or k == "KAFKALAB_PULL"}
    return {**clean, **images, "KAFKALAB_PROJECT": project, **extra}


def kafkalab(env: dict[str, str], *args: str, stdin: str | None = None) -> Result:
    # CliRunner only adds to os.environ: unset what the shell does not have.
    unset: dict[str, str | None] = {k: None for k in os.environ if k.startswith("KAFKALAB_") and k not in env}
    return CliRunner().invoke(cli, list(args), env={**env, **unset}, input=stdin)


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True).stdout


# --- 1. a lab is found by its name ------------------------------------------------------------------


def test_every_command_finds_the_lab_by_its_name(lab_factory: Callable[..., Lab], bed: SimpleNamespace) -> None:
    project = lab_factory().settings.project
    port, ui_port = bed.free_port(), bed.free_port()
    env = shell(project)
    up = kafkalab(env, "--port", str(port), "--ui-port", str(ui_port), "up", "--no-ui")
    assert up.exit_code == 0, up.stderr

    # Before: connect printed localhost:9094, topic list said to start the lab, status exited 3.
    connect = kafkalab(env, "connect")
    assert f"KAFKA_BOOTSTRAP_SERVERS=localhost:{port}\n" in connect.stdout, connect.stdout
    assert kafkalab(env, "topic", "create", "orders").exit_code == 0
    listed = kafkalab(env, "topic", "list")
    assert listed.exit_code == 0 and "orders" in listed.stdout, listed.stderr
    status = kafkalab(env, "status", "--json")
    assert status.exit_code == 0, status.stderr
    assert f"127.0.0.1:{port}->9094/tcp" in json.loads(status.stdout)["services"][0]["ports"]
    doctor = kafkalab(env, "doctor", "--json")
    assert next(c for c in json.loads(doctor.stdout)["checks"] if c["check"] == "ports")["detail"] \
        .startswith(f"{port} (kafka) this lab's"), doctor.stdout
    logs = kafkalab(env, "logs", "kafka", "--tail", "3")
    assert logs.exit_code == 0 and logs.stdout, logs.stderr
    config = json.loads(kafkalab(env, "config", "--json").stdout)
    assert config["port"] == {"value": str(port), "source": "the lab's record"}
    lab = Lab(project=project)
    assert lab.bootstrap_servers == f"localhost:{port}" and lab.status().healthy
    # `up` again, with nothing given: the same lab.
    again = kafkalab(env, "up", "--no-ui")
    assert again.exit_code == 0 and "already running" in again.stderr, again.stderr

    # Another port given on purpose is still today's clear error.
    other = kafkalab(env, "--port", str(port + 1), "status")
    assert other.exit_code == 3
    assert other.stderr.splitlines()[0] == (
        f"Error: The lab {project} is already running with kafka on port {port}, not {port + 1}."
    )

    down = kafkalab(env, "down")
    assert down.exit_code == 0 and "Removed 1 container" in down.stderr, down.stderr
    assert kafkalab(env, "status").exit_code == STATUS_NOT_RUNNING
    # Started again with nothing given: on its own ports (its data kept), until `down --volumes`.
    restarted = kafkalab(env, "up", "--no-ui")
    assert restarted.exit_code == 0, restarted.stderr
    assert "orders" in kafkalab(env, "topic", "list").stdout
    assert kafkalab(env, "down").exit_code == 0
    # The lock and the record go with the lab's data.
    assert (state.state_dir() / f"{project}.lock").exists()
    assert kafkalab(env, "down", "--volumes", "--yes").exit_code == 0
    assert not (state.state_dir() / f"{project}.lock").exists()
    assert not (state.state_dir() / f"{project}.env").exists()
    assert bed.docker_leftovers(project) == []


# --- 2. ports a mode derives, before anything starts ----------------------------------------------


def test_ports_a_mode_derives_are_checked_before_anything_starts(lab_factory: Callable[..., Lab],
                                                                  bed: SimpleNamespace) -> None:
    project = lab_factory().settings.project
    port = bed.free_port()  # p, p + 1 and p + 2 are free: a cluster's brokers
    env = shell(project)
    collide = kafkalab(env, "--port", str(port), "--ui-port", str(port + 1), "up", "--mode", "cluster")
    assert collide.exit_code == 3, collide.stderr
    assert collide.stderr.splitlines()[0] == (
        f"Error: Port {port + 1} would be both kafka-2's (port + 1) and kafka-ui's (ui_port) in cluster mode."
    )
    overflow = kafkalab(env, "--port", "65534", "up", "--mode", "cluster")
    assert overflow.exit_code == 3, overflow.stderr
    assert overflow.stderr.splitlines() == [
        "Error: Port 65536 of kafka-3 (port + 2, in cluster mode) is not between 1 and 65535.",
        "Hint: In cluster mode the brokers use port, port + 1 and port + 2: choose a port of 65533 or lower (--port).",
    ]
    assert bed.docker_leftovers(project) == []


# --- 3. a killed `up` ----------------------------------------------------------------------------


def test_up_after_a_killed_up_carries_on_with_the_labs_own_containers(lab_factory: Callable[..., Lab],
                                                                      bed: SimpleNamespace) -> None:
    lab = lab_factory()
    s = lab.settings
    env = shell(s.project, KAFKALAB_PORT=str(s.port), KAFKALAB_UI_PORT=str(s.ui_port))
    first = subprocess.Popen([*KAFKALAB, "up", "--no-ui"], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    # Killed the moment Compose has made the broker's container (created, or starting).
    bed.wait_until(lambda: docker("ps", "-aq", "--filter", f"name={s.project}-kafka-1"), 120,
                   "the broker's container to be made")
    first.kill()
    first.wait()
    again = subprocess.run([*KAFKALAB, "up", "--no-ui"], env=env, capture_output=True, text=True, check=False)
    assert again.returncode == 0, again.stderr
    assert "already taken" not in again.stderr
    assert lab.status().healthy


# --- 4. a lab of kafkalab 0.1 ----------------------------------------------------------------------


def make_0_1_lab(project: str, port: int, ui_port: int, tmp_path: Path) -> dict[str, str]:
    """A cluster lab as kafkalab 0.1 made it: its compose file at compose/cluster.yaml, its settings in
    the environment and in its record (which named no mode), no labels. Returns its state."""
    legacy = tmp_path / "compose" / "cluster.yaml"
    legacy.parent.mkdir()
    legacy.write_text(RELEASE_0_1_CLUSTER.read_text())
    values = {
        "KAFKALAB_PROJECT": project, "KAFKALAB_PORT": str(port), "KAFKALAB_UI_PORT": str(ui_port),
        "KAFKALAB_ZOOKEEPER_PORT": "2181", "KAFKALAB_CLUSTER_NAME": "local", "KAFKALAB_PULL": "never",
        **{k: v for k, v in os.environ.items() if k.startswith("KAFKALAB_IMAGE_")},
        "KAFKALAB_PORT_2": str(port + 1), "KAFKALAB_PORT_3": str(port + 2),
    }
    subprocess.run(["docker", "compose", "-p", project, "-f", str(legacy), "up", "-d", "kafka", "kafka-2", "kafka-3"],
                   env={**os.environ, **values}, check=True, capture_output=True)
    state.write(project, values)
    return values


def test_a_cluster_lab_of_kafkalab_0_1_keeps_its_data_and_is_seen_as_it_is(
    lab_factory: Callable[..., Lab], bed: SimpleNamespace, tmp_path: Path,
) -> None:
    project = lab_factory().settings.project
    port = bed.free_port()  # p, p + 1 and p + 2 are free: a cluster's brokers
    make_0_1_lab(project, port, bed.free_port(), tmp_path)
    assert "dev.kafkalab" not in docker("inspect", f"{project}-kafka-1")
    env = shell(project)
    cluster = Lab(project=project, mode="cluster")
    cluster.wait_ready(180, ui=False)
    assert kafkalab(env, "topic", "create", "orders", "-p", "3", "-r", "3").exit_code == 0
    produced = kafkalab(env, "produce", "orders", "--acks", "all", stdin="a\nb\nc\n")
    assert produced.exit_code == 0, produced.stderr

    # connect: the lab's real network and mode, from its containers (before: `<project>`, kraft, 1 broker).
    found = json.loads(kafkalab(env, "connect", "--format", "json").stdout)
    assert (found["mode"], found["network"]["name"]) == ("cluster", f"{project}_default")
    assert found["bootstrap_servers"] == f"localhost:{port},localhost:{port + 1},localhost:{port + 2}"

    # `up` on it while it runs: already running, and the record written (mode, layout).
    up = kafkalab(env, "up", "--no-ui")
    assert up.exit_code == 0 and "already running" in up.stderr, up.stderr
    written = state.read(project)
    assert (written["KAFKALAB_MODE"], written["KAFKALAB_LAYOUT"]) == ("cluster", "0.1-cluster")
    docker("stop", f"{project}-kafka-1")
    listed = kafkalab(env, "topic", "list", "--json")  # the Kafka commands keep their way without broker 1
    assert listed.exit_code == 0, listed.stderr
    assert [t["name"] for t in json.loads(listed.stdout)] == ["orders"]

    # kraft (the default mode) never starts on the cluster's broker-1 data (before: "Invalid cluster.id").
    assert kafkalab(env, "down").exit_code == 0
    kraft = kafkalab(env, "up", "--no-ui")
    assert kraft.exit_code == 3, kraft.stderr
    assert kraft.stderr.splitlines() == [
        f"Error: The lab {project} keeps its cluster data of kafkalab 0.1 in the volume kafka-data, "
        "which kraft mode would start on.",
        "Hint: Use --mode cluster; or delete the lab's data first with `kafkalab down --volumes`; "
        "or give the new lab another --project-name.",
    ]
    assert docker("ps", "-aq", "--filter", f"label=com.docker.compose.project={project}") == ""

    # Upgraded: broker 1 starts on its own kafka-data, and the cluster has its data (before: kafka-2 crashed).
    up = kafkalab(env, "up", "--mode", "cluster", "--no-ui")
    assert up.exit_code == 0, up.stderr
    data = '{{range .Mounts}}{{if eq .Destination "/var/lib/kafka/data"}}{{.Name}}{{end}}{{end}}'
    assert docker("inspect", "-f", data, f"{project}-kafka-1").strip() == f"{project}_kafka-data"
    assert cluster.status().healthy
    consumed = kafkalab(env, "consume", "orders", "--from-beginning", "--timeout", "20")
    assert consumed.exit_code == 0, consumed.stderr
    assert sorted(consumed.stdout.split()) == ["a", "b", "c"]
    assert "dev.kafkalab.lab" in docker("inspect", f"{project}-kafka-1")
    # Now a lab of this kafkalab: its network by its name, its record still keeps 0.1's layout.
    found = json.loads(kafkalab(env, "connect", "--format", "json").stdout)
    assert (found["mode"], found["network"]["name"]) == ("cluster", project)
    assert state.read(project)["KAFKALAB_LAYOUT"] == "0.1-cluster"

    # Reset: everything of the lab goes, 0.1's volumes and network included; then kraft starts afresh.
    down = kafkalab(env, "down", "--volumes", "--yes")
    assert down.exit_code == 0 and "and 3 volumes" in down.stderr, down.stderr
    assert bed.docker_leftovers(project) == []
