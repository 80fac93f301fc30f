"""`kafkalab doctor`: why an application cannot reach the lab, one check at a time.

Each check ends as a row: passed (✔), failed (✘, with what to do), or not checked (○: a check it
needs failed, or it does not apply). The exit code names the first check that failed
(errors.DOCTOR_EXIT_CODES). Every docker call, connection and request has a bound of its own, and
all of them share one deadline: doctor ends within 15 s, even with a daemon or a broker that hangs.

The broker is asked twice: from this machine (its metadata, then whether each advertised address
resolves to one that answers: `localhost` may resolve to ::1 first while Docker publishes on
127.0.0.1 only), and from a container on the lab's network, as a service of yours would be: the
lab's own broker image, running Kafka's BrokerApiVersionsCommand with its java and its jars (the
network check, NETWORK_CHECK_SCRIPT).

May import: kafkalab.errors, kafkalab.lab.modes, kafkalab.lab.status, kafkalab.lab.connection, kafkalab.lab.secured,
kafkalab.docker.compose and .run, kafkalab.kafka.cluster; never kafkalab.lab.lab, which imports this module
(Lab.doctor() calls diagnose with itself: a DiagnosedLab).
"""

from __future__ import annotations

import dataclasses
import os
import re
import socket
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from kafkalab.errors import DOCTOR_EXIT_CODES, DockerSocketDenied, KafkalabError
from kafkalab.lab.modes import MODES

if TYPE_CHECKING:
    from kafkalab.docker.compose import Compose
    from kafkalab.docker.models import Container
    from kafkalab.lab.connection import LabNetwork
    from kafkalab.settings import Settings


class DiagnosedLab(Protocol):
    """What doctor asks of a kafkalab.lab.lab.Lab."""

    settings: Settings
    compose: Compose

    def in_running_mode(self, containers: list[Container]) -> DiagnosedLab: ...

    def network(self, containers: tuple[Container, ...] | list[Container] = ()) -> LabNetwork: ...

DEADLINE = 12.0  # seconds for all of it, within the 15 s promised
DOCKER_CALL = 4.0  # one docker command
METADATA = 3.0  # the metadata request from this machine
NETWORK_CHECK = 8.0  # the container on the lab's network: a JVM starts in it (about 2 s)
CONNECT = 1.0  # one TCP connection

# The checks, in the order they run and are shown, each with its title.
CHECKS: tuple[tuple[str, str], ...] = (
    ("docker", "docker CLI"),
    ("daemon", "Docker daemon"),
    ("compose", "Compose v2"),
    ("socket", "Docker socket"),
    ("ports", "lab's ports"),
    ("resources", "disk and memory"),
    ("images", "images"),
    ("lab", "lab"),
    ("host", "broker from this machine"),
    ("network", "broker from the lab's network"),
    ("ui", "kafka-ui"),
    ("schema-registry", "Schema Registry"),
    ("connect", "Kafka Connect"),
    ("advertise", "advertised address"),
)
TITLES = dict(CHECKS)

# What the stack takes, about (the heaps of the compose files, and the JVMs' own memory around them).
MEMORY_MIB = {"kafka": 512, "kafka-2": 512, "kafka-3": 512, "zookeeper": 256, "kafka-ui": 512}
DISK_GIB = 1.0  # free room for the data and the logs; and this much more per image still to pull
GIB = 1024**3

# Kafka's own client in the broker's image: apache/kafka has its jars in /opt/kafka/libs, cp-kafka in
# /usr/share/java/kafka; Kafka 4 has BrokerApiVersionsCommand in kafka-tools, Kafka 3 in its core.
NETWORK_CHECK_SCRIPT = r"""
command -v java >/dev/null 2>&1 || exit 98
for main in org.apache.kafka.tools.BrokerApiVersionsCommand kafka.admin.BrokerApiVersionsCommand; do
  out=$(java -Xmx128m -XX:TieredStopAtLevel=1 -cp '/opt/kafka/libs/*:/usr/share/java/kafka/*' "$main" \
        --bootstrap-server "$1" 2>&1)
  rc=$?
  case $out in *"Could not find or load main class"*) continue ;; esac
  printf '%s\n' "$out"
  exit $rc
done
exit 97
"""
_ANSWERED = re.compile(r"^(\S+:\d+) \(id: (\d+)", re.MULTILINE)


@dataclasses.dataclass(frozen=True)
class Check:
    key: str
    ok: bool | None  # None: not checked
    detail: str
    fix: str | None = None

    @property
    def title(self) -> str:
        return TITLES[self.key]

    @property
    def mark(self) -> str:
        return "✔" if self.ok else "○" if self.ok is None else "✘"

    def to_dict(self) -> dict[str, Any]:
        result = "pass" if self.ok else "not checked" if self.ok is None else "fail"
        return {"check": self.key, "title": self.title, "result": result, "detail": self.detail, "fix": self.fix}


@dataclasses.dataclass(frozen=True)
class Diagnosis:
    project: str
    mode: str
    checks: tuple[Check, ...]
    seconds: float

    @property
    def failed(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.ok is False)

    @property
    def exit_code(self) -> int:
        return DOCTOR_EXIT_CODES[self.failed[0].key] if self.failed else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "mode": self.mode,
            "ok": not self.failed,
            "first_failure": self.failed[0].key if self.failed else None,
            "exit_code": self.exit_code,
            "seconds": round(self.seconds, 2),
            "checks": [c.to_dict() for c in self.checks],
        }


def diagnose(lab: DiagnosedLab, deadline: float = DEADLINE) -> Diagnosis:
    """Every check of kafkalab doctor, within `deadline` seconds."""
    return _Doctor(lab, time.monotonic() + deadline).run()


def _outcome(future: Future[Any], deadline: float) -> Any:
    """A call's value, or the exception it raised (returned, not raised); a TimeoutError when it has
    not ended by the deadline, and doctor goes on without it (the call is bounded too, and ends)."""
    try:
        return future.result(timeout=max(deadline - time.monotonic(), 0))
    except Exception as exc:  # concurrent.futures.TimeoutError is TimeoutError
        return exc if future.done() else TimeoutError("no answer before doctor's deadline")


def _failed(value: Any) -> bool:
    return isinstance(value, Exception)


def _why(value: Any) -> str:
    return value.message if isinstance(value, KafkalabError) else str(value)


class _Doctor:
    def __init__(self, lab: DiagnosedLab, deadline: float) -> None:
        from kafkalab.docker.compose import Compose

        self.lab = lab
        self.settings = lab.settings
        self.deadline = deadline
        self.compose: Compose = Compose(lab.settings, lab.compose.echo)
        self.compose.call_timeout = DOCKER_CALL
        self.compose.deadline = deadline
        self.checks: dict[str, Check] = {}
        self.mode: str | None = None  # the lab's, once its containers are known

    def bound(self, cap: float) -> float:
        return max(0.1, min(cap, self.deadline - time.monotonic()))

    def add(self, key: str, ok: bool | None, detail: str, fix: str | None = None) -> None:
        self.checks[key] = Check(key, ok, detail, fix if ok is False else None)

    def skip_rest(self, why: str) -> None:
        for key, _ in CHECKS:
            if key not in self.checks:
                self.add(key, None, f"not checked: {why}")

    def run(self) -> Diagnosis:
        started = time.monotonic()
        s = self.settings
        # The checks' calls run side by side; a call still running at the deadline is left to end
        # on its own bound, and doctor answers without waiting for it.
        self.pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="kafkalab-doctor")
        try:
            self._run()
        finally:
            self.pool.shutdown(wait=False, cancel_futures=True)
        for key, _ in CHECKS:  # a check still waiting at the deadline: it hangs, and that is its failure
            if key not in self.checks:
                self.add(key, False, f"no answer within doctor's {DEADLINE:.0f} s",
                         "Run `kafkalab -v doctor`: it shows each docker command as it runs.")
        ordered = tuple(self.checks[key] for key, _ in CHECKS)
        return Diagnosis(s.project, self.mode or s.with_record().mode, ordered, time.monotonic() - started)

    # --- the checks -----------------------------------------------------------------------------

    def _run(self) -> None:
        c = self.compose
        from kafkalab.docker.run import docker_path
        from kafkalab.errors import DockerNotFound

        try:
            path = docker_path()
        except DockerNotFound as not_found:
            self.add("docker", False, "there is no `docker` on PATH", not_found.hint)
            self.ports(None)
            self.skip_rest("there is no docker CLI")
            return
        asks: dict[str, Callable[[], Any]] = {
            "client": c.client_version, "endpoint": c.endpoint, "daemon": c.daemon_version,
            "compose": c.compose_version, "info": c.info, "containers": c.containers,
        }
        calls = {name: self.pool.submit(fn) for name, fn in asks.items()}
        client = _outcome(calls["client"], self.deadline)
        self.add("docker", True, f"{path}: {client}" if not _failed(client) else path)
        daemon = _outcome(calls["daemon"], self.deadline)
        endpoint = _outcome(calls["endpoint"], self.deadline)
        endpoint = "" if _failed(endpoint) else endpoint
        self.daemon(daemon, endpoint)
        self.compose_v2(_outcome(calls["compose"], self.deadline))
        self.socket(daemon, endpoint)
        containers = _outcome(calls["containers"], self.deadline)
        if _failed(daemon) or _failed(containers):
            self.ports(None)
            self.skip_rest("the Docker daemon does not answer")
            return
        lab = self.lab.in_running_mode(containers)
        self.mode = lab.settings.mode
        self.ports(containers, lab.settings)
        from kafkalab.lab.secured import check_advertised

        recorded = lab.settings.with_record()
        advertised = self.pool.submit(check_advertised, recorded)  # the resolver's own timeouts run past ours
        missing = self.images(lab.settings)
        self.resources(_outcome(calls["info"], self.deadline), endpoint, lab.settings, containers, missing)
        self.lab_state(containers, lab.settings)
        self.advertise(advertised, recorded)
        running = {x.service for x in containers if x.running}
        brokers = [b.name for b in MODES[lab.settings.mode].brokers]
        if not containers:
            self.skip_rest("the lab is not running")
            return
        host = self.pool.submit(self.host, lab.settings)
        inside = self.pool.submit(self.inside, lab, containers) if running & set(brokers) else None
        ui = self.pool.submit(self.answers, "ui", "kafka-ui", lab.settings, containers)
        registry = self.pool.submit(self.answers, "schema-registry", "schema-registry", lab.settings, containers)
        worker = self.pool.submit(self.answers, "connect", "connect", lab.settings, containers)
        for check in (host, inside, ui, registry, worker):
            if check is not None:
                _outcome(check, self.deadline + 0.5)  # each bounds itself below the deadline
        if inside is None:
            self.add("network", None, "not checked: no broker container runs")

    def advertise(self, call: Future[tuple[bool | None, str, str | None]], s: Settings) -> None:
        """secured.check_advertised's answer, by doctor's deadline: a resolver still silent then fails it."""
        from kafkalab.security.listener import advertised_host

        found = _outcome(call, self.deadline)
        if not _failed(found):
            self.add("advertise", *found)
            return
        why = f"could not be checked: {_why(found)}" if call.done() else "did not resolve by doctor's deadline"
        self.add("advertise", False, f"{advertised_host(s)} {why}",
                 "Check this machine's DNS (/etc/resolv.conf), or advertise an address: --advertise.")

    def daemon(self, found: Any, endpoint: str) -> None:
        if isinstance(found, DockerSocketDenied):
            self.add("daemon", None, "not checked: this user may not use its socket (see below)")
        elif _failed(found):
            host = os.environ.get("DOCKER_HOST")
            fix = (f"DOCKER_HOST is {host}: unset it, or point it at a daemon that runs; "
                   "else start the daemon (for example `sudo systemctl start docker`)." if host else
                   "Start the Docker daemon (for example `sudo systemctl start docker`, or Docker Desktop).")
            self.add("daemon", False, _why(found), fix)
        else:
            engine, api = found
            self.add("daemon", True, f"Docker Engine {engine} (API {api})" + (f" at {endpoint}" if endpoint else ""))

    def compose_v2(self, found: Any) -> None:
        from kafkalab.errors import ComposeV1Only

        if not _failed(found) and found.lstrip("v")[:2] in ("2.", "3.", "4.", "5."):
            self.add("compose", True, f"Docker Compose {found}")
        else:
            detail = f"`docker compose version` reports {found}" if not _failed(found) else _why(found)
            self.add("compose", False, detail, ComposeV1Only.hint)

    def socket(self, daemon: Any, endpoint: str) -> None:
        path = endpoint.removeprefix("unix://") if endpoint.startswith("unix://") else ""
        if isinstance(daemon, DockerSocketDenied):
            self.add("socket", False, f"this user may not use {path or endpoint}", DockerSocketDenied.hint)
        elif not _failed(daemon):
            self.add("socket", True, f"{endpoint}: this user may use it" if endpoint else "the daemon answers")
        elif path and not os.path.exists(path):
            self.add("socket", None, f"not checked: there is no socket at {path} (see the daemon)")
        elif path and not os.access(path, os.R_OK | os.W_OK):
            self.add("socket", False, f"this user may not use {path}", DockerSocketDenied.hint)
        else:
            self.add("socket", None, f"not checked: the daemon at {endpoint or 'its address'} does not answer")

    def ports(self, containers: list[Container] | None, settings: Settings | None = None) -> None:
        from kafkalab.docker.compose import port_free

        s = settings or self.settings.with_record()
        spec = s.spec
        shown, failures, flags, unknown = [], [], [], []
        for service in spec.services:
            port = service.host_port(s)
            ours = [c.name for c in containers or () if any(p.split("->")[0].endswith(f":{port}") for p in c.ports)]
            if ours:
                shown.append(f"{port} ({service.name}) this lab's")
                continue
            if port_free(port):
                shown.append(f"{port} ({service.name}) free")
                continue
            holders = self.compose.publishers(port) if containers is not None else []
            program = _process_holding(port) if not holders else None
            if containers is None and program is not None and program.startswith("docker-proxy "):
                unknown.append(f"{port} ({service.name})")  # a container's: which, only the daemon knows
                continue
            failures.append(f"{port} ({service.name}) is taken by "
                            + (f"container {holders[0]}" if holders else program or "another program"))
            flags.append(f"--{service.port.replace('_', '-')} (KAFKALAB_{service.port.upper()})")
        if failures:
            them = "it" if len(failures) == 1 else "them"
            self.add("ports", False, "; ".join(failures),
                     f"Stop what holds {them}, or give the lab other ports: {', '.join(flags)}.")
        elif unknown:
            self.add("ports", None, f"not checked: {', '.join(unknown)} published by a container, and whose "
                     "cannot be told while the daemon does not answer")
        else:
            self.add("ports", True, ", ".join(shown))

    def images(self, s: Settings) -> list[str]:
        """The images of the lab's mode: here, or pullable under the pull setting. Returns those to pull."""
        wanted = sorted({getattr(s, service.image) for service in s.spec.services})
        try:
            missing = self.compose.missing_images(wanted)
        except KafkalabError as exc:
            self.add("images", False, exc.message, exc.hint)
            return []
        to_pull = wanted if s.pull == "always" else missing
        if to_pull and s.pull == "never":
            self.add("images", False, f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not here, and "
                     "the pull setting is never",
                     "Allow pulling (KAFKALAB_PULL=missing), or load the image (`docker load`; on the test bed "
                     "`make images`).")
            return missing
        asked = {image: self.pool.submit(self.compose.pullable, image) for image in to_pull}
        refused = {image: _outcome(call, self.deadline) for image, call in asked.items()}
        refused = {image: why for image, why in refused.items() if why is not None}
        if refused:
            image, why = next(iter(refused.items()))
            self.add("images", False, f"{image} cannot be pulled: {_why(why)}",
                     "Check the image name (KAFKALAB_IMAGE_*), the network or proxy, and `docker login REGISTRY` "
                     "if it wants one; or load it and use --pull never.")
        elif to_pull:
            here = len(wanted) - len(missing)
            self.add("images", True, f"{here} of {len(wanted)} here; pullable: {', '.join(to_pull)}")
        else:
            self.add("images", True, f"all {len(wanted)} here: {', '.join(wanted)}")
        return missing

    def resources(self, info: Any, endpoint: str, s: Settings, containers: list[Container], missing: list[str]) -> None:
        if _failed(info):
            self.add("resources", False, _why(info), "Run `docker info`: it says what the daemon cannot tell.")
            return
        need_memory = sum(MEMORY_MIB.get(x.name, x.memory_mib) for x in s.spec.services) * 1024**2
        need_disk = (DISK_GIB + len(missing)) * GIB
        total = int(info.get("MemTotal") or 0)
        running = any(c.running for c in containers)
        local = endpoint.startswith("unix://") and "Docker Desktop" not in str(info.get("OperatingSystem", ""))
        available = _mem_available() if local and not running else None
        free = _disk_free(str(info.get("DockerRootDir", ""))) if local else None
        parts = [f"Docker may use {total / GIB:.1f} GiB of memory"
                 + (f" ({available / GIB:.1f} GiB available)" if available is not None else "")]
        parts.append(f"{free / GIB:.1f} GiB free at {info.get('DockerRootDir')}" if free is not None else
                     "its disk is not on this machine: not measured")
        parts.append(f"the {s.mode} lab needs about {need_memory / GIB:.1f} GiB of memory and "
                     f"{need_disk / GIB:.0f} GiB of disk")
        short = []
        if total and total < need_memory:
            short.append("memory")
        elif available is not None and available < need_memory:
            short.append("free memory")
        if free is not None and free < need_disk:
            short.append("disk")
        fixes = {
            "memory": "give Docker more memory (Docker Desktop: Settings, Resources)",
            "free memory": "stop what else uses memory, or start the lab with --no-ui (0.5 GiB less)",
            "disk": "free room: `docker system prune` removes unused images, containers and build cache",
        }
        fix = "; ".join(fixes[x] for x in short)
        self.add("resources", not short, "; ".join(parts), (fix[:1].upper() + fix[1:] + ".") if short else None)

    def lab_state(self, containers: list[Container], s: Settings) -> None:
        up = f"`kafkalab up{'' if s.mode == 'kraft' else ' --mode ' + s.mode}`"
        if not containers:
            self.add("lab", False, f"the lab {s.project} is not running", f"Start it: {up}.")
            return
        wrong = [c for c in containers if not c.running]
        paused = [c.name for c in wrong if c.state == "paused"]
        if wrong:
            self.add("lab", False, "; ".join(f"{c.service} is {c.state} ({c.status})" for c in wrong),
                     f"`docker unpause {' '.join(paused)}`, or {up}" if paused else
                     f"{up} (with this lab's options) starts what stopped; `kafkalab logs SERVICE` says why "
                     "it stopped.")
            return
        absent = [n for n in s.spec.service_names if n not in {c.service for c in containers}]
        note = f" ({', '.join(absent)} not started)" if absent else ""
        self.add("lab", True, f"running in {s.mode} mode: {', '.join(c.service for c in containers)}{note}")

    def host(self, s: Settings) -> None:
        from kafkalab.errors import BrokerUnreachable
        from kafkalab.kafka import cluster
        from kafkalab.lab import secured

        bootstrap = s.lab_bootstrap
        try:
            cluster.check_reachable(bootstrap, timeout=CONNECT)  # refused: at once, where librdkafka would retry
            info = cluster.cluster_info(bootstrap, timeout=self.bound(METADATA), conf=secured.client_settings(s))
        except BrokerUnreachable as exc:
            self.add("host", False, exc.message,
                     "`kafkalab logs kafka` says why the broker does not answer; `kafkalab up` starts what stopped.")
            return
        expected = len(MODES[s.mode].brokers)
        problems, reached = [], []
        for broker_id, address in info.brokers:
            host, _, port = address.rpartition(":")
            addresses, error = reach(host.strip("[]"), int(port), CONNECT)
            if error is not None:
                problems.append(f"broker {broker_id} advertises {address}, and {host} does not resolve here ({error})")
            elif not addresses[0][1]:
                others = [a for a, ok in addresses[1:] if ok]
                problems.append(
                    f"broker {broker_id} advertises {address}: {host} resolves to {addresses[0][0]} first, where "
                    "nothing answers" + (f" (it does at {others[0]}: a client that tries only the first address "
                                         "fails)" if others else ""))
            else:
                reached.append(f"{address} ({addresses[0][0]})")
        if len(info.brokers) < expected:
            problems.append(f"{len(info.brokers)} of {expected} brokers are in the metadata")
        if problems:
            unresolved = len(reached) < len(info.brokers)
            self.add("host", False, "; ".join(problems),
                     "Make localhost resolve to 127.0.0.1 first (`127.0.0.1 localhost` before `::1 localhost` in "
                     "/etc/hosts), or have clients prefer IPv4 (librdkafka: broker.address.family=v4; Java: "
                     "-Djava.net.preferIPv4Stack=true)." if unresolved else
                     "`kafkalab status` shows which broker is missing, and `kafkalab up` starts it.")
            return
        self.add("host", True, f"metadata from {bootstrap} (cluster {info.cluster_id}); advertised and reachable: "
                 + ", ".join(reached))

    def inside(self, lab: DiagnosedLab, containers: list[Container]) -> None:
        s = lab.settings
        network = lab.network(tuple(containers))
        # The image a broker of the lab runs: it is here, and it has Kafka's own client in it.
        brokers = {b.name for b in MODES[s.mode].brokers}
        image = next((c.image for c in containers if c.service in brokers and c.running),
                     getattr(s, MODES[s.mode].brokers[0].image))
        try:
            code, out = self.compose.run_on_network(image, network.name, NETWORK_CHECK_SCRIPT, "network-check",
                                                    network.bootstrap, timeout=self.bound(NETWORK_CHECK))
        except KafkalabError as exc:
            self.add("network", False, exc.message, exc.hint)
            return
        if code in (97, 98):
            what = "no java" if code == 98 else "no BrokerApiVersionsCommand"
            self.add("network", None, f"not checked: the image {image} has {what}")
            return
        answered = {address for address, _ in _ANSWERED.findall(out)}
        expected = network.bootstrap.split(",")
        missing = [a for a in expected if a not in answered]
        where = f"from a container of {image} on the network {network.name}"
        fix = (f"`kafkalab logs {missing[0].split(':')[0] if missing else 'kafka'}` says why the broker does not "
               f"answer; a service of yours must be on the network {network.name} "
               "(`kafkalab connect --format compose`).")
        if code is None:
            self.add("network", False, f"no answer {where} within {self.bound(NETWORK_CHECK):.0f} s", fix)
        elif missing:
            self.add("network", False, f"{', '.join(missing)} did not answer {where}: {_first_error(out)}", fix)
        else:
            verb = "answers" if len(expected) == 1 else "answer"
            self.add("network", True, f"{', '.join(expected)} {verb} {where} (Kafka's BrokerApiVersionsCommand)")

    def answers(self, key: str, name: str, s: Settings, containers: list[Container]) -> None:
        """The check of a service that answers HTTP and starts after the brokers: kafka-ui, the Schema Registry."""
        from kafkalab.lab.status import after_broker_state, service_health

        found = [c for c in containers if c.service == name]
        if not found or name not in s.spec.service_names:
            self.add(key, None, f"not checked: the lab runs without {'' if key == 'ui' else 'a '}{TITLES[key]}"
                     + ("" if key == "ui" else f" (`kafkalab up --with {name}` adds it)"))
            return
        health = service_health(s.spec.service(name), s, timeout=self.bound(2.0))
        if health.healthy:
            self.add(key, True, f"{health.url} answers ({health.detail[:40]})")
            return
        running = found[0].running
        up_for = self.compose.running_for(found[0]) if running and not health.answered else None
        if after_broker_state(False, health.answered, running, up_for, s.start_window) == "starting":
            # Not answering yet is how a starting JVM web app is: no failure, and no verdict yet either.
            self.add(key, None, f"not checked: {name} is starting, {up_for:.0f} s after its start, within its "
                     f"start window of {s.start_window:g} s (start_window): {health.url}: {health.detail}")
            return
        late = f"; not within {s.start_window:g} s of its start (start_window)" if running and up_for else ""
        reaches = "the broker at kafka:9092" if key == "ui" else f"the brokers at {s.spec.internal_bootstrap}"
        self.add(key, False, f"{health.url}: {health.detail}{late}",
                 f"{name} answers once it has started (seconds after the broker) and reaches {reaches}; "
                 f"`kafkalab logs {name}` says why it does not.")


# --- helpers, without Docker ----------------------------------------------------------------------


def reach(
    host: str, port: int, timeout: float, resolve: Callable[..., Any] | None = None,
) -> tuple[list[tuple[str, bool]], str | None]:
    """Each address the host name resolves to, in the resolver's order (clients try them in it), and
    whether a TCP connection to it succeeds; or why the name does not resolve."""
    try:
        infos = (resolve or socket.getaddrinfo)(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return [], exc.strerror or str(exc)
    found: list[tuple[str, bool]] = []
    for family, kind, proto, _name, sockaddr in infos:
        if any(address == sockaddr[0] for address, _ in found):
            continue
        with socket.socket(family, kind, proto) as sock:
            sock.settimeout(timeout)
            try:
                sock.connect(sockaddr)
                answered = True
            except OSError:
                answered = False
        found.append((str(sockaddr[0]), answered))
    return found, None



def _process_holding(port: int) -> str | None:
    """The program with a socket bound to the port, as "NAME (pid N)", where Linux's /proc shows it."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > 9 and int(fields[1].rsplit(":", 1)[1], 16) == port and fields[2].endswith(":0000"):
                inodes.add(f"socket:[{fields[9]}]")
    if not inodes:
        return None
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
            if any(os.readlink(f"/proc/{pid}/fd/{fd}") in inodes for fd in fds):
                return f"{Path(f'/proc/{pid}/comm').read_text().strip()} (pid {pid})"
        except OSError:  # gone, or another user's
            continue
    return None


def _mem_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def _disk_free(path: str) -> int | None:
    try:
        stat = os.statvfs(path)
    except OSError:
        return None
    return stat.f_bavail * stat.f_frsize


def _first_error(output: str) -> str:
    """The line of a Java tool's output that says what went wrong, without its stack trace."""
    lines = [line.strip() for line in output.splitlines() if line.strip() and not line.startswith(("\t", " "))]
    chosen = next((line for line in lines if "Exception" in line or "rror" in line), lines[0] if lines else "no output")
    return chosen[:200]
