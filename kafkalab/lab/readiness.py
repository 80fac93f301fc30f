"""Waiting for a lab to be ready: every broker answering, then the optional services that `up` waits
for (the Schema Registry, Kafka Connect), then (when asked) kafka-ui; and the exit watch, which ends the wait at once
when one of the lab's containers has exited.

May import: kafkalab.errors, kafkalab.kafka.cluster, kafkalab.lab.{secured,status}, and kafkalab.docker.compose
(the lab's Compose, for its containers and logs).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal, cast

from kafkalab.errors import ContainerExited, ReadinessTimeout
from kafkalab.kafka import cluster
from kafkalab.lab import secured
from kafkalab.lab.status import ServiceStatus, service_health

if TYPE_CHECKING:
    from kafkalab.docker.compose import Compose

# The phases of `up`, as its on_phase callback sees them; the last two are the waits of this module.
Phase = Literal["preflight", "lock", "pull", "containers", "broker", "ui", "schema-registry", "connect"]
LOG_TAIL_LINES = 30
UI_POLL_EVERY = 0.2  # seconds between two health requests to kafka-ui while it starts


def wait_for_lab(
    compose: Compose, deadline: float, budget: float, *, ui: bool, phase: Callable[[Phase], None],
    started: list[str] | None = None, since: float | None = None,
) -> tuple[cluster.ClusterInfo, dict[str, ServiceStatus], dict[str, float]]:
    """Poll until every broker of compose's lab answers a metadata request, then each optional
    service that `up` waits for (modes.Service.waited) and, with ui, kafka-ui its health check: by
    the deadline (a time.monotonic()), else ReadinessTimeout naming the budget. Returns the brokers'
    answer, the health of the services waited for, and the seconds each took since `since` (a
    time.monotonic(); default: the wait's start). started: the services up started (default: all of
    the lab's but kafka-ui, unless ui)."""
    settings = compose.settings
    begun = time.monotonic() if since is None else since
    phase("broker")
    running = started if started is not None else [s for s in compose.services if ui or s != "kafka-ui"]
    watch = ExitWatch(compose, running)
    bootstrap = settings.lab_bootstrap
    try:
        info = cluster.wait_for_brokers(
            bootstrap, len(compose.spec.brokers), max(deadline - time.monotonic(), 0.1), on_attempt=watch.check,
            conf=secured.client_settings(settings),
        )
    except ReadinessTimeout:
        log_tail = compose.log_tail("kafka", LOG_TAIL_LINES)
        silent = "The broker logged nothing yet: raise --timeout, or see `kafkalab logs kafka`."
        raise ReadinessTimeout(
            f"The broker at {bootstrap} was not ready within {budget:g} s.",
            None if log_tail else silent, log_tail=log_tail,
        ) from None
    waited = [s for s in compose.spec.services if s.name in running and (s.waited or (ui and s.name == "kafka-ui"))]
    found, seconds = {}, {}
    # These JVM web apps answer seconds after the broker: asked only once the broker is.
    for service in waited:
        health = service_health(service, settings)
        if not health.healthy:
            phase("ui" if service.name == "kafka-ui" else cast(Phase, service.name))
        while not health.healthy and time.monotonic() < deadline:
            watch.check()
            time.sleep(UI_POLL_EVERY)  # between HTTP polls of a starting JVM
            health = service_health(service, settings)
        if not health.healthy:
            raise ReadinessTimeout(
                f"{service.name} at {health.url} was not healthy within {budget:g} s: {health.detail}.",
                log_tail=compose.log_tail(service.name, LOG_TAIL_LINES),
            )
        found[service.name], seconds[service.name] = health, time.monotonic() - begun
    return info, found, seconds


class ExitWatch:
    """Fails the wait at once when one of the lab's containers has exited, instead of at the deadline."""

    def __init__(self, compose: Compose, services: list[str], every: float = 3.0) -> None:
        self.compose = compose
        self.services = services
        self.every = every
        self.next = time.monotonic() + every

    def check(self) -> None:
        if time.monotonic() < self.next:
            return
        self.next = time.monotonic() + self.every
        for c in self.compose.containers(echo=False):  # a poll: -v would drown in it
            if c.service in self.services and c.state in ("exited", "dead"):
                # No wait makes it answer: said at once, with its own log's end, and not as a timeout.
                raise ContainerExited(
                    f"The {c.service} container exited before the lab was ready ({c.status}).",
                    f"Read its log above: it says why {c.service} exited; `kafkalab logs {c.service}` shows "
                    "all of it.",
                    log_tail=self.compose.log_tail(c.service, LOG_TAIL_LINES),
                )
