"""What `kafkalab status` reports: LabStatus and ServiceStatus, the health of each service that
answers HTTP and starts after the brokers (kafka-ui, the optional services: the Schema Registry), and
assembling a status from what Docker and Kafka said.

May import: kafkalab.errors, kafkalab.settings, kafkalab.lab.modes, kafkalab.lab.connection, and
kafkalab.docker.compose and kafkalab.kafka.cluster for their types only. Lab (kafkalab.lab.lab) asks
Docker and Kafka, then hands their answers here.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Literal

from kafkalab.lab.connection import LabNetwork
from kafkalab.lab.modes import MODES, OPTIONAL, Service

if TYPE_CHECKING:
    from kafkalab.connectors.client import ConnectorState
    from kafkalab.docker.compose import Compose
    from kafkalab.docker.models import Container
    from kafkalab.kafka.cluster import ClusterInfo

LabState = Literal["healthy", "starting", "degraded", "stopped", "not running"]
# A service that starts after the brokers (modes.Service.after_broker): answers; runs and has not
# answered yet, within the start window; or neither, a fault.
ServiceState = Literal["healthy", "starting", "failed"]
UI_REQUEST_TIMEOUT = 2.0  # seconds one health request to kafka-ui (or another such service) may take


@dataclasses.dataclass(frozen=True)
class ServiceStatus:
    """The health of a service that answers HTTP (modes.Service.health_path): kafka-ui, the Schema Registry."""

    url: str
    healthy: bool
    detail: str
    starting: bool = False  # it runs and has not answered yet, within the start window: no fault
    answered: bool = False  # an HTTP answer came, healthy or not: it has started
    starting_for: float | None = None  # seconds since its container started, while starting
    service: str = "kafka-ui"
    internal_url: str = ""  # its address on the lab's network, for an optional service

    @property
    def state(self) -> ServiceState:
        return "healthy" if self.healthy else "starting" if self.starting else "failed"

    def to_dict(self) -> dict[str, Any]:
        found = {**dataclasses.asdict(self), "state": self.state}
        del found["service"]  # the key it is shown under says which
        if not self.internal_url:
            del found["internal_url"]
        return found


UiStatus = ServiceStatus  # kafka-ui's, by the name it had before the optional services


@dataclasses.dataclass(frozen=True)
class LabStatus:
    project: str
    mode: str
    state: LabState
    containers: tuple[Container, ...]
    broker: ClusterInfo | None
    broker_error: str | None
    ui: UiStatus | None
    problems: tuple[str, ...] = ()  # what is wrong, one line each
    hint: str | None = None  # what to do about it
    network: LabNetwork | None = None  # the network containers join, and the brokers' address on it
    optional: tuple[ServiceStatus, ...] = ()  # the health of each optional service the lab runs
    # The connectors of the lab's Kafka Connect and their tasks' states; None when it runs none, or it
    # did not answer.
    connectors: tuple[ConnectorState, ...] | None = None
    security: str = "plaintext"  # the EXTERNAL listener's security mode
    advertised: str = ""  # other machines' bootstrap when the lab is exposed (--expose); "" when not

    @property
    def healthy(self) -> bool:
        return self.state == "healthy"

    def service(self, name: str) -> ServiceStatus | None:
        """The health of an optional service (OPTIONAL) by name; None when the lab runs without it."""
        return next((x for x in self.optional if x.service == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "mode": self.mode,
            "state": self.state,
            "services": [
                {"service": c.service, "container": c.name, "state": c.state, "status": c.status,
                 "ports": list(c.ports), "image": c.image}
                for c in self.containers
            ],
            "broker": self.broker.to_dict() if self.broker else None,
            "broker_error": self.broker_error,
            "ui": self.ui.to_dict() if self.ui else None,
            "problems": list(self.problems),
            "hint": self.hint,
            "network": dataclasses.asdict(self.network) if self.network else None,
            "security": self.security,
            "advertised_bootstrap": self.advertised or None,
            **{o.key: (found.to_dict() if (found := self.service(name)) else None) for name, o in OPTIONAL.items()},
            "connectors": None if self.connectors is None else [c.to_dict() for c in self.connectors],
        }


def assemble(
    compose: Compose, containers: tuple[Container, ...], info: ClusterInfo | None, error: str | None,
    ui: ServiceStatus | None, network: LabNetwork, optional: tuple[ServiceStatus, ...] = (),
    connectors: tuple[ConnectorState, ...] | None = None,
) -> LabStatus:
    """The status of the lab of compose's settings, from its containers, the brokers' answer (or
    why there is none), the health of kafka-ui and of the optional services, and the states of the
    connectors of its Kafka Connect (a failed connector or task makes the lab degraded, naming it)."""
    s = compose.settings
    brokers = len(compose.spec.brokers)
    problems = [f"{c.service} is {c.state} ({c.status})." for c in containers if not c.running]
    faulty = {c.service for c in containers if not c.running}  # the services that problems are about
    if info is not None and len(info.brokers) < brokers and not problems:
        problems.append(f"{len(info.brokers)} of {brokers} brokers answer.")
        faulty.add("brokers")
    answering = []
    for asked in (*([ui] if ui is not None else []), *optional):
        health = asked if asked.healthy else after_broker(compose, asked.service, asked, containers)
        if not health.healthy and not health.starting:
            problems.append(f"{health.service} does not answer: {health.detail}.")
            faulty.add(health.service)
        answering.append(health)
    if ui is not None:
        ui, *answering = answering
    optional = tuple(answering)
    broken = [c for c in connectors or () if c.failed]
    problems += [f"connector {c.name}: {'; '.join(c.failed)}." for c in broken]
    late = {x.name for x in compose.spec.services if x.after_broker}
    paused = [c.name for c in containers if c.state == "paused"]
    if broken and len(problems) == len(broken):
        name = broken[0].name
        hint = (f"`kafkalab connector status {name}` shows the whole trace; once the cause is fixed, "
                f"`kafkalab connector restart {name} --include-tasks` restarts it.")
    elif paused:
        hint = f"Unpause: `docker unpause {' '.join(paused)}` (`kafkalab up` does it too)."
    elif problems and faulty <= late:
        # The brokers are fine: `up` would change nothing for a service that runs and does not
        # answer, and one that exited would exit again. Its log says why.
        name = sorted(faulty)[0]
        exited = any(c.service == name and not c.running for c in containers)
        hint = f"`kafkalab logs {name}` says why it " + (
            "stopped (then `kafkalab up` starts it again)." if exited else "does not answer.")
    elif problems:
        hint = f"`kafkalab up{'' if s.mode == 'kraft' else ' --mode ' + s.mode}` (with this lab's options) " \
               "starts what stopped; `kafkalab logs SERVICE` says why it stopped."
    else:
        hint = None
    good = not problems and info is not None and len(info.brokers) == brokers
    stopped = not any(c.running or c.state == "paused" for c in containers)
    state: LabState = "healthy" if good else "stopped" if stopped else "degraded"
    young = _brokers_starting(compose, containers) if state == "degraded" and not problems else None
    if young is not None:  # a broker that runs and has not answered yet, within the start window, is no fault
        state = "starting"
        error = f"Starting: a broker's container started {young:.0f} s ago. {error or ''}".strip()
        hint = "`kafkalab up` waits until every broker answers (`kafkalab logs kafka` shows how far it is)."
    return LabStatus(s.project, s.mode, state, containers, info, error, ui, tuple(problems), hint, network, optional,
                     connectors)


def _brokers_starting(compose: Compose, containers: tuple[Container, ...]) -> float | None:
    """Seconds since the youngest broker container started, when every broker container runs and
    that is within the start window (its brokers are starting); None otherwise."""
    names = {b.name for b in compose.spec.brokers}
    ours = [c for c in containers if c.service in names]
    if not ours or not all(c.running for c in ours):
        return None
    ages = [age for c in ours if (age := compose.running_for(c)) is not None]
    youngest = min(ages, default=None)
    return youngest if youngest is not None and youngest < compose.settings.start_window else None


def after_broker(
    compose: Compose, service: str, health: ServiceStatus, containers: tuple[Container, ...],
) -> ServiceStatus:
    """The health of a service that starts after the brokers and did not answer healthy: starting
    (how long so far), or a fault, as after_broker_state says."""
    container = next((c for c in containers if c.service == service), None)
    running = container is not None and container.running
    up_for = compose.running_for(container) if container is not None and running else None
    window = compose.settings.start_window
    state = after_broker_state(health.healthy, health.answered, running, up_for, window)
    if state == "starting":
        return dataclasses.replace(health, starting=True, starting_for=up_for)
    detail = health.detail
    if running and not health.answered and up_for is not None:
        detail += f"; not within {window:g} s of its start (the start_window setting)"
    return dataclasses.replace(health, starting=False, detail=detail)


def after_broker_state(
    healthy: bool, answered: bool, running: bool, up_for: float | None, window: float,
) -> ServiceState:
    """The state of a service that starts after the brokers (kafka-ui, a JVM web application that
    listens only once it has started): healthy; starting while its container runs and it has not
    answered at all, for less than the start window since the container started; else a fault (it
    exited, took too long, or answered that it is not well)."""
    if healthy:
        return "healthy"
    if running and not answered and up_for is not None and up_for < window:
        return "starting"
    return "failed"


def ui_health(url: str, timeout: float = UI_REQUEST_TIMEOUT) -> ServiceStatus:
    """GET /actuator/health, kafka-ui's health endpoint (the Spring Boot actuator)."""
    return http_health(MODES["kraft"].service("kafka-ui"), url, timeout)


def service_health(service: Service, settings: Any, timeout: float = UI_REQUEST_TIMEOUT) -> ServiceStatus:
    """The health of one of the lab's services that answer HTTP, at its published port."""
    return http_health(service, service.url(settings), timeout)


def http_health(service: Service, url: str, timeout: float = UI_REQUEST_TIMEOUT) -> ServiceStatus:
    """GET the service's health path at url: healthy on a 200 whose body holds its health_body."""
    import http.client
    from urllib.parse import urlsplit

    where = urlsplit(url)  # the service's URL may hold its API's path: the health path is from the root
    internal = service.internal_url if service.name in OPTIONAL else ""
    conn = http.client.HTTPConnection(where.hostname or "localhost", where.port or 80, timeout=timeout)
    try:
        conn.request("GET", service.health_path)
        response = conn.getresponse()
        body = response.read().decode("utf-8", "replace")
    except (OSError, http.client.HTTPException) as exc:  # refused, reset, timed out, or not HTTP
        return ServiceStatus(url, False, f"no answer ({exc.__class__.__name__})", service=service.name,
                             internal_url=internal)
    finally:
        conn.close()
    healthy = response.status == 200 and service.health_body in body
    # An answer it gives while it starts is not yet its answer: within the start window it is starting.
    answered = response.status not in service.starting_answers
    return ServiceStatus(url, healthy, f"HTTP {response.status} {body[:80]}", answered=answered, service=service.name,
                         internal_url=internal)
