"""Everything kafkalab asks of Docker for a lab (Compose): the only module that imports python_on_whales.

Starting, stopping and pulling go through python-on-whales. Quick reads (is the daemon there,
which of the project's containers exist) and log streaming run the docker CLI directly, through
kafkalab.docker.run: importing python_on_whales costs about 0.45 s (pydantic). bench/bench_core.py
--status-ways: `kafkalab status` takes 0.254 s so, 0.406 s with its reads through python-on-whales.
Docker's failures become typed errors in kafkalab.docker.errors.

May import: kafkalab.errors, kafkalab.settings, kafkalab.lab.modes and kafkalab.lab.state (the
facts of a mode, the lab's record), kafkalab.security.store (the secured listener's secrets), and
its siblings run, errors, models and pull.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import json
import os
import re
import socket
import subprocess
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

from kafkalab.docker.errors import not_a_command, translate, translate_whales
from kafkalab.docker.models import Container, Inventory
from kafkalab.docker.run import docker_path, run_docker, start_docker
from kafkalab.errors import (
    ComposeError,
    ComposeV1Only,
    DaemonDown,
    ImageMissing,
    KafkalabError,
    PortInUse,
)
from kafkalab.lab import state
from kafkalab.lab.modes import LAB_LABEL, LEGACY_DATA, LEGACY_VOLUMES, MODE_LABEL
from kafkalab.security import store
from kafkalab.security.listener import recorded
from kafkalab.settings import Settings

Echo = Callable[[str], None]

def compose_dir() -> Path:
    """The compose files: inside the installed package, or at the top of a source checkout."""
    package = Path(__file__).resolve().parents[1]  # kafkalab/
    for candidate in (package / "compose", package.parent / "compose"):
        if (candidate / "kraft.yaml").is_file():
            return candidate
    raise KafkalabError("kafkalab's compose files are missing from its installation.", "Reinstall kafkalab.")


_ANONYMOUS = re.compile(r"[0-9a-f]{64}")  # the name Docker gives a volume it makes for an image's VOLUME
_PS_FIELDS = (
    "{{.ID}}", "{{.Label \"com.docker.compose.service\"}}", "{{.Names}}", "{{.State}}", "{{.Status}}",
    "{{.Ports}}", "{{.Image}}", f'{{{{.Label "{LAB_LABEL}"}}}}', f'{{{{.Label "{MODE_LABEL}"}}}}',
    "{{.Label \"com.docker.compose.project.config_files\"}}", "{{.Networks}}",
)


class Compose:
    """One compose project: the stack of one mode under one project name."""

    def __init__(self, settings: Settings, echo: Echo | None = None) -> None:
        self.settings = settings
        self.echo = echo
        self.spec = settings.spec  # the mode's services, and the optional ones it runs with
        self.file = compose_dir() / self.spec.file
        # Each optional service has a file of its own, for every mode; the subnet of the lab's network
        # is an addition of its own too: Compose has no "unset" for it.
        self.files: list[str | Path] = [self.file, *(compose_dir() / "services" / f"{n}.yaml" for n in settings.with_)]
        if "connect" in settings.with_ and settings.connect_plugins:  # the user's connector plugins, mounted
            self.files.append(compose_dir() / "extra" / "connect-plugins.yaml")
        if settings.subnet:
            self.files.append(compose_dir() / "extra" / "subnet.yaml")
        if settings.security != "plaintext":  # the EXTERNAL listener's SASL and TLS (kafkalab.security)
            several = "-cluster" if len(self.spec.brokers) > 1 else ""
            self.files.append(compose_dir() / "extra" / f"security{several}.yaml")
        self.services = self.spec.service_names
        self._whales: Any = None
        # kafkalab doctor's bounds: at most call_timeout seconds a docker call, and none past the deadline.
        self.call_timeout: float | None = None
        self.deadline: float | None = None  # a time.monotonic()

    # --- quick reads, straight through the docker CLI ----------------------------------------

    def _docker(self, *args: str, timeout: float = 30, echo: bool = True) -> str:
        docker_path()  # DockerNotFound before anything is echoed
        if self.echo and echo:
            self.echo("docker " + " ".join(args))
        if self.call_timeout is not None:
            timeout = min(timeout, self.call_timeout)
        if self.deadline is not None:
            timeout = max(min(timeout, self.deadline - time.monotonic()), 0.1)
        try:
            done = run_docker(list(args), self.env(), timeout)
        except subprocess.TimeoutExpired:
            raise DaemonDown(f"`docker {args[0]}` did not answer within {timeout:.0f} s.") from None
        if done.returncode != 0:
            raise translate(["docker", *args], done.returncode, done.stderr, self.settings)
        return done.stdout

    def preflight(self) -> Inventory:
        """Docker found, the daemon answers, Compose is v2. Returns what the project holds.

        Listing the containers is what proves the daemon answers.
        """
        inventory = self.inventory()
        try:
            found = self._docker("compose", "version", "--short").strip()
        except ComposeError as exc:
            if not not_a_command(exc.stderr):  # Compose is there but failed: say why, not that it is missing
                raise ComposeError(f"`docker compose version` failed: {exc.message.split(': ', 1)[-1]}",
                                   command=exc.command, returncode=exc.returncode, stderr=exc.stderr) from None
            found = ""
        except ComposeV1Only:
            found = ""
        if found.lstrip("v")[:2] not in ("2.", "3.", "4.", "5."):
            raise ComposeV1Only(
                "Docker Compose v2 was not found: `docker compose version` "
                + (f"reports {found}." if found else "is not a docker command here.")
            )
        return inventory

    def _project_containers(self, echo: bool) -> list[Container]:
        out = self._docker(
            "ps", "--all", "--no-trunc", "--format", "\t".join(_PS_FIELDS),
            "--filter", f"label=com.docker.compose.project={self.settings.project}", echo=echo,
        )
        found = []
        for line in out.splitlines():
            cid, service, name, state, status, ports, image, lab, mode, files, nets = _columns(line, 11)
            found.append(Container(
                service=service or "?", name=name, state=state, status=status,
                ports=tuple(p.strip() for p in ports.split(",") if p.strip()), image=image, id=cid,
                lab=lab, mode=mode, config_files=files, networks=tuple(n for n in nets.split(",") if n),
            ))
        return sorted(found, key=lambda c: c.service)

    def containers(self, echo: bool = True) -> list[Container]:
        """The lab's containers, running or not (never those of someone else's project of that name)."""
        legacy = state.legacy(self.settings.project)
        return [c for c in self._project_containers(echo) if c.owned_by(self.settings.project, legacy)]

    def inventory(self) -> Inventory:
        project = self.settings.project
        every = self._project_containers(echo=True)
        legacy = state.legacy(project)
        ours = [c for c in every if c.owned_by(project, legacy)]
        rows = self._docker(
            "volume", "ls", "--format", f'{{{{.Name}}}}\t{{{{.Label "{LAB_LABEL}"}}}}\t'
            '{{.Label "com.docker.compose.volume"}}',
            "--filter", f"label=com.docker.compose.project={project}",
        ).splitlines()
        # kafkalab 0.1's volumes carry no label: the lab's by their names where 0.1 ran this project,
        # and once adopted, by kafkalab's record (they never get a label).
        adopt = legacy and all(c in ours for c in every)
        known = state.adopted(project)
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

    def with_networks(self, inventory: Inventory) -> Inventory:
        """The inventory with the lab's networks, and whose the network of the lab's name is when it
        is not the lab's. (After the pre-flight, which says first whether Docker and Compose are fit.)

        The lab's carry its label, whatever their name (the network setting may have changed since).
        kafkalab 0.1 labelled nothing, and its network had Compose's own name, <project>_default.
        Any other network of the lab's name would be joined by Compose as it is (with a warning only),
        and the lab would run on someone else's network: `up` refuses it.
        """
        project, wanted = self.settings.project, self.settings.lab_network
        adopt = state.legacy(project) and not any(f.startswith("container ") for f in inventory.foreign)
        rows = self._docker(
            "network", "ls", "--format",
            f'{{{{.Name}}}}\t{{{{.Label "{LAB_LABEL}"}}}}\t{{{{.Label "com.docker.compose.project"}}}}',
        ).splitlines()
        ours, taken = [], ""
        for row in rows:
            name, lab, compose_project = _columns(row, 3)
            if lab == project or (adopt and not lab and compose_project == project and name == f"{project}_default"):
                ours.append(name)
            elif name == wanted:
                taken = (f"it is the lab {lab}'s" if lab else f"it is compose project {compose_project}'s"
                         if compose_project else "it was made outside Compose, with `docker network create`")
        return dataclasses.replace(inventory, networks=tuple(sorted(ours)), network_taken=taken)

    def remove_networks(self, names: tuple[str, ...]) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """Remove the lab's networks that are still there. One that containers of other projects
        still use (a service of yours that joined the lab) stays: returned with the names of those."""
        kept = []
        for name in names:
            try:
                self._docker("network", "rm", name)
            except ComposeError as exc:
                if "not found" in exc.stderr or "No such network" in exc.stderr:
                    continue  # `docker compose down` removed it already
                if "active endpoints" not in exc.stderr:
                    raise
                users = self._docker(
                    "network", "inspect", name, "--format", "{{range .Containers}}{{.Name}} {{end}}",
                ).split()
                kept.append((name, tuple(sorted(users))))
        return tuple(kept)

    def volumes(self) -> list[str]:
        return list(self.inventory().volumes)

    def remove_volumes(self, names: list[str] | tuple[str, ...]) -> None:
        if names:
            self._docker("volume", "rm", "--force", *names)

    def anonymous_volumes(self, containers: list[Container] | tuple[Container, ...]) -> tuple[str, ...]:
        """The anonymous volumes of the containers: those Docker made for folders that their images
        declare as volumes and the lab maps to nothing (apache/kafka: /etc/kafka/secrets and
        /mnt/shared/config). Docker names them by a random id; the lab's own volumes have names."""
        if not containers:
            return ()
        out = self._docker("inspect", "--type", "container", "--format",
                           '{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}} {{end}}{{end}}',
                           *[c.id for c in containers])
        return tuple(sorted({name for name in out.split() if _ANONYMOUS.fullmatch(name)}))

    def remove_anonymous_volumes(self, names: tuple[str, ...]) -> None:
        """Remove them once their containers are gone. Neither `docker compose down` (but for -v, which
        takes the named ones too) nor `docker rm -v` does it for all: Compose recreates a container
        with its predecessor's anonymous volumes mounted by name, and `rm -v` keeps volumes mounted
        by name. One that a container of someone else's still uses (--volumes-from) stays."""
        if not names:
            return
        try:
            self._docker("volume", "rm", "--force", *names)
        except ComposeError as exc:
            if any("in use" not in line for line in exc.stderr.strip().splitlines()):
                raise

    def remove_containers(self, containers: list[Container] | tuple[Container, ...]) -> None:
        """Stop (as `docker compose down` does, with time to shut down cleanly) and remove, by id."""
        ids = [c.id for c in containers]
        if ids:
            self._docker("stop", *ids, timeout=60)
            self._docker("rm", "--force", *ids)

    def running_for(self, container: Container) -> float | None:
        """Seconds since the container last started (Docker's State.StartedAt); None if that is unknown."""
        import datetime

        try:
            started = self._docker("inspect", "--format", "{{.State.StartedAt}}", container.id or container.name)
        except KafkalabError:  # gone meanwhile
            return None
        # RFC 3339 with nanoseconds, "2024-05-01T12:34:56.123456789Z": Python reads microseconds at most.
        found = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)", started.strip())
        if found is None:
            return None
        when = datetime.datetime.fromisoformat(
            found[1] + (found[2] or "")[:7] + ("+00:00" if found[3] == "Z" else found[3])
        )
        if when.year < 2000:  # "0001-01-01T00:00:00Z": never started
            return None
        return max(time.time() - when.timestamp(), 0.0)

    def unpause(self, containers: list[Container]) -> None:
        self._docker("unpause", *[c.id for c in containers])

    def check_ports(
        self, ports: dict[str, int], own: set[str] | frozenset[str] = frozenset(),
        starting: set[str] | frozenset[str] = frozenset(),
    ) -> None:
        """Each port must be free on 127.0.0.1; name the container holding it when docker's is.
        A port that one of `own` (the lab's containers, by name) publishes is no conflict; nor is one
        that no container publishes, of a service whose container of the lab's was created (`starting`):
        the Compose of a killed `up` may be starting it, and a container binds its port before
        `docker ps` shows it running. (Were it another program's, `docker compose up` fails as PortInUse.)"""
        for purpose, port in ports.items():
            if port_free(port):
                continue
            holder = self.publishers(port)
            if (holder and set(holder) <= own) or (not holder and purpose in starting):
                continue
            holder = [h for h in holder if h not in own]
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

    # --- questions of kafkalab doctor, each bounded by call_timeout ----------------------------------

    def client_version(self) -> str:
        """`docker --version`, which needs no daemon: "Docker version 28.2.2, build e6534b4"."""
        return self._docker("--version").strip()

    def endpoint(self) -> str:
        """Where the docker CLI finds the daemon: DOCKER_HOST, or the current context's (no daemon needed)."""
        return self._docker("context", "inspect", "--format", "{{.Endpoints.docker.Host}}").strip()

    def daemon_version(self) -> tuple[str, str]:
        """The Engine's version and API version; DaemonDown or DockerSocketDenied when it does not answer."""
        # Not a tab between them: `docker version` expands tabs into spaces.
        engine, _, api = self._docker("version", "--format", "{{.Server.Version}}|{{.Server.APIVersion}}").strip() \
            .partition("|")
        return engine, api

    def compose_version(self) -> str:
        return self._docker("compose", "version", "--short").strip()

    def info(self) -> dict[str, Any]:
        """`docker info` as data: MemTotal, DockerRootDir, NCPU, ..."""
        found: dict[str, Any] = json.loads(self._docker("info", "--format", "{{json .}}"))
        return found

    def publishers(self, port: int) -> list[str]:
        """The containers that publish the port on the host."""
        return self._docker("ps", "--filter", f"publish={port}", "--format", "{{.Names}}").split()

    def pullable(self, image: str) -> str | None:
        """None when the image's registry has it (its manifest, without pulling); else what went wrong."""
        registry = image.split("/", 1)[0] if "/" in image else ""
        local = registry.split(":")[0] in ("127.0.0.1", "localhost")  # plain HTTP, as the daemon allows there
        try:
            self._docker("manifest", "inspect", *(["--insecure"] if local else []), image)
        except KafkalabError as exc:
            return exc.message
        return None

    def run_on_network(self, image: str, network: str, script: str, *args: str,
                       timeout: float) -> tuple[int | None, str]:
        """Run `sh -c SCRIPT ARGS` in a throwaway container of the image on the network, without
        pulling it (doctor's network check): its exit code (None when it ran over the timeout, and
        was removed) and its output."""
        docker_path()
        name = f"{self.settings.project}-doctor-{os.urandom(4).hex()}"
        # The label keeps the name it has always had: containers of earlier versions carry it too.
        command = ["run", "--rm", "--pull", "never", "--name", name,
                   "--label", f"dev.kafkalab.probe={self.settings.project}",
                   "--network", network, "--entrypoint", "sh", image, "-c", script, *args]
        if self.echo:
            self.echo(" ".join(["docker", *command]))
        try:
            done = run_docker(command, self.env(), timeout)
        except subprocess.TimeoutExpired:
            # The container outlives the docker CLI that started it: remove it, without waiting.
            # --volumes: with the anonymous volumes of the image (see anonymous_volumes), as --rm would.
            start_docker(["rm", "--force", "--volumes", name], self.env(), stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
            return None, ""
        return done.returncode, done.stdout + done.stderr

    # --- changes, through python-on-whales ------------------------------------------------------

    def _client(self) -> Any:
        if self._whales is None:
            docker_path()
            from python_on_whales import DockerClient

            if self.echo:
                _listen_to_whales()
            self._whales = DockerClient(compose_files=self.files, compose_project_name=self.settings.project)
        return self._whales

    @contextlib.contextmanager
    def _environment(self, **extra: str) -> Iterator[None]:
        """The resolved settings in os.environ while python-on-whales runs docker compose: the one
        place kafkalab changes os.environ. python-on-whales takes no environment: each of its calls
        runs docker with a copy of os.environ (DockerClient has compose_env_files, but Compose lets
        the process environment win over an --env-file, so a KAFKALAB_* variable in the user's
        shell would beat a --port flag inside the compose file).
        """
        resolved = {**self.settings.compose_env(), **self._secrets(), **extra}
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

    def env(self) -> dict[str, str]:
        """The environment of a docker command for the lab: the settings and the secured listener's secrets."""
        return {**os.environ, **self.settings.compose_env(), **self._secrets()}

    def _secrets(self) -> dict[str, str]:
        """The secured listener's users and PEM files (never in the lab's record)."""
        found = store.load(self.settings)
        return found.secret_env([b.name for b in self.spec.brokers]) if found else {}

    def _run(self, action: Callable[[Any], Any]) -> Any:
        from python_on_whales.exceptions import DockerException

        token = _echo_to.set(self.echo)
        try:
            with self._environment():
                return action(self._client())
        except DockerException as exc:
            raise translate_whales(exc, self.settings) from None
        finally:
            _echo_to.reset(token)

    def up(self, services: list[str], adopted: tuple[str, ...] = (), layout: str = state.PER_MODE) -> None:
        """Create and start the services, with the images already here (pulling is a phase of its
        own: Lab.pull). Orphans are left alone: under this project name, only what carries the
        lab's label is kafkalab's (Inventory.foreign keeps `up` from sharing a name).
        A lab of kafkalab 0.1 in the mode it was made in keeps broker 1 on its kafka-data (layout)."""
        self.remember(adopted, layout)
        if layout == state.LEGACY_PREFIX + self.settings.mode and LEGACY_DATA not in self.spec.volumes:
            self.files.append(compose_dir() / "extra" / "legacy-kafka-data.yaml")
            self._whales = None
        self._run(lambda d: d.compose.up(services=services, detach=True, pull="never", quiet=True))

    def remember(self, adopted: tuple[str, ...], layout: str) -> None:
        """Write the lab's record (kafkalab.lab.state): its settings, mode, volume layout and adopted volumes."""
        state.write(self.settings.project, {
            **self.settings.compose_env(), **recorded(self.settings), "KAFKALAB_MODE": self.settings.mode,
            state.LAYOUT_KEY: layout,
            "KAFKALAB_WITH": ",".join(self.settings.with_),  # read by kafkalab only, not by the compose files
            **({"KAFKALAB_ADOPTED_VOLUMES": ",".join(adopted)} if adopted else {}),
        })

    def missing_images(self, images: list[str]) -> list[str]:
        """Those of the images that are not on this machine (one `docker image ls` for all)."""
        out = self._docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}")
        here = set(out.split())
        return [i for i in images if (i if ":" in i.rsplit("/", 1)[-1] else i + ":latest") not in here]

    def pull(self, services: list[str]) -> Iterator[dict[str, Any]]:
        """`docker compose pull` of the services, as Compose's JSON progress events, one per line.

        A registry's failure comes as an event too (see kafkalab.docker.pull); what else Compose fails
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
            raise translate_whales(exc, self.settings) from None
        finally:
            _echo_to.reset(token)

    def stop(self, services: list[str]) -> None:
        self._run(lambda d: d.compose.stop(services=services))

    def down(self) -> None:
        """Remove the containers and network of this mode's file; volumes are removed by name."""
        self._run(lambda d: d.compose.down(quiet=True))

    def logs(
        self, services: list[str], tail: int | None, follow: bool, prefix: bool = True,
    ) -> Generator[str, None, None]:
        """`docker compose logs` of the services, line by line; it starts on the first iteration.

        Run here rather than through python-on-whales, which never ends its child: closing this
        generator (or leaving a loop over it, or an exception in it) ends `docker compose logs -f`.
        The settings go in the child's own environment: os.environ is left alone while it streams.
        """
        import tempfile

        docker_path()
        command = ["docker", "compose", *[a for f in self.files for a in ("--file", str(f))],
                   "--project-name", self.settings.project, "logs", "--no-color",
                   *(["--tail", str(tail)] if tail is not None else []), *(["--follow"] if follow else []),
                   *([] if prefix else ["--no-log-prefix"]), *services]
        if self.echo:
            self.echo(" ".join(command))
        # stderr in a file, not a pipe: a pipe nobody reads while stdout streams could fill and stall it.
        with tempfile.TemporaryFile() as stderr_file, start_docker(
            command[1:], self.env(), stdout=subprocess.PIPE, stderr=stderr_file,
        ) as child:
            assert child.stdout is not None
            try:
                for line in child.stdout:
                    yield line.decode("utf-8", "replace")
            finally:
                if child.poll() is None:  # left early: closed, an exception, Ctrl-C
                    child.terminate()
                    try:
                        child.wait(5)
                    except subprocess.TimeoutExpired:
                        child.kill()
            if child.wait() != 0:
                stderr_file.seek(0)
                stderr = stderr_file.read().decode("utf-8", "replace")
                raise translate(command, child.returncode, stderr, self.settings)

    def log_tail(self, service: str, lines: int) -> str:
        try:
            return "".join(self.logs([service], tail=lines, follow=False, prefix=False))
        except KafkalabError:
            return ""


def _columns(line: str, count: int) -> list[str]:
    """A tab-separated row of `docker ... --format`, padded: a label that is absent prints nothing."""
    cells = line.split("\t")
    return [*cells, *[""] * (count - len(cells))][:count]


def port_free(port: int) -> bool:
    """Nothing holds the port on 127.0.0.1: a lab could publish it."""
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
