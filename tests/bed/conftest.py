"""Shared helpers for the tests of the test bed itself (tests/bed/test_bed.py).

They drive `docker compose` with subprocess, independent of kafkalab's CLI and package. Every
compose call gets the variables of tests/bed/images.env (local images, KAFKALAB_PULL=never), host
ports in 29000-29999 and a project name starting with `kltbed`; `up`/`create`/`run` also get
`--pull never`: no registry exists on the bed's machines, so an image can never be pulled.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any, TypeVar

import envfile
import pytest

T = TypeVar("T")

BED = Path(__file__).resolve().parent
ROOT = BED.parents[1]
COMPOSE_DIR = ROOT / "compose"
IMAGES_ENV = BED / "images.env"
PORT_RANGE = range(29000, 30000)
PULL_COMMANDS = {"up", "create", "run"}  # the compose commands that take --pull

# A silent logger for librdkafka (pass as `logger`), so connection refusals while a broker starts
# don't spam stderr.
SILENT = logging.getLogger("kltbed.silent")
SILENT.addHandler(logging.NullHandler())
SILENT.propagate = False
SILENT.setLevel(logging.CRITICAL + 1)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "bed: tests of the test bed itself (Docker, local images, compose files)")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the item, so the compose fixture knows a test failed."""
    report = yield
    setattr(item, f"bed_rep_{report.when}", report)
    return report


def read_images_env(path: Path = IMAGES_ENV) -> dict[str, str]:
    """KEY=VALUE lines of images.env (comments and blank lines skipped, no shell expansion)."""
    return envfile.read(path)


def wait_until(
    fn: Callable[[], T],
    timeout: float,
    what: str = "condition",
    until: Callable[[T], object] = bool,
    interval: float = 0.1,
) -> T:
    """Call fn until until(its result) is true and return that result; fail after `timeout` s.

    Exceptions from fn count as "not yet"; the last result or exception is named in the failure.
    """
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            result = fn()
        except Exception as exc:  # polling: any failure means "not yet"
            last = f"{type(exc).__name__}: {exc}"
        else:
            if until(result):
                return result
            last = result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what} (last: {last!r})")
        time.sleep(interval)


_handed_out: set[int] = set()


def free_port() -> int:
    """The first port in 29000-29999 not yet handed out that 127.0.0.1 can bind now."""
    for port in PORT_RANGE:
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError("no free port in 29000-29999")


def base_env(**overrides: str) -> dict[str, str]:
    """os.environ without inherited KAFKALAB_*/COMPOSE_* settings, plus images.env and overrides."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKALAB_", "COMPOSE_"))}
    env.update(read_images_env())
    env.update(overrides)
    return env


class Compose:
    """One compose project (`kltbed-...`) on one of the shipped compose files."""

    def __init__(self, project: str, file: str, **env: str) -> None:
        assert project.startswith("kltbed"), project
        self.project = project
        self.file = COMPOSE_DIR / file
        self.ports = {
            "KAFKALAB_PORT": free_port(),
            "KAFKALAB_UI_PORT": free_port(),
            "KAFKALAB_ZOOKEEPER_PORT": free_port(),
        }
        self.env = base_env(**{k: str(v) for k, v in self.ports.items()}, **env)

    @property
    def kafka_port(self) -> int:
        return self.ports["KAFKALAB_PORT"]

    @property
    def ui_port(self) -> int:
        return self.ports["KAFKALAB_UI_PORT"]

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    def run(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        if args and args[0] in PULL_COMMANDS and "--pull" not in args:
            args = (args[0], "--pull", "never", *args[1:])
        cmd = ["docker", "compose", "-p", self.project, "-f", str(self.file), *args]
        proc = subprocess.run(
            cmd,
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} exited {proc.returncode}\n{proc.stdout}{proc.stderr}")
        return proc

    def config(self, *args: str) -> dict[str, Any]:
        config: dict[str, Any] = json.loads(self.run("config", "--format", "json", *args).stdout)
        return config

    def leftovers(self) -> dict[str, list[str]]:
        """The project's containers, volumes and networks that still exist."""
        label = f"label=com.docker.compose.project={self.project}"
        found = {}
        for kind, cmd in {
            "containers": ["docker", "ps", "-aq", "--filter", label],
            "volumes": ["docker", "volume", "ls", "-q", "--filter", label],
            "networks": ["docker", "network", "ls", "-q", "--filter", label],
        }.items():
            out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=30).stdout
            found[kind] = out.split()
        return found

    def down(self) -> None:
        """down --volumes (no grace period: the data is thrown away), poll until all is gone."""
        if not any(self.leftovers().values()):
            return
        self.run("down", "--volumes", "--remove-orphans", "--timeout", "0", check=False)
        wait_until(
            lambda: not any(self.leftovers().values()),
            timeout=60,
            what=f"project {self.project} to be removed",
            interval=0.2,
        )


@pytest.fixture(scope="session")
def docker_ready() -> None:
    """Fail clearly when the bed itself is missing: no engine, no Compose v2 or no local images."""
    proc = subprocess.run(
        ["docker", "compose", "version", "--short"],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0 and proc.stdout.startswith(("2.", "v2.")), (
        f"Docker Compose v2 is needed (tests/bed/provision): {proc.stdout}{proc.stderr}"
    )
    images = {k: v for k, v in read_images_env().items() if k.startswith("KAFKALAB_IMAGE_")}
    missing = [
        image
        for image in images.values()
        if subprocess.run(
            ["docker", "image", "inspect", image], check=False, capture_output=True, timeout=30
        ).returncode
    ]
    assert not missing, f"local images missing (run tests/bed/build-images): {missing}"


@pytest.fixture
def compose(request: pytest.FixtureRequest, docker_ready: None) -> Iterator[Callable[..., Compose]]:
    """A factory of Compose projects; every project made is torn down and awaited, always."""
    made: list[Compose] = []

    def make(file: str, name: str, **env: str) -> Compose:
        project = Compose(f"kltbed-{name}", file, **env)
        project.down()  # leftovers of an aborted earlier run
        made.append(project)
        return project

    yield make
    failed = any(getattr(getattr(request.node, f"bed_rep_{when}", None), "failed", False) for when in ("setup", "call"))
    errors = []
    for project in reversed(made):
        if failed:
            logs = project.run("logs", "--no-color", "--tail", "40", check=False)
            print(f"\n--- logs of {project.project} ---\n{logs.stdout}{logs.stderr}")
        try:
            project.down()
        except AssertionError as exc:
            errors.append(str(exc))
    assert not errors, "\n".join(errors)


@pytest.fixture(name="wait_until", scope="session")
def wait_until_fixture() -> Callable[..., Any]:
    """The polling helper: wait_until(fn, timeout, what=..., until=...)."""
    return wait_until


@pytest.fixture(scope="session")
def images_env() -> dict[str, str]:
    """The settings of tests/bed/images.env."""
    return read_images_env()


@pytest.fixture(scope="session")
def kafka_conf() -> Callable[..., dict[str, Any]]:
    """kafka_conf(bootstrap, **extra): confluent_kafka settings for a bed broker on 127.0.0.1."""

    def conf(bootstrap: str, **extra: Any) -> dict[str, Any]:
        return {
            "bootstrap.servers": bootstrap,
            "broker.address.family": "v4",  # the broker advertises localhost: stay on 127.0.0.1
            "reconnect.backoff.ms": 50,
            "reconnect.backoff.max.ms": 250,  # notice a broker that just started listening at once
            "logger": SILENT,
            **extra,
        }

    return conf
