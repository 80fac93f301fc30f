"""`Lab`: the whole of kafkalab's work, for the CLI, the pytest plugin and user scripts alike.

    from kafkalab import Lab
    with Lab(port=19094) as lab:          # up, and down at the end unless it was already running
        lab.create_topic("orders", partitions=3)
        p = lab.producer(); p.produce("orders", b"hello"); p.flush()

The facade: what a status holds and how it is put together live in kafkalab.lab.status, the waits
for readiness in kafkalab.lab.readiness, its clients in kafkalab.lab.clients (a base class), doctor in
kafkalab.lab.doctor (which uses Lab, and which Lab imports only when doctor() runs).

May import: every module of kafkalab.lab but doctor (lazily), kafkalab.docker, kafkalab.kafka,
kafkalab.settings and kafkalab.errors; kafkalab.declare lazily (up's declaration).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Literal, cast

from kafkalab.docker.compose import Compose, Echo
from kafkalab.docker.models import Container, Inventory
from kafkalab.docker.pull import ImagePull, PullProgress
from kafkalab.errors import (
    BrokerUnreachable,
    ConfigError,
    Interrupted,
    KafkalabError,
    signal_of,
)
from kafkalab.kafka import clients, cluster
from kafkalab.lab import secured, state
from kafkalab.lab.clients import LabClients
from kafkalab.lab.connection import Connection, LabNetwork, connection, internal_bootstrap
from kafkalab.lab.modes import LEGACY_DATA, MODES, OPTIONAL, Mode, legacy_mode, mode_of_services
from kafkalab.lab.readiness import Phase, wait_for_lab
from kafkalab.lab.status import LabStatus, ServiceStatus, assemble, service_health
from kafkalab.settings import RECORD_SOURCE, Settings, resolve

if TYPE_CHECKING:
    from kafkalab.connectors.client import ConnectorState
    from kafkalab.declare.plan import Applied, Declaration
    from kafkalab.lab.doctor import Diagnosis

OnPull = Callable[[PullProgress, ImagePull | None], None]  # the progress so far, and the image just pulled
# What a Ctrl-C during `up` leaves behind, and what to do about it.
LeftBehind = Literal["nothing", "starting", "running"]
_INTERRUPTED: dict[LeftBehind, tuple[str, str]] = {
    "nothing": ("Interrupted before any container was started.", "Nothing was started."),
    "starting": (
        "Interrupted while the lab's containers were starting.",
        "Containers may be starting: run `kafkalab up` again to wait for them, or `kafkalab down` to stop them.",
    ),
    "running": (
        "Interrupted while waiting for the lab, which was already running.",
        "The lab keeps running: `kafkalab status` shows its health.",
    ),
}


@dataclasses.dataclass(frozen=True)
class UpResult:
    already_running: bool
    seconds: float
    status: LabStatus
    unpaused: tuple[str, ...] = ()  # containers that were paused, and that up unpaused
    pulled: tuple[ImagePull, ...] = ()
    # The seconds each service that up waited for after the brokers (the Schema Registry; kafka-ui with
    # wait_ui) took to answer, from the start of the wait, by service.
    ready: dict[str, float] = dataclasses.field(default_factory=dict)
    # What up did of the declaration it was given (kafkalab.declare): None when given none, or not waiting.
    declared: Applied | None = None


@dataclasses.dataclass(frozen=True)
class DownResult:
    containers: tuple[str, ...]
    volumes: tuple[str, ...]
    foreign: tuple[str, ...] = ()  # another compose project's objects under the same name, left alone
    # The lab's networks that stay, as containers of other projects still use them: (network, containers).
    kept_networks: tuple[tuple[str, tuple[str, ...]], ...] = ()


class Lab(LabClients):
    """A local Kafka lab: one compose project, in one of the modes of kafkalab.lab.modes."""

    def __init__(
        self, settings: Settings | None = None, *, keep: bool = False, echo: Echo | None = None,
        **overrides: Any,
    ) -> None:
        base = settings if settings is not None else resolve()
        self._given = base.replace(**overrides) if overrides else base
        # The lab of this name as its record has it, but for what was given on purpose: what every
        # method finds it by. `up` settles on the settings to start with once it sees the lab (_settle).
        self.settings = self._given.with_record()
        self.keep = keep
        self.compose = Compose(self.settings, echo)
        self._started = False
        self._had_volumes = False

    @property
    def schema_registry_url(self) -> str | None:
        """The lab's Schema Registry from this machine, as its clients take it (its Confluent-compatible
        API, http://localhost:8081/apis/ccompat/v7); None when the lab runs without it (`with` has no
        schema-registry)."""
        s = self.settings.with_record()
        return s.schema_registry_url if "schema-registry" in s.with_ else None

    @property
    def connect_url(self) -> str | None:
        """The lab's Kafka Connect REST API from this machine (http://localhost:8083); None when the lab
        runs without it (`with` has no connect)."""
        s = self.settings.with_record()
        return OPTIONAL["connect"].url(s) if "connect" in s.with_ else None

    @property
    def started(self) -> bool:
        """This Lab's up() ran `docker compose up`, rather than finding the lab started (by another
        process, say): what a failed start may take down again."""
        return self._started

    # --- lifecycle ---------------------------------------------------------------------------

    def up(
        self, *, ui: bool = True, wait: bool = True, timeout: float | None = None, wait_ui: bool = False,
        on_phase: Callable[[Phase], None] | None = None, on_pull: OnPull | None = None,
        declaration: Declaration | None = None,
    ) -> UpResult:
        """Start the stack (unless it runs already) and wait until every broker answers (and, with
        wait_ui, kafka-ui too). Images that are missing are pulled first, as a phase of its own
        (on_pull sees its progress); the timeout starts after it. With a declaration
        (kafkalab.declare.plan.load()), then make what it declares that is missing (see declare()):
        what it needs of the lab (a Schema Registry for schemas) is checked before anything starts.

        Concurrent calls for one project, from any process, take turns while Compose changes things;
        the later ones find the lab started and only wait for it. Ctrl-C (or SIGTERM, SIGHUP, where
        the CLI raises them) raises Interrupted, which says what was left behind: a KeyboardInterrupt,
        so that `except Exception` lets it through.
        """
        self._budget(timeout)  # a timeout of 0 or less is refused before anything starts
        if declaration is not None:
            from kafkalab.declare.plan import check, lab_cluster

            check(declaration, lab_cluster(self.settings.with_record()))
        self._left: LeftBehind = "nothing"
        try:
            result = self._up(ui, wait, timeout, wait_ui, on_phase or (lambda _p: None), on_pull)
            if declaration is None or not wait:
                return result
            declared = self.declare(declaration)
            # What it made is in the lab's status: its topics and partitions.
            status = self.status() if declared.done else result.status
            return dataclasses.replace(result, declared=declared, status=status)
        except Interrupted:
            raise
        except KeyboardInterrupt as exc:
            raise _interrupted(self._left, signal_of(exc)) from None

    def _up(
        self, ui: bool, wait: bool, timeout: float | None, wait_ui: bool, phase: Callable[[Phase], None],
        on_pull: OnPull | None,
    ) -> UpResult:
        started = time.monotonic()
        phase("preflight")
        with state.lock(self.settings.project, on_wait=lambda: phase("lock")):
            inventory = self.compose.preflight()
            self._refuse_foreign(inventory)
            self._settle(list(inventory.containers))
            secured.check_exposure(self.settings)  # before anything starts
            services = [s for s in self.compose.services if ui or s != "kafka-ui"]
            inventory = self.compose.with_networks(inventory)
            self._refuse_taken_network(inventory)
            containers = list(inventory.containers)
            self._check_same_lab(containers)
            layout = self._layout(inventory)
            paused = [c for c in containers if c.state == "paused"]
            if paused:  # a paused broker would only time out: it is the lab's, so carry on with it
                self.compose.unpause(paused)
            # A restarting container still holds its ports: it is this lab's, not a conflict.
            present = {c.service for c in containers if c.state in ("running", "paused", "restarting")}
            already = set(services) <= present
            pulled: tuple[ImagePull, ...] = ()
            if already:
                self._left = "running"
                if "KAFKALAB_MODE" not in state.read(self.settings.project):
                    # A lab that runs without a record of this kafkalab (one of kafkalab 0.1, or a
                    # record removed): write it, so that the Kafka commands find all its brokers.
                    self.compose.remember(inventory.adopted, layout)
            else:
                # The lab's own containers hold their ports, or are about to (one that is created or
                # starting, after an `up` killed half-way): no conflict, Compose carries on with them.
                self.compose.check_ports(
                    {k: v for k, v in self.settings.host_ports.items() if k in services and k not in present},
                    own={c.name for c in containers}, starting={c.service for c in containers if c.state == "created"},
                )
                pulled = self.pull(services, on_phase=phase, on_pull=on_pull)
                started = time.monotonic()  # the readiness timeout starts after the pull
                phase("containers")
                security = secured.prepare(self.settings)
                if "connect" in services:  # the worker's config, which its container mounts
                    from kafkalab.connectors.worker import write

                    write(self.settings)
                self._left = "starting"
                self.compose.up(services, inventory.adopted, layout)
                self._started = True
                if security is not None:  # SCRAM's users, in the cluster's metadata: made once it runs (+1.4-1.7 s:
                    # docs/performance.md)
                    first = next(c.name for c in self.compose.containers(echo=False)
                                 if c.service == self.compose.spec.brokers[0].name)
                    secured.create_users(self.settings, first, security.users,
                                         started + self._budget(timeout), self.compose.env())
        unpaused = tuple(c.name for c in paused)
        if not wait:
            return UpResult(already, time.monotonic() - started, self.status(), unpaused, pulled)
        budget = self._budget(timeout)
        info, health, ready = self._wait(
            started + budget, budget, ui="kafka-ui" in services and wait_ui, on_phase=phase, services=services,
            since=started,
        )
        for service in self.compose.spec.services:  # not waited for: how far it is (_assemble says)
            if service.health_path and service.name in services and service.name not in health:
                health[service.name] = service_health(service, self.settings, timeout=0.5)
        # What the wait learnt is the status, but for the containers' own state.
        status = self._assemble(tuple(self.compose.containers()), info, None, health, connectors(health.get("connect")))
        return UpResult(already, time.monotonic() - started, status, unpaused, pulled, ready)

    def declare(self, declaration: Declaration) -> Applied:
        """What `up` does of a declaration once the lab answers: create the topics that are missing
        (seeding only those it created, so that no second `up` seeds again), register the schemas;
        what exists and differs is left as it is (Applied.notes; `kafkalab apply` changes it)."""
        from kafkalab.declare.plan import declare_on_up, lab_cluster

        with clients.client_settings(self.client_settings()):  # a secured lab's user and CA
            return declare_on_up(declaration, lab_cluster(self.settings.with_record()))

    def pull(
        self, services: list[str] | None = None, *, always: bool | None = None,
        on_phase: Callable[[Phase], None] | None = None, on_pull: OnPull | None = None,
    ) -> tuple[ImagePull, ...]:
        """Pull the images of the services (default: all of the mode's) that are not here, or all of
        them with always (default: the pull setting is "always"); nothing under pull "never".
        Registry failures are ImageMissing (exit 8), each naming the image and the registry."""
        wanted = list(services if services is not None else self.compose.services)
        if self.settings.pull == "never":
            self.compose.check_images(self._images(wanted))
            return ()
        by_image: dict[str, str] = {}  # the first service of each image: cluster brokers share one
        for service in wanted:
            by_image.setdefault(getattr(self.settings, self.compose.spec.service(service).image), service)
        every = always if always is not None else self.settings.pull == "always"
        images = list(by_image) if every else self.compose.missing_images(list(by_image))
        if not images:
            return ()
        if on_phase is not None:
            on_phase("pull")
        progress = PullProgress({by_image[image]: image for image in images})
        for event in self.compose.pull(list(progress.pulls)):
            finished = progress.update(event)
            if on_pull is not None:
                on_pull(progress, finished)
        return tuple(progress.pulls.values())

    def wait_ready(
        self, timeout: float | None = None, *, ui: bool = True,
        on_phase: Callable[[Phase], None] | None = None,
    ) -> cluster.ClusterInfo:
        """Poll until every broker answers a metadata request (then the optional services up waits
        for, and the UI, their health checks)."""
        budget = self._budget(timeout)
        return self._wait(time.monotonic() + budget, budget, ui=ui, on_phase=on_phase)[0]

    def _wait(
        self, deadline: float, budget: float, *, ui: bool, on_phase: Callable[[Phase], None] | None,
        services: list[str] | None = None, since: float | None = None,
    ) -> tuple[cluster.ClusterInfo, dict[str, ServiceStatus], dict[str, float]]:
        return wait_for_lab(self.compose, deadline, budget, ui=ui, phase=on_phase or (lambda _p: None),
                            started=services, since=since)

    def _budget(self, timeout: float | None) -> float:
        """The seconds to wait for readiness: `timeout`, checked as the timeout setting is (above 0:
        not waiting is wait=False), or else the setting."""
        if timeout is None:
            return self.settings.timeout
        try:
            return self.settings.replace(timeout=timeout).timeout
        except ConfigError as exc:
            raise ConfigError(
                exc.message, "Give the seconds to wait for the lab, above 0; wait=False does not wait at all.",
            ) from None

    def down(self, *, volumes: bool = False) -> DownResult:
        """Stop and remove the lab's containers, and their anonymous volumes (of folders their images
        declare as volumes that the lab maps to nothing); with volumes, the lab's named volumes too
        (of every mode).

        Only what carries the lab's label (or was made by an earlier kafkalab) is touched: a compose
        project of someone else's under the same name keeps its containers, network and volumes.
        Idempotent.
        """
        with state.lock(self.settings.project):
            inventory = self.compose.with_networks(self.compose.preflight())
            ours = list(inventory.containers)
            compose = self.in_running_mode(ours).compose
            anonymous = compose.anonymous_volumes(ours)
            if any(f.startswith("container ") for f in inventory.foreign):
                # `docker compose down` goes by service name, and theirs may share ours: by id only.
                compose.remove_containers(ours)
            elif not inventory.foreign or ours:
                compose.down()
                # Containers of the lab made from another mode's file are orphans to this one.
                compose.remove_containers(compose.containers(echo=False))
            compose.remove_anonymous_volumes(anonymous)
            # What `docker compose down` left: a network of the lab under another name than this
            # file's (an earlier network setting, kafkalab 0.1's), or one that others still use.
            kept = compose.remove_networks(inventory.networks)
            if volumes:
                compose.remove_volumes(inventory.volumes)
                state.forget(self.settings.project)
        self._started = False
        return DownResult(
            tuple(c.name for c in ours), inventory.volumes if volumes else (), inventory.foreign, kept,
        )

    def status(self) -> LabStatus:
        """What runs, whether the brokers answer and what they hold, and whether the UI answers."""
        containers = tuple(self.compose.containers())
        if not containers:
            return LabStatus(self.settings.project, self.settings.mode, "not running", (), None, None, None,
                             network=self.network())
        self._check_same_lab(list(containers), any_mode=True)
        lab = self.in_running_mode(list(containers))
        s = lab.settings
        present = {c.service for c in containers}
        answering = [x for x in lab.compose.spec.services if x.health_path and x.name in present]
        # The health requests of kafka-ui and the optional services (up to 2 s each) while the brokers are asked.
        with ThreadPoolExecutor(max(len(answering), 1)) as pool:
            asked = {x.name: pool.submit(service_health, x, s) for x in answering}
            info: cluster.ClusterInfo | None = None
            error = None
            brokers = {b.name for b in lab.compose.spec.brokers}
            if any(c.running for c in containers if c.service in brokers):
                try:
                    info = cluster.cluster_info(s.lab_bootstrap, timeout=1.5, conf=secured.client_settings(s))
                except BrokerUnreachable as exc:
                    error = exc.message
            else:
                paused = [c.service for c in containers if c.state == "paused" and c.service in brokers]
                one = len(paused) == 1
                error = (f"The broker container{'' if one else 's'} {', '.join(paused)} "
                         f"{'is' if one else 'are'} paused." if paused else "No broker container is running.")
            health = {name: f.result() for name, f in asked.items()}
        return lab._assemble(containers, info, error, health, connectors(health.get("connect")))

    def _assemble(
        self, containers: tuple[Container, ...], info: cluster.ClusterInfo | None, error: str | None,
        health: dict[str, ServiceStatus], connectors: tuple[ConnectorState, ...] | None = None,
    ) -> LabStatus:
        optional = tuple(health[name] for name in OPTIONAL if name in health)
        found = assemble(self.compose, containers, info, error, health.get("kafka-ui"), self.network(containers),
                         optional, connectors)
        return dataclasses.replace(found, security=self.settings.security,
                                   advertised=connection(self.settings).advertised)

    def network(self, containers: tuple[Container, ...] | list[Container] = ()) -> LabNetwork:
        """The lab's network (the one its containers are on, if they are) and the brokers' address on it."""
        name = self.settings.lab_network
        attached = [n for c in containers for n in c.networks]
        if attached and name not in attached:  # a lab of kafkalab 0.1: Compose's <project>_default
            name = attached[0]
        return LabNetwork(name, internal_bootstrap(self.settings.mode))

    def connection(self, *, secrets: bool = False) -> Connection:
        """What an application needs to reach the lab, from this machine or from a container: the
        brokers' addresses and the lab's network. Asks neither Docker nor Kafka, but for a lab of
        kafkalab 0.1, whose record names no mode and whose network is Compose's <project>_default:
        its containers tell both."""
        if state.legacy(self.settings.project):
            containers = self.compose.containers()
            if containers:
                lab = self.in_running_mode(containers)
                return connection(lab.settings, lab.network(containers).name, secrets=secrets)
        return connection(self.settings, secrets=secrets)

    def doctor(self) -> Diagnosis:
        """Every check of `kafkalab doctor`, from the docker CLI to the broker inside the lab's network,
        within 15 s: each one passed, failed (with its fix) or not checked."""
        from kafkalab.lab.doctor import diagnose

        return diagnose(self)

    def brokers_answer(self) -> bool:
        """Every broker of the lab answers a Kafka request on its published port (ApiVersions).

        Without confluent_kafka (about 0.14 s to import): what the pytest plugin attaches with.
        """
        from kafkalab.kafka.wire import answers

        s = self.settings.with_record()
        return all(answers("127.0.0.1", b.host_port(s), **secured.answers_config(s)) for b in MODES[s.mode].brokers)

    def logs(
        self, service: str | None = None, *, follow: bool = False, tail: int | None = None,
    ) -> Generator[str, None, None]:
        """The lines of the lab's logs (of one service, or all), as `docker compose logs` prints them.

        A generator: its `docker compose logs` process runs from the first line taken until the
        last, and ends when the generator is closed, which leaving a for loop over it early does too
        (`with contextlib.closing(lab.logs(follow=True)) as lines:` says so where it matters).
        """
        running = self.compose.containers()
        compose = self.in_running_mode(running).compose
        if service is not None and service not in compose.services:
            raise KafkalabError(
                f"No service {service!r} in the {compose.settings.mode} lab.",
                f"Services: {', '.join(compose.services)}.",
            )
        if not running:  # nothing of the lab's: and what Compose would show under this name is not
            return _no_lines()
        return compose.logs([service] if service else [], tail=tail, follow=follow)

    def in_running_mode(self, containers: list[Container]) -> Lab:
        """This lab, in the mode its containers run in (the settings may name another), with the optional
        services it has containers of; this Lab itself when they agree, or when there are no containers."""
        mode = running_mode(containers) if containers else self.settings.mode
        found = {c.service for c in containers} & set(OPTIONAL)
        with_ = tuple(n for n in OPTIONAL if n in found or n in self.settings.with_)
        if mode == self.settings.mode and with_ == self.settings.with_:
            return self
        return Lab(self.settings.replace(mode=mode, with_=with_), echo=self.compose.echo)

    def _settle(self, containers: list[Container]) -> None:
        """The settings `up` starts with: the lab's own (its record: ports, network, ...), but for
        what was given on purpose (which _check_same_lab holds against what runs). Its mode: while
        the lab has containers (running or stopped), the one they run in; once it has none, the mode
        given (kraft by default), as each mode keeps data of its own."""
        s = self._given.with_record()
        if s.sources.get("mode", RECORD_SOURCE) == RECORD_SOURCE:
            mode = running_mode(containers) if containers else self._given.mode
            source = {"mode": "the lab's containers"} if containers else {}
            sources = {k: v for k, v in s.sources.items() if k != "mode"}
            s = dataclasses.replace(s, mode=cast(Mode, mode), sources={**sources, **source})
        s.check_ports()
        if s != self.settings or s.sources != self.settings.sources:
            self.settings = s
            self.compose = Compose(s, self.compose.echo)

    def _layout(self, inventory: Inventory) -> str:
        """The layout of the lab's volumes (kafkalab.lab.state): the recorded one; for a lab of kafkalab
        0.1, whose kafka-data holds broker 1's data of whichever mode it ran in, that mode's (its
        containers, else its volumes tell); per mode for a new lab. Refuses a mode that would start
        on another mode's data."""
        project, mode = self.settings.project, self.settings.mode
        found = state.layout(project)
        if not found:
            made_in: str | None = None
            if state.legacy(project):
                volumes = {v.removeprefix(f"{project}_") for v in inventory.adopted}
                made_in = mode_of_services({c.service for c in inventory.containers}) if inventory.containers \
                    else legacy_mode(volumes)
            found = state.LEGACY_PREFIX + made_in if made_in else state.PER_MODE
        owner = found.removeprefix(state.LEGACY_PREFIX) if found.startswith(state.LEGACY_PREFIX) else None
        if owner is not None and owner != mode and LEGACY_DATA in MODES[mode].volumes:
            raise ConfigError(
                f"The lab {project} keeps its {owner} data of kafkalab 0.1 in the volume {LEGACY_DATA}, "
                f"which {mode} mode would start on.",
                f"Use --mode {owner}; or delete the lab's data first with `kafkalab down --volumes`; "
                "or give the new lab another --project-name.",
            )
        return found

    def _refuse_foreign(self, inventory: Inventory) -> None:
        if inventory.foreign:
            p = self.settings.project
            shown = ", ".join(inventory.foreign[:3]) + (", ..." if len(inventory.foreign) > 3 else "")
            raise ConfigError(
                f"A compose project named {p} exists that kafkalab did not create ({shown}).",
                f"Give the lab another name with --project-name (or KAFKALAB_PROJECT); kafkalab leaves {p} alone.",
            )

    def _refuse_taken_network(self, inventory: Inventory) -> None:
        if inventory.network_taken:
            s = self.settings
            raise ConfigError(
                f"A network named {s.lab_network} exists that is not the lab {s.project}'s: {inventory.network_taken}.",
                "Give the lab's network another name with KAFKALAB_NETWORK (or `network` in the config file); "
                f"kafkalab leaves {s.lab_network} alone.",
            )

    def _check_same_lab(self, containers: list[Container], *, any_mode: bool = False) -> None:
        """A lab that runs under this project name must be the one these settings describe: its mode
        (unless any_mode), its ports and its network."""
        s = self.settings
        if not containers:
            return
        other = running_mode(containers)
        if other != s.mode and not any_mode:
            how = "is already running" if any(c.running for c in containers) else "has stopped containers"
            raise ConfigError(
                f"The lab {s.project} {how} in {other} mode, not {s.mode}.",
                f"Use --mode {other}, or `kafkalab down` it first (its data is kept).",
            )
        ports = s.replace(mode=other).host_ports
        for c in containers:
            want = ports.get(c.service)
            published = [p for p in c.ports if "->" in p]
            if want and published and not any(p.split("->")[0].endswith(f":{want}") for p in published):
                have = published[0].split("->")[0].rsplit(":", 1)[-1]
                raise ConfigError(
                    f"The lab {s.project} is already running with {c.service} on port {have}, not {want}.",
                    "Use the same port settings, or `kafkalab down` it first.",
                )
        secured.check_same(s, any(c.running for c in containers))
        for c in containers:
            # Only labelled containers: those of kafkalab 0.1 are on Compose's <project>_default.
            if c.lab and c.running and c.networks and s.lab_network not in c.networks:
                raise ConfigError(
                    f"The lab {s.project} is already running on the network {c.networks[0]}, not {s.lab_network}.",
                    "Use the same network setting (KAFKALAB_NETWORK), or `kafkalab down` it first.",
                )

    def _images(self, services: list[str]) -> list[str]:
        spec = self.compose.spec
        return sorted({getattr(self.settings, spec.service(name).image) for name in services})

    # --- context manager ---------------------------------------------------------------------

    def __enter__(self) -> Lab:
        # Data that was there before (a lab stopped with `kafkalab down`) is not this block's to delete,
        # and a lab that ran before, even in part, is not this block's to stop.
        self._had_volumes = bool(self.compose.volumes())
        ran_before = any(c.running for c in self.compose.containers())
        try:
            self.up()
        except BaseException:
            if self.started and not ran_before and not self.keep:
                self.down(volumes=not self._had_volumes)
            raise
        self._started = self._started and not ran_before
        return self

    def __exit__(self, *exc: object) -> None:
        if self._started and not self.keep:
            self.down(volumes=not self._had_volumes)


def connectors(health: ServiceStatus | None) -> tuple[ConnectorState, ...] | None:
    """The connectors of the lab's Kafka Connect with their states, when it answers; else None."""
    from kafkalab.connectors.client import states_at

    return states_at(health.url) if health is not None and health.healthy else None


def _no_lines() -> Generator[str, None, None]:
    yield from ()


def _interrupted(left: LeftBehind, signum: int) -> Interrupted:
    message, hint = _INTERRUPTED[left]
    return Interrupted(message, hint, signum=signum)


def running_mode(containers: list[Container] | tuple[Container, ...]) -> str:
    """The mode of a lab: its containers' mode label, or for labs of earlier versions their services."""
    labelled = [c.mode for c in containers if c.mode in MODES]
    return labelled[0] if labelled else mode_of_services({c.service for c in containers})
