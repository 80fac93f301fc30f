"""What `kafkalab status` reports: LabStatus and UiStatus, the health of kafka-ui (and of any
service that starts after the brokers), and assembling a status from what Docker and Kafka said.

May import: kafkalab.errors, kafkalab.settings, kafkalab.lab.modes, kafkalab.lab.connection, and
kafkalab.docker.compose and kafkalab.kafka.cluster for their types only. Lab (kafkalab.lab.lab) asks
Docker and Kafka, then hands their answers here.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Literal

from kafkalab.lab.connection import LabNetwork

if TYPE_CHECKING:
    from kafkalab.docker.compose import Compose, Container
    from kafkalab.kafka.cluster import ClusterInfo

LabState = Literal["healthy", "degraded", "stopped", "not running"]
# A service that starts after the brokers (modes.Service.after_broker): answers; runs and has not
# answered yet, within the start window; or neither, a fault.
ServiceState = Literal["healthy", "starting", "failed"]
UI_REQUEST_TIMEOUT = 2.0  # seconds one health request to kafka-ui may take


@dataclasses.dataclass(frozen=True)
class UiStatus:
    url: str
    healthy: bool
    detail: str
    starting: bool = False  # it runs and has not answered yet, within the start window: no fault
    answered: bool = False  # an HTTP answer came, healthy or not: it has started
    starting_for: float | None = None  # seconds since its container started, while starting

    @property
    def state(self) -> ServiceState:
        return "healthy" if self.healthy else "starting" if self.starting else "failed"

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "state": self.state}


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

    @property
    def healthy(self) -> bool:
        return self.state == "healthy"

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
        }


def assemble(
    compose: Compose, containers: tuple[Container, ...], info: ClusterInfo | None, error: str | None,
    ui: UiStatus | None, network: LabNetwork,
) -> LabStatus:
    """The status of the lab of compose's settings, from its containers, the brokers' answer (or
    why there is none) and kafka-ui's health."""
    s = compose.settings
    brokers = len(compose.spec.brokers)
    problems = [f"{c.service} is {c.state} ({c.status})." for c in containers if not c.running]
    faulty = {c.service for c in containers if not c.running}  # the services that problems are about
    if info is not None and len(info.brokers) < brokers and not problems:
        problems.append(f"{len(info.brokers)} of {brokers} brokers answer.")
        faulty.add("brokers")
    if ui is not None and not ui.healthy:
        ui = after_broker(compose, "kafka-ui", ui, containers)
        if not ui.starting:
            problems.append(f"kafka-ui does not answer: {ui.detail}.")
            faulty.add("kafka-ui")
    late = {x.name for x in compose.spec.services if x.after_broker}
    paused = [c.name for c in containers if c.state == "paused"]
    if paused:
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
    return LabStatus(s.project, s.mode, state, containers, info, error, ui, tuple(problems), hint, network)


def after_broker(compose: Compose, service: str, health: UiStatus, containers: tuple[Container, ...]) -> UiStatus:
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


def ui_health(url: str, timeout: float = UI_REQUEST_TIMEOUT) -> UiStatus:
    """GET /actuator/health, kafka-ui's health endpoint (the Spring Boot actuator)."""
    import http.client

    host_port = url.removeprefix("http://")
    host, _, port = host_port.partition(":")
    conn = http.client.HTTPConnection(host, int(port or 80), timeout=timeout)
    try:
        conn.request("GET", "/actuator/health")
        response = conn.getresponse()
        body = response.read().decode("utf-8", "replace")
    except (OSError, http.client.HTTPException) as exc:  # refused, reset, timed out, or not HTTP
        return UiStatus(url, False, f"no answer ({exc.__class__.__name__})")
    finally:
        conn.close()
    healthy = response.status == 200 and '"UP"' in body
    return UiStatus(url, healthy, f"HTTP {response.status} {body[:80]}", answered=True)
