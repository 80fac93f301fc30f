"""The lab's record (kafkalab.lab.state) and what the commands take from it (Settings.with_record), the
ports a mode derives, and the volume layout of labs of kafkalab 0.1: logic Docker cannot fail for real."""

from __future__ import annotations

import json
import multiprocessing
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from kafkalab.cli.main import cli
from kafkalab.docker.compose import Compose
from kafkalab.errors import ConfigError, PortInUse
from kafkalab.lab import state
from kafkalab.lab.modes import legacy_mode
from kafkalab.settings import Settings, resolve


def recorded(project: str = "orders", **values: str) -> None:
    """What `kafkalab --port 19094 up --mode cluster` leaves, or other settings."""
    settings = Settings(project=project, mode="cluster", port=19094, ui_port=18080)
    state.write(project, {**settings.compose_env(), "KAFKALAB_MODE": settings.mode, **values})


# --- the record's settings -----------------------------------------------------------------------


def test_every_command_on_the_lab_takes_its_ports_and_mode_from_its_record(state_dir: Path) -> None:
    recorded()
    s = resolve({"project": "orders"}, env={}, cwd=Path("/")).with_record()
    assert (s.mode, s.port, s.ui_port, s.network) == ("cluster", 19094, 18080, "orders")
    assert s.lab_bootstrap == "localhost:19094,localhost:19095,localhost:19096"
    assert s.sources["port"] == s.sources["mode"] == "the lab's record"

    connect = CliRunner().invoke(cli, ["-p", "orders", "connect"], env={})
    assert "KAFKA_BOOTSTRAP_SERVERS=localhost:19094,localhost:19095,localhost:19096\n" in connect.stdout
    config = CliRunner().invoke(cli, ["-p", "orders", "config", "--json"], env={})
    assert json.loads(config.stdout)["port"] == {"value": "19094", "source": "the lab's record"}


def test_what_is_given_on_purpose_wins_over_the_record(state_dir: Path) -> None:
    recorded()
    s = resolve({"project": "orders", "port": 29094}, env={"KAFKALAB_MODE": "kraft"}, cwd=Path("/")).with_record()
    assert (s.port, s.mode, s.ui_port) == (29094, "kraft", 18080)
    assert (s.sources["port"], s.sources["mode"], s.sources["ui_port"]) == ("flag", "env KAFKALAB_MODE",
                                                                             "the lab's record")
    # A record written since is read again: its values were never given on purpose.
    recorded(KAFKALAB_UI_PORT="18090")
    assert s.with_record().ui_port == 18090


def test_a_bad_value_in_the_record_names_the_file(state_dir: Path) -> None:
    recorded(KAFKALAB_MODE="kraft2")
    with pytest.raises(ConfigError) as caught:
        resolve({"project": "orders"}, env={}, cwd=Path("/")).with_record()
    assert str(state_dir / "orders.env") in caught.value.message


# --- ports a mode derives ------------------------------------------------------------------------


def test_every_port_a_cluster_derives_is_checked_against_65535() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings(mode="cluster", port=65534).check_ports()
    assert caught.value.message == (
        "Port 65536 of kafka-3 (port + 2, in cluster mode) is not between 1 and 65535."
    )
    assert caught.value.hint == ("In cluster mode the brokers use port, port + 1 and port + 2: "
                                 "choose a port of 65533 or lower (--port).")
    Settings(mode="cluster", port=65533).check_ports()
    Settings(mode="kraft", port=65535).check_ports()


def test_a_modes_own_ports_must_not_collide() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings(mode="cluster", port=29098, ui_port=29099).check_ports()
    assert caught.value.message == "Port 29099 would be both kafka-2's (port + 1) and kafka-ui's (ui_port) in cluster mode."
    assert caught.value.hint == ("Give port and ui_port ports that do not overlap: in cluster mode the brokers "
                                 "use port, port + 1 and port + 2.")
    with pytest.raises(ConfigError, match="both zookeeper's \\(zookeeper_port\\) and kafka's \\(port\\)"):
        Settings(mode="zookeeper", port=2181, zookeeper_port=2181).check_ports()
    Settings(mode="kraft", port=29099, ui_port=29100).check_ports()


def test_up_refuses_colliding_ports_before_asking_docker(state_dir: Path) -> None:
    result = CliRunner().invoke(cli, ["-p", "orders", "--port", "29098", "--ui-port", "29099", "up", "--mode",
                                      "cluster"], env={"PATH": "/nonexistent"})  # no docker: it is never asked
    assert result.exit_code == 3, result.stderr
    assert result.stderr.splitlines()[0] == (
        "Error: Port 29099 would be both kafka-2's (port + 1) and kafka-ui's (ui_port) in cluster mode."
    )
    overflow = CliRunner().invoke(cli, ["-p", "orders", "--port", "65534", "up", "--mode", "cluster"],
                                  env={"PATH": "/nonexistent"})
    assert overflow.exit_code == 3, overflow.stderr
    assert overflow.stderr.splitlines()[0] == (
        "Error: Port 65536 of kafka-3 (port + 2, in cluster mode) is not between 1 and 65535."
    )


# --- the lab's own containers are no port conflict ----------------------------------------------


def test_a_port_the_labs_own_container_holds_is_no_conflict(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    compose = Compose(Settings(project="orders"))
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        monkeypatch.setattr(compose, "publishers", lambda _port: ["orders-kafka-1"])
        compose.check_ports({"kafka": port}, own={"orders-kafka-1", "orders-kafka-ui-1"})
        with pytest.raises(PortInUse, match="taken by container orders-kafka-1"):
            compose.check_ports({"kafka": port})
        monkeypatch.setattr(compose, "publishers", lambda _port: ["other-kafka-1"])
        with pytest.raises(PortInUse, match="taken by container other-kafka-1"):
            compose.check_ports({"kafka": port}, own={"orders-kafka-1"})


def test_a_port_no_container_publishes_is_no_conflict_while_the_labs_container_of_it_starts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A killed `up`'s Compose starts the lab's created container: it binds the port before `docker ps` lists it."""
    import socket

    compose = Compose(Settings(project="orders"))
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        monkeypatch.setattr(compose, "publishers", lambda _port: [])
        compose.check_ports({"kafka": port}, own={"orders-kafka-1"}, starting={"kafka"})
        with pytest.raises(PortInUse, match="taken by another program"):
            compose.check_ports({"kafka": port}, own={"orders-kafka-1"}, starting={"kafka-ui"})
        monkeypatch.setattr(compose, "publishers", lambda _port: ["other-kafka-1"])
        with pytest.raises(PortInUse, match="taken by container other-kafka-1"):
            compose.check_ports({"kafka": port}, own={"orders-kafka-1"}, starting={"kafka"})


# --- layouts of kafkalab 0.1 -------------------------------------------------------------------


def test_the_mode_of_a_0_1_labs_kafka_data_is_told_by_its_volumes() -> None:
    assert legacy_mode({"kafka-data", "kafka-2-data", "kafka-3-data"}) == "cluster"
    assert legacy_mode({"kafka-data", "zookeeper-data", "zookeeper-log"}) == "zookeeper"
    assert legacy_mode({"kafka-data"}) == "kraft"
    assert legacy_mode({"kafka-2-data"}) is None


def test_a_record_keeps_a_0_1_labs_layout_and_its_legacy(state_dir: Path) -> None:
    # kafkalab 0.1's: no mode (the compose files of the optional services read KAFKALAB_MODE since)
    state.write("old", {k: v for k, v in Settings(project="old").compose_env().items() if k != "KAFKALAB_MODE"})
    assert state.legacy("old") and state.layout("old") == ""
    recorded("old", KAFKALAB_LAYOUT="0.1-cluster")
    assert state.legacy("old") and state.layout("old") == "0.1-cluster"
    recorded("new")  # a record of the per-mode layout, before the layout was recorded
    assert not state.legacy("new") and state.layout("new") == "per-mode"


def test_the_legacy_file_gives_broker_1_its_0_1_volume(state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    compose = Compose(Settings(project="old", mode="cluster"))
    monkeypatch.setattr(compose, "_run", lambda _action: None)
    compose.up(["kafka"], layout="0.1-cluster")
    assert [Path(f).name for f in compose.files] == ["cluster.yaml", "legacy-kafka-data.yaml"]
    assert state.read("old")["KAFKALAB_LAYOUT"] == "0.1-cluster"
    other = Compose(Settings(project="old", mode="zookeeper"))
    monkeypatch.setattr(other, "_run", lambda _action: None)
    other.up(["kafka"], layout="0.1-cluster")  # another mode: its own volumes
    assert [Path(f).name for f in other.files] == ["zookeeper.yaml"]


# --- the record on disk ---------------------------------------------------------------------------


def _write_many(directory: str, rounds: int) -> None:
    state._found[:] = [Path(directory)]
    for n in range(rounds):
        state.write("orders", {f"KAFKALAB_K{i}": str(n) * 200 for i in range(50)})


def test_a_record_is_written_whole_or_not_at_all(state_dir: Path) -> None:
    writer = multiprocessing.get_context("fork").Process(target=_write_many, args=(str(state_dir), 300))
    writer.start()
    seen = 0
    try:
        while writer.is_alive() or not seen:
            values = state.read("orders")
            if values:
                assert len(values) == 50 and len(set(values.values())) == 1, "a part of a record was read"
                seen += 1
    finally:
        writer.join(30)
    assert seen and writer.exitcode == 0
    assert sorted(p.name for p in state_dir.iterdir()) == ["orders.env"]  # no temporary file left


@pytest.mark.parametrize(("content", "why"), [
    (b"KAFKALAB_PORT=9094\ngarbage\n", "line 2 is not a KAFKALAB_NAME=VALUE line"),
    (b"KAFKALAB_PORT=\xff\n", "it is not UTF-8 text"),
])
def test_a_record_that_cannot_be_read_is_a_clear_error(state_dir: Path, content: bytes, why: str) -> None:
    (state_dir / "orders.env").write_bytes(content)
    result = CliRunner().invoke(cli, ["-p", "orders", "connect"], env={})
    assert result.exit_code == 3
    assert result.stderr.splitlines() == [
        f"Error: kafkalab's record of a lab cannot be read: {state_dir / 'orders.env'}: {why}.",
        f"Hint: Remove {state_dir / 'orders.env'}: the next `kafkalab up` writes it anew (give that `up` the "
        "lab's settings).",
    ]


def test_a_record_that_is_a_directory_is_a_clear_error(state_dir: Path) -> None:
    (state_dir / "orders.env").mkdir()
    with pytest.raises(ConfigError, match=r"orders\.env: Is a directory"):
        state.read("orders")


# --- the fallback state folder --------------------------------------------------------------------


@pytest.fixture
def no_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME cannot be written: the state goes to kafkalab-<uid> in this test's temporary directory."""
    monkeypatch.setattr(state, "_found", [])
    monkeypatch.setenv("XDG_CACHE_HOME", "/proc/kafkalab-no-home")
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(tmp_path))
    return tmp_path / f"kafkalab-{os.getuid()}"


def test_the_fallback_folder_is_made_private(no_home: Path) -> None:
    old = os.umask(0)
    try:
        assert state.state_dir() == no_home
    finally:
        os.umask(old)
    assert stat.S_IMODE(no_home.stat().st_mode) == 0o700


def test_a_fallback_folder_of_ours_is_made_private_again(no_home: Path) -> None:
    no_home.mkdir()
    no_home.chmod(0o777)
    assert state.state_dir() == no_home
    assert stat.S_IMODE(no_home.stat().st_mode) == 0o700


def test_a_symlink_planted_as_the_fallback_folder_is_refused(no_home: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    no_home.symlink_to(elsewhere)
    with pytest.raises(ConfigError) as caught:
        state.state_dir()
    assert caught.value.message == (
        f"kafkalab cannot keep its state in {no_home}: it is a symlink (/proc/kafkalab-no-home/kafkalab cannot "
        "be written)."
    )
    assert "XDG_CACHE_HOME" in (caught.value.hint or "")
    assert list(elsewhere.iterdir()) == []


def test_a_file_as_the_fallback_folder_is_refused(no_home: Path) -> None:
    no_home.write_text("")
    with pytest.raises(ConfigError, match="it is not a directory"):
        state.state_dir()


def test_a_fallback_folder_of_another_user_is_refused(no_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    uid = os.getuid()
    (no_home.parent / f"kafkalab-{uid + 1}").mkdir(mode=0o700)  # this user's folder, as the next user finds it
    monkeypatch.setattr(os, "getuid", lambda: uid + 1)
    with pytest.raises(ConfigError, match=f"it belongs to another user \\(uid {uid}\\)"):
        state.state_dir()


# --- the lock ---------------------------------------------------------------------------------------


def _hold(directory: str, project: str, opened: Any, began: Any, until: Any) -> None:
    state._found[:] = [Path(directory)]
    with state.lock(project, on_wait=opened.set):  # on_wait: it opened the file, and waits
        began.set()
        until.wait(30)


def test_the_lock_goes_with_the_lab_and_a_waiter_locks_the_file_that_is_there(state_dir: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    with state.lock("orders"):
        recorded()
        # Another process opens the lock file now, and waits for it.
        opened, began, until = ctx.Event(), ctx.Event(), ctx.Event()
        waiter = ctx.Process(target=_hold, args=(str(state_dir), "orders", opened, began, until))
        waiter.start()
        assert opened.wait(10), "the waiter never waited"
        state.forget("orders")  # `down --volumes`: the record and the lock file go, while held
        assert not (state_dir / "orders.env").exists() and not (state_dir / "orders.lock").exists()
    assert began.wait(10), "the waiter never took the lock"
    # It holds the lock on the file that is at the path now, not on the one removed: this process waits.
    assert (state_dir / "orders.lock").exists()
    import fcntl

    with open(state_dir / "orders.lock", "a") as handle, pytest.raises(BlockingIOError):
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    until.set()
    waiter.join(10)
    assert waiter.exitcode == 0


def test_the_record_keeps_the_brokers_jvm_settings(state_dir: Path) -> None:
    from kafkalab.docker.compose import Compose

    Compose(Settings(project="orders", kafka_heap="-Xmx300M", kafka_jvm_opts="")).remember((), state.PER_MODE)
    found = state.read("orders")
    assert (found["KAFKALAB_KAFKA_HEAP"], found["KAFKALAB_KAFKA_JVM_OPTS"]) == ("-Xmx300M", "")
    assert found["KAFKALAB_CLUSTER_ID"] == "a2Fma2FsYWItbG9jYWwtMQ"
    assert found["KAFKALAB_KAFKA_JMX_OPTS"].startswith("-Dcom.sun.management.jmxremote")
