"""Running the docker CLI directly: finding it (DockerNotFound, said once, here) and starting it,
always with the environment given as env=, never by changing os.environ.

May import: kafkalab.errors. Everything else of kafkalab.docker runs `docker` through here.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from typing import Any

from kafkalab.errors import DockerNotFound

NOT_FOUND = "Docker was not found: there is no `docker` on PATH."


def docker_path() -> str:
    """The docker CLI's path; DockerNotFound when there is none on PATH."""
    found = shutil.which("docker")
    if found is None:
        raise DockerNotFound(NOT_FOUND)
    return found


def run_docker(args: list[str], env: Mapping[str, str], timeout: float,
               input: str | None = None) -> subprocess.CompletedProcess[str]:
    """`docker ARGS` to its end (subprocess.TimeoutExpired past the timeout): its exit code, stdout
    and stderr as text; `input`, when given, is its standard input (`docker exec -i` passes it on)."""
    return subprocess.run([docker_path(), *args], capture_output=True, text=True, timeout=timeout, check=False,
                          env=dict(env), input=input)


def start_docker(args: list[str], env: Mapping[str, str], **popen: Any) -> subprocess.Popen[bytes]:
    """`docker ARGS` started, not waited for (a stream to read, or a clean-up left to run)."""
    return subprocess.Popen([docker_path(), *args], env=dict(env), **popen)
