"""Fixtures for kafkalab's own tests.

Every test runs against the test bed's local images: the settings of tests/bed/images.env are put in
the environment here (values already set win), so no test can ever make the daemon pull.
No test reads or writes the user's ~/.cache/kafkalab: XDG_CACHE_HOME is a directory of the session's
own, which the CLI processes the tests start inherit, and so do pytest-xdist's workers.
e2e labs get a project name of their own (kltest-<pid>-<n>) and free ports, and are always taken
down, volumes and all, with the teardown waiting until docker shows none of their containers,
networks or volumes.
"""

from __future__ import annotations

import atexit
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import envfile
import pytest

ROOT = Path(__file__).resolve().parents[1]
IMAGES_ENV = ROOT / "tests" / "bed" / "images.env"


for _key, _value in envfile.read(IMAGES_ENV).items():
    os.environ.setdefault(_key, _value)
# The user's own kafkalab file ($XDG_CONFIG_HOME/kafkalab/config.toml) is a source of settings and
# contexts: the tester's own must not change what the tests see. No such folder: no user file.
os.environ["XDG_CONFIG_HOME"] = str(ROOT / "tests" / "no-user-config")
# One state directory (kafkalab's records and locks) for the whole run: made by the first process,
# inherited by xdist's workers (which must not remove it), removed when that first process ends.
if "KLTESTS_CACHE_HOME" not in os.environ:
    _cache_home = tempfile.mkdtemp(prefix="kafkalab-tests-cache-")
    atexit.register(shutil.rmtree, _cache_home, ignore_errors=True)
    os.environ["KLTESTS_CACHE_HOME"] = _cache_home
os.environ["XDG_CACHE_HOME"] = os.environ["KLTESTS_CACHE_HOME"]
_counter = itertools.count(1)


# Test labs' ports come from below the kernel's ephemeral range (32768-60999 on Linux): a port from that
# range can be taken, between being handed out and `up`, by any client's outgoing connection (CI once
# lost a cluster's port + 1 that way). Each port handed out holds the two after it as well, so that any
# of them can be a cluster's first broker (port, port + 1, port + 2). xdist workers get ranges of their own.
_PORT_STEP = 3
_worker = os.environ.get("PYTEST_XDIST_WORKER")  # gw0, gw1, ...
_first = 10000 + 2000 * int(_worker[2:]) if _worker else 10000
_ports = iter(range(_first, min(_first + 2000 if _worker else 29000, 29000) - 2, _PORT_STEP))  # bed's: 29000-29999


def free_port() -> int:
    """A port p that no test lab has had, with p, p + 1 and p + 2 bindable on 127.0.0.1 now."""
    for port in _ports:
        try:
            with socket.socket() as a, socket.socket() as b, socket.socket() as c:
                for sock, offset in ((a, 0), (b, 1), (c, 2)):
                    sock.bind(("127.0.0.1", port + offset))
        except OSError:
            continue
        return port
    raise AssertionError(f"no free ports left for test labs from {_first}")


@pytest.fixture
def spare_port() -> int:
    """A port free on 127.0.0.1 now, that no lab of the test uses."""
    return free_port()


def project_name(tag: str = "") -> str:
    return f"kltest-{os.getpid()}-{next(_counter)}{tag}"


def lab_settings(**changes: Any) -> Any:
    """Settings for a test lab: the bed's images, a fresh project name and free ports."""
    from kafkalab.settings import resolve

    base = {"project": project_name(), "port": free_port(), "ui_port": free_port(),
            "zookeeper_port": free_port(), "schema_registry_port": free_port(), "connect_port": free_port(),
            "timeout": 120.0}
    return resolve({**base, **changes}, cwd=ROOT / "tests")


def docker_leftovers(project: str) -> list[str]:
    """Containers, networks and volumes that docker still has for the project."""
    label = f"label=com.docker.compose.project={project}"
    found = []
    for kind in (["ps", "-a"], ["network", "ls"], ["volume", "ls"]):
        out = subprocess.run(["docker", *kind, "-q", "--filter", label], capture_output=True, text=True, check=True)
        found += [f"{kind[0]}:{line}" for line in out.stdout.split()]
    return found


def wait_until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll `check` until it returns something truthy; fail naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def teardown_project(project: str) -> None:
    """`down --volumes` for real, then poll until docker has nothing left of the project."""
    from kafkalab import Lab
    from kafkalab.settings import resolve

    Lab(resolve({"project": project}, cwd=ROOT / "tests")).down(volumes=True)
    wait_until(lambda: not docker_leftovers(project), 60, f"project {project} to be gone")


def on_a_terminal(
    args: list[str], answer: bytes | None, env: dict[str, str] | None = None, timeout: float = 180,
) -> tuple[int, bytes]:
    """Run `kafkalab ARGS` on a pseudo-terminal, answer its [y/N] question (unless answer is None),
    return (exit code, all output). A run longer than `timeout` is killed and fails the test."""
    import pty
    import select
    import signal
    import sys

    pid, fd = pty.fork()
    if pid == 0:  # the child: kafkalab on a terminal
        os.execve(sys.executable, [sys.executable, "-m", "kafkalab", *args], env or dict(os.environ))
    seen = b""
    deadline = time.monotonic() + timeout

    def read() -> bytes:
        ready, _, _ = select.select([fd], [], [], max(deadline - time.monotonic(), 0))
        if not ready:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail(f"kafkalab {' '.join(args)} ran over {timeout:g} s; its output: {seen[-2000:]!r}")
        try:
            return os.read(fd, 1024)
        except OSError:  # the child closed the terminal
            return b""

    while answer is not None and b"[y/N]" not in seen:
        chunk = read()
        if not chunk:
            os.waitpid(pid, 0)
            pytest.fail(f"kafkalab {' '.join(args)} ended without asking; its output: {seen[-2000:]!r}")
        seen += chunk
    if answer is not None:
        os.write(fd, answer)
    while chunk := read():
        seen += chunk
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), seen


@pytest.fixture(scope="session")
def bed() -> SimpleNamespace:
    """This module's helpers, for test files elsewhere: a conftest module cannot be imported by name."""
    return SimpleNamespace(
        ROOT=ROOT, docker_leftovers=docker_leftovers, free_port=free_port, project_name=project_name,
        teardown_project=teardown_project, wait_until=wait_until, lab_settings=lab_settings,
    )


@pytest.fixture
def marker_plugin(tmp_path: Path) -> tuple[Path, Path]:
    """A shared library whose constructor writes a marker file the moment it is loaded:
    (library, marker). What a cloned repository's config could name in plugin.library.paths."""
    import shutil

    compiler = shutil.which("cc") or shutil.which("gcc")
    assert compiler, "the tests need a C compiler (cc)"
    marker = tmp_path / "the-library-ran"
    source = tmp_path / "marker.c"
    source.write_text(
        "#include <stdio.h>\n"
        "__attribute__((constructor)) static void mark(void) {\n"
        f'    FILE *f = fopen("{marker}", "w"); if (f) {{ fputs("ran", f); fclose(f); }}\n'
        "}\n"
    )
    library = tmp_path / "libmarker.so"
    subprocess.run([compiler, "-shared", "-fPIC", "-o", str(library), str(source)], check=True)
    return library, marker


@pytest.fixture(name="on_a_terminal")
def on_a_terminal_fixture() -> Callable[..., tuple[int, bytes]]:
    return on_a_terminal


@pytest.fixture
def lab_factory() -> Iterator[Callable[..., Any]]:
    """Makes Labs for one test (not started), and takes each down at the end."""
    from kafkalab import Lab

    made: list[Any] = []

    def make(**changes: Any) -> Any:
        lab = Lab(lab_settings(**changes))
        made.append(lab)
        return lab

    yield make
    for lab in made:
        teardown_project(lab.settings.project)


@pytest.fixture(scope="session")
def shared_lab() -> Iterator[Any]:
    """One running KRaft lab for the tests that only use Kafka (topics, produce, consume, groups)."""
    from kafkalab import Lab

    lab = Lab(lab_settings(project=project_name("-shared")))
    try:
        lab.up(ui=False)
        yield lab
    finally:
        teardown_project(lab.settings.project)
