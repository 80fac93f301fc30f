"""Everything kafkalab asks of Docker. The only module that runs `docker` or imports python_on_whales.

Starting, stopping and log streaming go through python-on-whales. Quick reads (is the daemon there,
which of the project's containers exist) run the docker CLI directly: importing python_on_whales
costs about 0.45 s (pydantic), several times what `kafkalab status` may take in all.
Docker's failures arrive as stderr text; `_translate` turns them into typed errors, once, here.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import json
import os
import re
import shutil
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from kafkalab.errors import (
    ComposeError,
    ComposeV1Only,
    DaemonDown,
    DockerNotFound,
    ImageMissing,
    KafkalabError,
    PortInUse,
)
from kafkalab.settings import Settings

Echo = Callable[[str], None]

SERVICES = {
    "kraft": ("kafka", "kafka-ui"),
    "zookeeper": ("zookeeper", "kafka", "kafka-ui"),
    "cluster": ("kafka", "kafka-2", "kafka-3", "kafka-ui"),
}


def compose_dir() -> Path:
    """The compose files: inside the installed package, or at the top of a source checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "compose", here.parent / "compose"):
        if (candidate / "kraft.yaml").is_file():
            return candidate
    raise KafkalabError("kafkalab's compose files are missing from its installation.", "Reinstall kafkalab.")


@dataclasses.dataclass(frozen=True)
class Container:
    service: str
    name: str
    state: str  # running, exited, restarting, created, ...
    status: str  # docker's own words, e.g. "Up 3 minutes"
    ports: tuple[str, ...]
    image: str

    @property
    def running(self) -> bool:
        return self.state == "running"


class Compose:
    """One compose project: the stack of one mode under one project name."""

    def __init__(self, settings: Settings, echo: Echo | None = None) -> None:
        self.settings = settings
        self.echo = echo
        self.file = compose_dir() / f"{settings.mode}.yaml"
        self.services = SERVICES[settings.mode]
        self._whales: Any = None

    # --- quick reads, straight through the docker CLI ----------------------------------------

    def _docker(self, *args: str, timeout: float = 30, echo: bool = True) -> str:
        docker = shutil.which("docker")
        if docker is None:
            raise DockerNotFound("Docker was not found: there is no `docker` on PATH.")
        if self.echo and echo:
            self.echo("docker " + " ".join(args))
        try:
            done = subprocess.run(
                [docker, *args], capture_output=True, text=True, timeout=timeout, check=False,
                env=self._env(),
            )
        except subprocess.TimeoutExpired:
            raise DaemonDown(f"`docker {args[0]}` did not answer within {timeout:.0f} s.") from None
        if done.returncode != 0:
            raise _translate(["docker", *args], done.returncode, done.stderr, self.settings)
        return done.stdout

    def preflight(self) -> list[Container]:
        """Docker found, the daemon answers, Compose is v2. Returns this project's containers.

        Listing the containers is what proves the daemon answers; `docker compose version` runs
        alongside it, as the two take about 50 ms each.
        """
        version: list[str | KafkalabError] = []

        def compose_version() -> None:
            try:
                version.append(self._docker("compose", "version", "--short").strip())
            except KafkalabError as exc:
                version.append(exc)

        thread = threading.Thread(target=compose_version, daemon=True)
        thread.start()
        containers = self.containers()
        thread.join()
        found = version[0]
        if isinstance(found, DockerNotFound):
            raise found
        if isinstance(found, KafkalabError) or found.lstrip("v")[:2] not in ("2.", "3.", "4.", "5."):
            raise ComposeV1Only(
                "Docker Compose v2 was not found: `docker compose version` "
                + (f"reports {found}." if isinstance(found, str) and found else "is not a docker command here.")
            )
        return containers

    def containers(self, echo: bool = True) -> list[Container]:
        """This project's containers, running or not, from docker's compose labels."""
        out = self._docker(
            "ps", "--all", "--no-trunc", "--format", "{{json .}}",
            "--filter", f"label=com.docker.compose.project={self.settings.project}", echo=echo,
        )
        found = []
        for line in out.splitlines():
            row = json.loads(line)
            labels = dict(
                item.split("=", 1) for item in row.get("Labels", "").split(",") if "=" in item
            )
            found.append(Container(
                service=labels.get("com.docker.compose.service", "?"),
                name=row.get("Names", ""),
                state=row.get("State", ""),
                status=row.get("Status", ""),
                ports=tuple(p.strip() for p in row.get("Ports", "").split(",") if p.strip()),
                image=row.get("Image", ""),
            ))
        return sorted(found, key=lambda c: c.service)

    def volumes(self) -> list[str]:
        out = self._docker(
            "volume", "ls", "--format", "{{.Name}}",
            "--filter", f"label=com.docker.compose.project={self.settings.project}",
        )
        return sorted(out.split())

    def remove_volumes(self, names: list[str]) -> None:
        self._docker("volume", "rm", "--force", *names)

    def check_ports(self, ports: dict[str, int]) -> None:
        """Each port must be free on 127.0.0.1; name the container holding it when docker's is."""
        for purpose, port in ports.items():
            if _port_free(port):
                continue
            holder = self._docker("ps", "--filter", f"publish={port}", "--format", "{{.Names}}").split()
            by = f" by container {holder[0]}" if holder else " by another program"
            raise PortInUse(
                f"Port {port} ({purpose}) on 127.0.0.1 is already taken{by}.",
                f"Stop {'that container' if holder else 'it'}, or choose another port with "
                f"--{'ui-' if purpose == 'kafka-ui' else 'zookeeper-' if purpose == 'zookeeper' else ''}port.",
            )

    def check_images(self, images: list[str]) -> None:
        """Under --pull never, every image must already be here: name the first one that is not."""
        try:
            self._docker("image", "inspect", "--format", "{{.Id}}", *images)
        except (ComposeError, ImageMissing) as exc:
            text = exc.stderr if isinstance(exc, ComposeError) else exc.message
            missing = next((i for i in images if i in text), images[0])
            raise ImageMissing(f"Image {missing} is not on this machine, and --pull is never.") from None

    # --- changes, through python-on-whales ------------------------------------------------------

    def _client(self) -> Any:
        if self._whales is None:
            if shutil.which("docker") is None:
                raise DockerNotFound("Docker was not found: there is no `docker` on PATH.")
            from python_on_whales import DockerClient

            if self.echo:
                _listen_to_whales()
            self._whales = DockerClient(
                compose_files=[self.file],
                compose_project_name=self.settings.project,
                compose_env_files=[self._env_file()],
            )
        return self._whales

    def _env_file_path(self) -> Path:
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kafkalab"
        return cache / f"{self.settings.project}.env"

    def _env_file(self) -> Path:
        """The settings as a compose --env-file, so that every docker compose call sees the same."""
        path = self._env_file_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{k}={v}\n" for k, v in self.settings.compose_env().items()))
        return path

    def forget(self) -> None:
        """Remove the project's --env-file (after `down --volumes`, nothing of the lab is left)."""
        self._env_file_path().unlink(missing_ok=True)

    @contextlib.contextmanager
    def _environment(self) -> Iterator[None]:
        """The resolved settings in os.environ while python-on-whales runs docker compose.

        Compose lets the process environment win over --env-file, so a KAFKALAB_* variable in the
        user's shell would otherwise beat a --port flag inside the compose file.
        """
        resolved = self.settings.compose_env()
        saved = {name: os.environ.get(name) for name in resolved}
        os.environ.update(resolved)
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    def _env(self) -> dict[str, str]:
        return {**os.environ, **self.settings.compose_env()}

    def _run(self, action: Callable[[Any], Any]) -> Any:
        from python_on_whales.exceptions import DockerException

        token = _echo_to.set(self.echo)
        try:
            with self._environment():
                return action(self._client())
        except DockerException as exc:
            raise _translate(
                [str(a) for a in exc.docker_command], exc.return_code, exc.stderr or "", self.settings,
            ) from None
        finally:
            _echo_to.reset(token)

    def up(self, services: list[str]) -> None:
        self._run(lambda d: d.compose.up(
            services=services, detach=True, pull=self.settings.pull, quiet=True, remove_orphans=True,
        ))

    def stop(self, services: list[str]) -> None:
        self._run(lambda d: d.compose.stop(services=services))

    def down(self, volumes: bool) -> None:
        self._run(lambda d: d.compose.down(volumes=volumes, remove_orphans=True, quiet=True))

    def logs(self, services: list[str], tail: int | None, follow: bool, prefix: bool = True) -> Iterator[str]:
        from python_on_whales.exceptions import DockerException

        # docker compose logs starts on the first iteration: the echo and environment hold till the end.
        token = _echo_to.set(self.echo)
        try:
            with self._environment():
                stream = self._client().compose.logs(
                    services=services, tail=None if tail is None else str(tail), follow=follow, stream=True,
                    no_log_prefix=not prefix,
                )
                for _source, chunk in stream:
                    yield chunk.decode("utf-8", "replace")
        except DockerException as exc:
            raise _translate([str(a) for a in exc.docker_command], exc.return_code, exc.stderr or "",
                             self.settings) from None
        finally:
            _echo_to.reset(token)

    def log_tail(self, service: str, lines: int) -> str:
        try:
            return "".join(self.logs([service], tail=lines, follow=False, prefix=False))
        except KafkalabError:
            return ""


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


_echo_to: contextvars.ContextVar[Echo | None] = contextvars.ContextVar("kafkalab_echo", default=None)


def _listen_to_whales() -> None:
    """python-on-whales logs each docker command at DEBUG; pass them to the running call's echo."""
    import logging

    class EchoHandler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            echo = _echo_to.get()
            if echo is not None:
                program, _, rest = record.getMessage().removeprefix("Running command: ").partition(" ")
                echo(f"{os.path.basename(program)} {rest}")

    logger = logging.getLogger("python_on_whales.utils")
    if not any(type(h).__name__ == "EchoHandler" for h in logger.handlers):
        logger.addHandler(EchoHandler())
    logger.setLevel(logging.DEBUG)
    logger.propagate = False  # these DEBUG records are for -v, not for the application's own logs


# What docker says, as seen from Engine 20.10 and Compose 2.40, for the failures that have a type.
_PORT_TAKEN = re.compile(r"Bind for [\d.]+:(\d+) failed|:(\d+): bind: address already in use")
_IMAGE_MISSING = re.compile(r"No such image: (\S+)|pull access denied for ([^,\s]+)|image (\S+) not found")


def _translate(command: list[str], returncode: int | None, stderr: str, settings: Settings) -> KafkalabError:
    """Docker reports most failures only as text on stderr: give each known one its type."""
    text = stderr.strip()
    last = text.splitlines()[-1] if text else f"exit code {returncode}"
    if "Cannot connect to the Docker daemon" in text or "error during connect" in text:
        return DaemonDown("The Docker daemon is not answering: " + last)
    port = _PORT_TAKEN.search(text)
    if port or "port is already allocated" in text:
        number = next((g for g in port.groups() if g), "?") if port else "?"
        return PortInUse(f"Port {number} on 127.0.0.1 is already taken.")
    image = _IMAGE_MISSING.search(text)
    if image or ("pull" in text and settings.pull == "never"):
        name = next((g for g in image.groups() if g), "") if image else "of the stack"
        if settings.pull == "never":
            return ImageMissing(f"Image {name} is not on this machine, and --pull is never.")
        return ImageMissing(
            f"Image {name} could not be pulled: {last}",
            "Check the image name and tag (KAFKALAB_IMAGE_*), and `docker login` if the registry needs it.",
        )
    if "is not a docker command" in text and "compose" in command:
        return ComposeV1Only("Docker Compose v2 was not found: `docker compose` is not a docker command here.")
    return ComposeError(
        f"`{' '.join(command[:4])}` failed: {last}", command=command, returncode=returncode, stderr=stderr,
    )
