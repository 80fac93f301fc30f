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

from kafkalab import record
from kafkalab.errors import (
    ComposeError,
    ComposeV1Only,
    DaemonDown,
    DockerNotFound,
    DockerSocketDenied,
    ImageMissing,
    KafkalabError,
    PortInUse,
)
from kafkalab.modes import LAB_LABEL, LEGACY_VOLUMES, MODE_LABEL, MODES
from kafkalab.settings import Settings

Echo = Callable[[str], None]

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
    state: str  # running, exited, paused, restarting, created, ...
    status: str  # docker's own words, e.g. "Up 3 minutes"
    ports: tuple[str, ...]
    image: str
    id: str = ""
    lab: str = ""  # its dev.kafkalab.lab label: the project, or "" on containers of earlier versions
    mode: str = ""  # its dev.kafkalab.mode label
    config_files: str = ""  # the compose files it was made from (Compose's own label)

    @property
    def running(self) -> bool:
        return self.state == "running"

    def owned_by(self, project: str, legacy: bool) -> bool:
        """kafkalab's: it carries the lab's label; or, where kafkalab 0.1 ran this project (legacy:
        its record says so), it was made from one of kafkalab's compose files, as 0.1 labelled nothing."""
        if self.lab:
            return self.lab == project
        return legacy and any(
            Path(f).name in _MODE_FILES and Path(f).parent.name == "compose" for f in self.config_files.split(",")
        )


_MODE_FILES = {spec.file for spec in MODES.values()}
_PS_FIELDS = (
    "{{.ID}}", "{{.Label \"com.docker.compose.service\"}}", "{{.Names}}", "{{.State}}", "{{.Status}}",
    "{{.Ports}}", "{{.Image}}", f'{{{{.Label "{LAB_LABEL}"}}}}', f'{{{{.Label "{MODE_LABEL}"}}}}',
    "{{.Label \"com.docker.compose.project.config_files\"}}",
)


@dataclasses.dataclass(frozen=True)
class Inventory:
    """What docker holds under the project's name: the lab's, and what is someone else's."""

    containers: tuple[Container, ...]
    volumes: tuple[str, ...]
    foreign: tuple[str, ...]  # "container NAME" and "volume NAME" of a compose project that is not kafkalab's
    adopted: tuple[str, ...] = ()  # the lab's volumes from kafkalab 0.1: no label, ever (Compose adds none)


class Compose:
    """One compose project: the stack of one mode under one project name."""

    def __init__(self, settings: Settings, echo: Echo | None = None) -> None:
        self.settings = settings
        self.echo = echo
        self.spec = MODES[settings.mode]
        self.file = compose_dir() / self.spec.file
        self.services = self.spec.service_names
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

    def preflight(self) -> Inventory:
        """Docker found, the daemon answers, Compose is v2. Returns what the project holds.

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
        try:
            inventory = self.inventory()
        finally:
            thread.join()
        found = version[0]
        if isinstance(found, ComposeError) and not _not_a_command(found.stderr):
            # Compose is there but failed: say why, rather than that it is missing.
            raise ComposeError(f"`docker compose version` failed: {found.message.split(': ', 1)[-1]}",
                               command=found.command, returncode=found.returncode, stderr=found.stderr)
        if isinstance(found, KafkalabError) and not isinstance(found, ComposeError):
            raise found
        if isinstance(found, KafkalabError) or found.lstrip("v")[:2] not in ("2.", "3.", "4.", "5."):
            raise ComposeV1Only(
                "Docker Compose v2 was not found: `docker compose version` "
                + (f"reports {found}." if isinstance(found, str) and found else "is not a docker command here.")
            )
        return inventory

    def _project_containers(self, echo: bool) -> list[Container]:
        out = self._docker(
            "ps", "--all", "--no-trunc", "--format", "\t".join(_PS_FIELDS),
            "--filter", f"label=com.docker.compose.project={self.settings.project}", echo=echo,
        )
        found = []
        for line in out.splitlines():
            cid, service, name, state, status, ports, image, lab, mode, files = _columns(line, 10)
            found.append(Container(
                service=service or "?", name=name, state=state, status=status,
                ports=tuple(p.strip() for p in ports.split(",") if p.strip()), image=image, id=cid,
                lab=lab, mode=mode, config_files=files,
            ))
        return sorted(found, key=lambda c: c.service)

    def containers(self, echo: bool = True) -> list[Container]:
        """The lab's containers, running or not (never those of someone else's project of that name)."""
        legacy = record.legacy(self.settings.project)
        return [c for c in self._project_containers(echo) if c.owned_by(self.settings.project, legacy)]

    def inventory(self) -> Inventory:
        project = self.settings.project
        every = self._project_containers(echo=True)
        legacy = record.legacy(project)
        ours = [c for c in every if c.owned_by(project, legacy)]
        rows = self._docker(
            "volume", "ls", "--format", f'{{{{.Name}}}}\t{{{{.Label "{LAB_LABEL}"}}}}\t'
            '{{.Label "com.docker.compose.volume"}}',
            "--filter", f"label=com.docker.compose.project={project}",
        ).splitlines()
        # kafkalab 0.1's volumes carry no label: the lab's by their names where 0.1 ran this project,
        # and once adopted, by kafkalab's record (they never get a label).
        adopt = legacy and all(c in ours for c in every)
        known = record.adopted(project)
        volumes, adopted, foreign = [], [], [f"container {c.name}" for c in every if c not in ours]
        for row in rows:
            name, lab, declared = _columns(row, 3)
            if lab == project:
                volumes.append(name)
            elif not lab and (name in known or (adopt and declared in LEGACY_VOLUMES)):
                volumes.append(name)
                adopted.append(name)
            else:
                foreign.append(f"volume {name}")
        return Inventory(tuple(ours), tuple(sorted(volumes)), tuple(foreign), tuple(sorted(adopted)))

    def volumes(self) -> list[str]:
        return list(self.inventory().volumes)

    def remove_volumes(self, names: list[str] | tuple[str, ...]) -> None:
        if names:
            self._docker("volume", "rm", "--force", *names)

    def remove_containers(self, containers: list[Container] | tuple[Container, ...]) -> None:
        """Stop (as `docker compose down` does, with time to shut down cleanly) and remove, by id."""
        ids = [c.id for c in containers]
        if ids:
            self._docker("stop", *ids, timeout=60)
            self._docker("rm", "--force", *ids)

    def unpause(self, containers: list[Container]) -> None:
        self._docker("unpause", *[c.id for c in containers])

    def check_ports(self, ports: dict[str, int]) -> None:
        """Each port must be free on 127.0.0.1; name the container holding it when docker's is."""
        for purpose, port in ports.items():
            if _port_free(port):
                continue
            holder = self._docker("ps", "--filter", f"publish={port}", "--format", "{{.Names}}").split()
            by = f" by container {holder[0]}" if holder else " by another program"
            flag = "--" + self.spec.service(purpose).port.replace("_", "-")  # --port, --ui-port, --zookeeper-port
            raise PortInUse(
                f"Port {port} ({purpose}) on 127.0.0.1 is already taken{by}.",
                f"Stop {'that container' if holder else 'it'}, or choose another port with {flag}.",
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
            self._whales = DockerClient(compose_files=[self.file], compose_project_name=self.settings.project)
        return self._whales

    @contextlib.contextmanager
    def _environment(self, **extra: str) -> Iterator[None]:
        """The resolved settings in os.environ while python-on-whales runs docker compose.

        Compose lets the process environment win over an --env-file, so a KAFKALAB_* variable in
        the user's shell would otherwise beat a --port flag inside the compose file.
        """
        resolved = {**self.settings.compose_env(), **extra}
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

    def up(self, services: list[str], adopted: tuple[str, ...] = ()) -> None:
        """Create and start the services, with the images already here (pulling is a phase of its
        own: Lab.pull). Orphans are left alone: under this project name, only what carries the
        lab's label is kafkalab's (Inventory.foreign keeps `up` from sharing a name)."""
        record.write(self.settings.project, {
            **self.settings.compose_env(), "KAFKALAB_MODE": self.settings.mode,
            **({"KAFKALAB_ADOPTED_VOLUMES": ",".join(adopted)} if adopted else {}),
        })
        self._run(lambda d: d.compose.up(services=services, detach=True, pull="never", quiet=True))

    def missing_images(self, images: list[str]) -> list[str]:
        """Those of the images that are not on this machine (one `docker image ls` for all)."""
        out = self._docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}")
        here = set(out.split())
        return [i for i in images if (i if ":" in i.rsplit("/", 1)[-1] else i + ":latest") not in here]

    def pull(self, services: list[str]) -> Iterator[dict[str, Any]]:
        """`docker compose pull` of the services, as Compose's JSON progress events, one per line.

        A registry's failure comes as an event too (see kafkalab.pull); what else Compose fails
        with is translated here, once the stream ends.
        """
        from python_on_whales.exceptions import DockerException

        token = _echo_to.set(self.echo)
        try:
            with self._environment(COMPOSE_PROGRESS="json"):
                for _source, chunk in self._client().compose.pull(services=services, stream_logs=True):
                    for line in chunk.decode("utf-8", "replace").splitlines():
                        if line.startswith("{"):
                            with contextlib.suppress(ValueError):
                                yield json.loads(line)
        except DockerException as exc:
            raise _translate([str(a) for a in exc.docker_command], exc.return_code, exc.stderr or "",
                             self.settings) from None
        finally:
            _echo_to.reset(token)

    def stop(self, services: list[str]) -> None:
        self._run(lambda d: d.compose.stop(services=services))

    def down(self) -> None:
        """Remove the containers and network of this mode's file; volumes are removed by name."""
        self._run(lambda d: d.compose.down(quiet=True))

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


def _columns(line: str, count: int) -> list[str]:
    """A tab-separated row of `docker ... --format`, padded: a label that is absent prints nothing."""
    cells = line.split("\t")
    return [*cells, *[""] * (count - len(cells))][:count]


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


# What docker says, as seen from Engines 20.10 and 28 and Compose 2.40, for the failures that have a type.
# A taken port: 20.10 "Bind for 127.0.0.1:9094 failed: port is already allocated", 28 "failed to bind
# host port for 127.0.0.1:9094:172.18.0.2:9094/tcp: address already in use", and the userland proxy's.
_PORT_TAKEN = re.compile(
    r"Bind for [\d.]+:(\d+) failed|failed to bind host port for (?:[\d.]+|\[[\da-f:]*\]):(\d+)"
    r"|:(\d+): bind: address already in use"
)
# The socket exists but this user may not use it (not in the docker group): CLI 20.10 to 28 say
# "permission denied while trying to connect to the Docker daemon socket", later ones "... docker API".
_SOCKET_DENIED = re.compile(r"permission denied while trying to connect to the docker", re.IGNORECASE)
_IMAGE_MISSING = re.compile(r"No such image: (\S+)|pull access denied for ([^,\s]+)|image (\S+) not found")


def _translate(command: list[str], returncode: int | None, stderr: str, settings: Settings) -> KafkalabError:
    """Docker reports most failures only as text on stderr: give each known one its type."""
    text = stderr.strip()
    last = text.splitlines()[-1] if text else f"exit code {returncode}"
    if _SOCKET_DENIED.search(text):
        return DockerSocketDenied("This user may not use the Docker daemon: " + last)
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
    if _not_a_command(text) and "compose" in command:
        return ComposeV1Only("Docker Compose v2 was not found: `docker compose` is not a docker command here.")
    return ComposeError(
        f"`{' '.join(command[:4])}` failed: {last}", command=command, returncode=returncode, stderr=stderr,
    )


def _not_a_command(stderr: str) -> bool:
    """The docker CLI has no `compose` plugin: "'compose' is not a docker command" (20.10),
    "unknown command: docker compose" (28)."""
    return "is not a docker command" in stderr or "unknown command" in stderr
