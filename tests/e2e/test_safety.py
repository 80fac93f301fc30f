"""Safe on a real machine: kafkalab touches only what it created, each mode keeps its data, any
broker may fail, concurrent runs take turns, Ctrl-C says what it left, Docker's own failures are
typed, and `status` tells the truth. All on the real test bed."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from kafka_cli import IMAGES, cli_run, lab_env

from kafkalab import Lab
from kafkalab.cli.main import cli
from kafkalab.errors import STATUS_DEGRADED, STATUS_NOT_RUNNING, STATUS_STARTING

pytestmark = pytest.mark.e2e
KAFKALAB = [sys.executable, "-m", "kafkalab"]
ROOT = Path(__file__).resolve().parents[2]




def sh(*args: str) -> str:
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


# --- 1. ownership ---------------------------------------------------------------------------

USERS_COMPOSE = """\
services:
  kafka:  # the blog's service name, as a user's own stack would have it
    image: {image}
    user: root
    entrypoint: ["sh", "-c", "echo precious > /data/file && exec sleep infinity"]
    volumes:
      - kafka-data:/data
volumes:
  kafka-data:
"""


@pytest.mark.parametrize("file", ["docker-compose.yml", "compose/kraft.yaml"])  # the second: kafkalab 0.1's name
def test_a_users_compose_project_of_the_same_name_is_never_touched(file: str, lab_factory: Callable[..., Lab],
                                                                     tmp_path: Path, bed: SimpleNamespace) -> None:
    lab = lab_factory()
    project = lab.settings.project
    (tmp_path / file).parent.mkdir(exist_ok=True)
    (tmp_path / file).write_text(USERS_COMPOSE.format(image=os.environ["KAFKALAB_IMAGE_UI"]))
    users = ["docker", "compose", "-p", project, "-f", str(tmp_path / file)]
    subprocess.run([*users, "up", "-d", "--pull", "never"], check=True, capture_output=True)
    try:
        container = f"{project}-kafka-1"
        read = ["docker", "exec", container, "cat", "/data/file"]
        bed.wait_until(lambda: subprocess.run(read, capture_output=True, text=True, check=False).stdout, 30,
                       "the user's container to write its file")

        up = cli_run(lab, "up", "--no-ui")
        assert up.exit_code == 3, up.stderr
        assert up.stderr.splitlines() == [
            f"Error: A compose project named {project} exists that kafkalab did not create "
            f"(container {container}, volume {project}_kafka-data).",
            f"Hint: Give the lab another name with --project-name (or KAFKALAB_PROJECT); "
            f"kafkalab leaves {project} alone.",
        ]
        for args in (["down"], ["down", "--volumes", "--yes"]):
            down = cli_run(lab, *args)
            assert down.exit_code == 0, down.stderr
            assert "Left alone: container" in down.stderr
            assert sh("docker", "inspect", "-f", "{{.State.Status}}", container).strip() == "running"
            assert sh("docker", "exec", container, "cat", "/data/file") == "precious\n"
            assert sh("docker", "volume", "ls", "-q", "--filter", f"name={project}_kafka-data").strip()
    finally:
        subprocess.run([*users, "down", "--volumes"], check=True, capture_output=True)


def test_a_lab_of_an_earlier_version_without_labels_is_still_managed(lab_factory: Callable[..., Lab],
                                                                        tmp_path: Path, bed: SimpleNamespace) -> None:
    """kafkalab 0.1 labelled nothing: its compose file (this one, without the labels) and its state."""
    lab = lab_factory()
    legacy = tmp_path / "compose" / "kraft.yaml"
    legacy.parent.mkdir()
    text = (ROOT / "compose" / "kraft.yaml").read_text()
    kept = [line for line in text.splitlines() if line.strip() != "labels: *lab"]
    legacy.write_text("\n".join(kept).split("\nnetworks:")[0] + "\nvolumes:\n  kafka-data:\n")
    env = {**lab_env(lab), **lab.settings.compose_env()}
    subprocess.run(["docker", "compose", "-p", lab.settings.project, "-f", str(legacy), "up", "-d", "kafka"],
                   check=True, capture_output=True, env=env)
    # What kafkalab 0.1 wrote when it started a lab: the project's env file in its state directory.
    from kafkalab.lab import state

    # It named no mode (later records do): today's compose variables, less the mode.
    state.write(lab.settings.project, {k: v for k, v in lab.settings.compose_env().items() if k != "KAFKALAB_MODE"})
    assert 'dev.kafkalab' not in sh("docker", "inspect", f"{lab.settings.project}-kafka-1")
    lab.wait_ready(120, ui=False)

    status = cli_run(lab, "status", "--json")
    assert [s["service"] for s in json.loads(status.stdout)["services"]] == ["kafka"], status.stderr
    assert cli_run(lab, "down").exit_code == 0
    assert sh("docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={lab.settings.project}") == ""
    assert sh("docker", "volume", "ls", "-q", "--filter", f"name={lab.settings.project}_kafka-data").strip()
    down = cli_run(lab, "down", "--volumes", "--yes")
    assert down.exit_code == 0 and "and 1 volume" in down.stderr, down.stderr
    assert bed.docker_leftovers(lab.settings.project) == []


# --- 2 and 3. each mode its own data; a cluster survives any broker ---------------------------------


def test_modes_keep_their_data_and_a_cluster_survives_its_first_broker(lab_factory: Callable[..., Lab]) -> None:
    lab = lab_factory()
    assert cli_run(lab, "up", "--no-ui").exit_code == 0
    assert lab.create_topic("kraft-only")
    assert cli_run(lab, "down").exit_code == 0

    # Another mode after `down` with the data kept: healthy, and no reset asked of the user.
    up = cli_run(lab, "up", "--mode", "cluster", "--no-ui")
    assert up.exit_code == 0, up.stderr
    cluster = Lab(lab.settings.replace(mode="cluster"))
    assert cluster.status().healthy
    assert "kraft-only" not in cluster.admin().list_topics(timeout=10).topics
    assert cli_run(lab, "topic", "create", "orders", "-p", "3", "-r", "3").exit_code == 0

    subprocess.run(["docker", "stop", f"{lab.settings.project}-kafka-1"], check=True, capture_output=True)
    # No mode given: the Kafka commands learn it from kafkalab's record of the lab, and bootstrap from all brokers.
    listed = cli_run(lab, "topic", "list", "--json")
    assert listed.exit_code == 0, listed.stderr
    assert [t["name"] for t in json.loads(listed.stdout)] == ["orders"]
    produced = CliRunner().invoke(cli, ["produce", "orders", "--acks", "all"], input="a\nb\nc\n", env=lab_env(lab))
    assert produced.exit_code == 0, produced.stderr
    consumed = cli_run(lab, "consume", "orders", "--from-beginning", "--timeout", "20")
    assert consumed.exit_code == 0, consumed.stderr
    assert sorted(consumed.stdout.split()) == ["a", "b", "c"]
    status = cli_run(lab, "status")
    assert status.exit_code == STATUS_DEGRADED
    assert "✘ kafka is exited" in status.stdout
    assert cluster.producer(acks="all").list_topics(timeout=10).brokers  # Lab's clients too

    assert cli_run(lab, "down").exit_code == 0
    assert cli_run(lab, "up", "--no-ui").exit_code == 0
    assert "kraft-only" in lab.admin().list_topics(timeout=10).topics


# --- 4. concurrent up ---------------------------------------------------------------------------


def test_four_concurrent_ups_make_one_lab(lab_factory: Callable[..., Lab]) -> None:
    lab = lab_factory()
    env = lab_env(lab)
    began = time.monotonic()
    runs = [subprocess.Popen([*KAFKALAB, "up", "--no-ui"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for _ in range(4)]
    outcomes = [(run.wait(180), run.stderr.read() if run.stderr else "") for run in runs]
    wall = time.monotonic() - began
    assert [code for code, _ in outcomes] == [0, 0, 0, 0], outcomes
    print(f"\n4 concurrent `kafkalab up --no-ui`: {wall:.1f} s wall")
    ids = sh("docker", "ps", "-aq", "--filter", f"label=dev.kafkalab.lab={lab.settings.project}").split()
    assert len(ids) == 1
    assert sum("already running" in err for _, err in outcomes) == 3
    assert lab.status().state == "healthy"


# --- 5. Ctrl-C during up ---------------------------------------------------------------------


# Put on the child's PYTHONPATH for the Ctrl-C "while Python starts": the import of kafkalab.cli.main (the
# first thing kafkalab imports once its console script runs) says so in a file and stalls there, so the
# Ctrl-C lands in that phase every time instead of after a guessed delay.
STALL_IMPORT = """\
import os
import sys
import time


class _Stall:
    def find_spec(self, name, path=None, target=None):
        if name == "kafkalab.cli.main":
            sys.meta_path.remove(self)
            open(os.environ["KLTESTS_STALL_MARK"], "w").close()
            time.sleep(60)
        return None


sys.meta_path.insert(0, _Stall())
"""


def interrupt_up(env: dict[str, str], after: bytes | None, stall: Path | None = None,
                 timeout: float = 120) -> tuple[int, str]:
    """`kafkalab up` on a terminal; Ctrl-C (SIGINT to its process group, as a terminal sends it)
    once `after` shows on screen, or, when after is None, once the child stalls in its imports
    (STALL_IMPORT, written into the directory `stall`)."""
    mark = None
    if after is None:
        assert stall is not None
        (stall / "sitecustomize.py").write_text(STALL_IMPORT)
        mark = stall / "stalled"
        env = {**env, "KLTESTS_STALL_MARK": str(mark),
               "PYTHONPATH": os.pathsep.join(p for p in (str(stall), env.get("PYTHONPATH", "")) if p)}
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(sys.executable, [*KAFKALAB, "up", "--no-ui"], env)
    seen = b""
    if mark is not None:
        deadline = time.monotonic() + 30
        while not mark.exists():
            if time.monotonic() > deadline:
                os.killpg(pid, signal.SIGKILL)
                pytest.fail("kafkalab up never reached the import of kafkalab.cli.main")
            time.sleep(0.005)
        os.killpg(pid, signal.SIGINT)
    deadline = time.monotonic() + timeout
    while True:
        ready, _, _ = select.select([fd], [], [], max(deadline - time.monotonic(), 0))
        if not ready:
            os.killpg(pid, signal.SIGKILL)
            pytest.fail(f"kafkalab up ran over {timeout:g} s: {seen[-2000:]!r}")
        try:
            chunk = os.read(fd, 1024)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
        if after is not None and after in seen:
            os.killpg(pid, signal.SIGINT)
            after = None
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), seen.decode(errors="replace")


STARTING = [
    "Error: Interrupted while the lab's containers were starting.",
    "Hint: Containers may be starting: run `kafkalab up` again to wait for them, or `kafkalab down` to stop them.",
]


# Each moment's two lines name the phase it hit: a Ctrl-C that lands in another phase fails the test.
@pytest.mark.parametrize(("moment", "after", "said"), [
    ("while Python starts", None,
     ["Error: Interrupted before kafkalab began its work.", "Hint: Nothing was started."]),
    ("while the containers start", b"Starting containers", STARTING),
    ("while it waits for the broker", b"Waiting for the broker", STARTING),
])
def test_ctrl_c_during_up(moment: str, after: bytes | None, said: list[str], lab_factory: Callable[..., Lab],
                          bed: SimpleNamespace, tmp_path: Path) -> None:
    lab = lab_factory()
    env = {**lab_env(lab), "TERM": "xterm-256color"}
    code, seen = interrupt_up(env, after, stall=tmp_path)
    assert code == 130, seen
    assert "Traceback" not in seen, seen
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", seen)  # the terminal's colours and cursor moves
    assert shown.replace("\r", "").rstrip().splitlines()[-2:] == said, seen
    project = lab.settings.project
    if after is None:
        assert bed.docker_leftovers(project) == []
    # status tells the truth: what docker has, and healthy only if the broker answers.
    status = cli_run(lab, "status", "--json")
    data = json.loads(status.stdout)
    assert sorted(s["container"] for s in data["services"]) == sorted(
        c.name for c in lab.compose.containers()
    )
    assert status.exit_code in (0, STATUS_NOT_RUNNING, STATUS_DEGRADED, STATUS_STARTING)
    up = cli_run(lab, "up", "--no-ui")  # the next up recovers
    assert up.exit_code == 0, up.stderr
    assert lab.status().healthy
    assert cli_run(lab, "down", "--volumes", "--yes").exit_code == 0
    assert bed.docker_leftovers(project) == []


# --- 6. Docker's errors, as Docker really says them ------------------------------------------------------


def test_a_user_without_access_to_the_docker_socket() -> None:
    """For real: a user outside the docker group, running kafkalab with the system's Python (this
    venv's lives under root's home, which other users cannot enter), on a copy of what `status` loads."""
    import click
    import rich

    import kafkalab

    user = "kafkalab-nodocker"
    if subprocess.run(["id", user], capture_output=True, check=False).returncode != 0:
        subprocess.run(["useradd", "--no-create-home", "--shell", "/bin/sh", user], check=True, capture_output=True)
    home = Path(tempfile.mkdtemp(prefix="kafkalab-nodocker-"))  # pytest's tmp_path is root's alone
    try:
        lib = home / "lib"
        for package in (kafkalab, click, rich):
            source = Path(package.__file__).parent
            shutil.copytree(source, lib / source.name, ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(ROOT / "compose", lib / "kafkalab" / "compose")
        home.chmod(0o755)
        env = {"PATH": os.environ["PATH"], "HOME": str(home), "PYTHONPATH": str(lib), **IMAGES}
        python = "/usr/bin/python3"  # Debian's, on every machine of this kind
        done = subprocess.run(["runuser", "-u", user, "--", python, "-m", "kafkalab", "status"], env=env,
                              capture_output=True, text=True, check=False, cwd=home)
    finally:
        shutil.rmtree(home)
    assert done.returncode == 5, done.stderr
    first, second = done.stderr.splitlines()
    assert first.startswith("Error: This user may not use the Docker daemon: permission denied"), first
    assert "docker group" in second and "rootless Docker" in second and "DOCKER_HOST" in second


def test_an_unwritable_home_still_works(lab_factory: Callable[..., Lab], bed: SimpleNamespace) -> None:
    lab = lab_factory()
    env = {**lab_env(lab), "HOME": "/proc/kafkalab-no-home", "XDG_CACHE_HOME": ""}  # not even root can make it
    up = subprocess.run([*KAFKALAB, "up", "--no-ui", "--no-wait"], env=env, capture_output=True, text=True,
                        check=False)
    assert up.returncode == 0, up.stderr
    down = subprocess.run([*KAFKALAB, "down", "--volumes", "--yes"], env=env, capture_output=True, text=True,
                          check=False)
    assert down.returncode == 0, down.stderr
    assert bed.docker_leftovers(lab.settings.project) == []


def test_a_taken_zookeeper_port_names_a_flag_that_exists(lab_factory: Callable[..., Lab]) -> None:
    lab = lab_factory(mode="zookeeper")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        up = cli_run(lab, "--zookeeper-port", str(port), "up", "--mode", "zookeeper")
    assert up.exit_code == 7, up.stderr
    assert up.stderr.splitlines() == [
        f"Error: Port {port} (zookeeper) on 127.0.0.1 is already taken by another program.",
        "Hint: Stop it, or choose another port with --zookeeper-port.",
    ]


# --- 8. status always tells the truth ------------------------------------------------------------


def test_status_of_another_labs_port_refuses(shared_lab: Lab, spare_port: int) -> None:
    status = cli_run(shared_lab, "--port", str(spare_port), "status")
    assert status.exit_code == 3, status.stdout
    assert status.stderr.splitlines()[0] == (
        f"Error: The lab {shared_lab.settings.project} is already running with kafka on port {shared_lab.settings.port}, "
        f"not {spare_port}."
    )


def status_through_a_closed_pipe(lab: Lab) -> int:
    """`kafkalab status | head -1`, with the reader gone before kafkalab writes: its exit code."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run([*KAFKALAB, "status"], env=lab_env(lab), stdout=write, stderr=subprocess.DEVNULL,
                              check=False).returncode
    finally:
        os.close(write)


def test_status_of_a_paused_and_of_a_stopped_lab(lab_factory: Callable[..., Lab]) -> None:
    lab = lab_factory()
    assert cli_run(lab, "up", "--no-ui").exit_code == 0
    assert status_through_a_closed_pipe(lab) == 0
    kafka = f"{lab.settings.project}-kafka-1"

    sh("docker", "pause", kafka)
    status = cli_run(lab, "status")
    assert status.exit_code == STATUS_DEGRADED
    assert f"Hint: Unpause: `docker unpause {kafka}` (`kafkalab up` does it too)." in status.stdout
    assert "✘ kafka is paused" in status.stdout
    assert status_through_a_closed_pipe(lab) == STATUS_DEGRADED
    began = time.monotonic()
    up = cli_run(lab, "up", "--no-ui", "--timeout", "30")
    assert up.exit_code == 0, up.stderr
    assert f"Unpaused {kafka}: it was paused." in up.stderr
    assert time.monotonic() - began < 15  # not the timeout: it unpaused and found the broker
    assert "down --volumes" not in up.stderr

    sh("docker", "stop", kafka)  # as after a reboot: every container of the lab stopped
    status = cli_run(lab, "status")
    assert status.exit_code == STATUS_NOT_RUNNING
    assert status.stdout.startswith(f"Lab {lab.settings.project} (kraft): stopped")
    assert "Hint: `kafkalab up` (with this lab's options) starts what stopped" in status.stdout
    assert status_through_a_closed_pipe(lab) == STATUS_NOT_RUNNING


# --- anonymous volumes: the public images declare folders the lab maps to nothing -------------


def all_volumes() -> set[str]:
    """Every volume on the machine, the lab's or not, labelled or not."""
    return set(sh("docker", "volume", "ls", "-q").split())


def unmapped_volumes(lab: Lab) -> dict[str, dict[str, str]]:
    """For each of the lab's containers (by service), the volumes mounted that are not the lab's own
    (labelled) ones: {folder: volume}. Those Docker made for its image's VOLUMEs the lab maps to nothing."""
    project = lab.settings.project
    named = set(sh("docker", "volume", "ls", "-q", "--filter", f"label=dev.kafkalab.lab={project}").split())
    found = {}
    for line in sh("docker", "ps", "-q", "--filter", f"label=dev.kafkalab.lab={project}").split():
        service, mounts = sh("docker", "inspect", "-f", '{{index .Config.Labels "com.docker.compose.service"}}'
                             "\t{{json .Mounts}}", line).split("\t")
        found[service] = {m["Destination"]: m["Name"] for m in json.loads(mounts)
                          if m["Type"] == "volume" and m["Name"] not in named}
    return found


# The folders the public images declare as volumes and the lab's compose files map to nothing.
@pytest.mark.parametrize(("mode", "unmapped"), [
    ("kraft", {"kafka": ["/etc/kafka/secrets", "/mnt/shared/config"]}),  # apache/kafka
    ("zookeeper", {"kafka": ["/etc/kafka/secrets"], "zookeeper": ["/etc/zookeeper/secrets"]}),  # cp-kafka, cp-zookeeper
])
def test_down_removes_the_anonymous_volumes_and_keeps_the_named_ones(
        mode: str, unmapped: dict[str, list[str]], lab_factory: Callable[..., Lab]) -> None:
    lab = lab_factory(mode=mode)
    project = lab.settings.project
    named: set[str] = set()
    for cycle in ("up", "recreated"):
        up = cli_run(lab, "up", "--mode", mode, "--no-ui")
        assert up.exit_code == 0, up.stderr
        if cycle == "recreated":
            # A stopped lab started with other settings: Compose makes kafka anew, and mounts the
            # anonymous volumes of the one it replaces by name, which `docker rm -v` then keeps.
            kafka = f"{project}-kafka-1"
            old_id, old_volumes = sh("docker", "inspect", "-f", "{{.Id}}", kafka), unmapped_volumes(lab)["kafka"]
            sh("docker", "stop", kafka)
            up = cli_run(lab, "up", "--mode", mode, "--no-ui", KAFKALAB_KAFKA_HEAP="-Xmx320M -Xms320M")
            assert up.exit_code == 0, up.stderr
            assert sh("docker", "inspect", "-f", "{{.Id}}", kafka) != old_id
            assert unmapped_volumes(lab)["kafka"] == old_volumes  # carried over: none orphaned by `up`
        anonymous = unmapped_volumes(lab)
        assert {service: sorted(folders) for service, folders in anonymous.items() if folders} == unmapped
        lab_volumes = set(sh("docker", "volume", "ls", "-q", "--filter", f"label=dev.kafkalab.lab={project}").split())
        assert lab_volumes and (not named or lab_volumes == named)
        named = lab_volumes

        down = cli_run(lab, "down")
        assert down.exit_code == 0, down.stderr
        left = all_volumes()
        assert {v for folders in anonymous.values() for v in folders.values()} & left == set(), cycle
        assert named <= left, cycle  # the lab's data stays without --volumes

    down = cli_run(lab, "down", "--volumes", "--yes")
    assert down.exit_code == 0, down.stderr
    assert named & all_volumes() == set()


# --- 11. soak ------------------------------------------------------------------------------


def test_soak_twenty_up_down_cycles_leave_nothing(lab_factory: Callable[..., Lab], bed: SimpleNamespace) -> None:
    # Every volume on the machine, not only the labelled ones: Docker labels none of those it makes
    # for an image's VOLUMEs. (`make test` runs this alone: nothing else makes volumes meanwhile.)
    volumes_before = all_volumes()
    lab = lab_factory()
    ups = []
    for cycle in range(20):
        began = time.monotonic()
        result = lab.up(ui=False)
        ups.append(time.monotonic() - began)
        assert result.status.healthy, (cycle, result.status)
        lab.down(volumes=cycle % 2 == 1)
        assert lab.compose.containers() == []
    assert bed.docker_leftovers(lab.settings.project) == []
    assert all_volumes() - volumes_before == set()
    print(f"\nsoak: 20 up/down cycles, up median {statistics.median(ups):.2f} s, max {max(ups):.2f} s")
