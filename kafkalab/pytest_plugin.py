"""kafkalab's pytest plugin: Kafka for integration tests, attached in well under a second.

Registered through the ``pytest11`` entry point, so installing kafkalab is enough. It does nothing
until a test asks for one of its fixtures:

- ``kafka_lab`` (session): the project's lab when it already runs and its broker answers (attach:
  one `docker ps` and one metadata request; kafka-ui is not waited for), else a lab started for
  the session and stopped at its end (``--kafkalab-keep`` leaves it running). A lab that was
  running, even in part, is never stopped. Under pytest-xdist the workers share one lab: the first
  to ask starts it, the others wait for it and attach, and the controller stops it once, after the
  last worker finished.
- ``kafka_topic``: a new topic with a unique name, deleted after the test. Its partitions and
  config come from ``@pytest.mark.kafka_topic(partitions=3, config={...})``, or from indirect
  parametrization: ``@pytest.mark.parametrize("kafka_topic", [1, 3], indirect=True)``.
- ``kafka_producer`` and ``kafka_consumer``: clients bound to the lab, closed after the test. The
  consumer has a consumer group of its own and starts at the earliest offset.
- The declaration of the project's config file ([topics.NAME], [schemas."SUBJECT"]: kafkalab.declare) is
  made when ``kafka_lab`` first runs, before the first test that uses the lab: missing topics created
  (and seeded: only those the session created), schemas registered; one line in the summary says so.
- ``schema_registry_url`` and ``schema_registry_client`` (session): the lab's Schema Registry
  (http://localhost:8081/apis/ccompat/v7) and a confluent_kafka SchemaRegistryClient for it, when the lab runs it
  (``--kafkalab-with schema-registry``, or ``with = ["schema-registry"]`` in the config); an error
  saying so otherwise.

Every fixture talks to the lab's own brokers only: KAFKALAB_BOOTSTRAP_SERVER is for the CLI's Kafka
commands, and never points a test's topics or messages at another cluster.

pytest loads this module in every session of every project that has kafkalab installed, so
importing it stays cheap: confluent_kafka and python_on_whales load only when a fixture runs.
"""

from __future__ import annotations

import contextlib
import re
import time
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

import pytest

from kafkalab.lab.modes import MODES as MODE_TABLE
from kafkalab.lab.modes import OPTIONAL
from kafkalab.settings import MODES

if TYPE_CHECKING:
    from kafkalab.declare.plan import Applied
    from kafkalab.docker.models import Container
    from kafkalab.errors import KafkalabError
    from kafkalab.lab.lab import Lab
    from kafkalab.settings import Settings


# What the session did with its lab, for the terminal summary: one line, or none when unused.
_SUMMARY = pytest.StashKey[str]()
# What it made of the project's declaration (kafkalab.declare), for the lines after that one.
_DECLARED = pytest.StashKey[str]()
# Under pytest-xdist, the key of config.workeroutput under which a worker tells the controller
# about its lab, and what the controller received from its workers.
_HANDOFF = "kafkalab"
_HANDED = pytest.StashKey[list[dict[str, Any]]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kafkalab", "kafkalab: a local Kafka lab for integration tests")
    group.addoption(
        "--kafkalab-project", metavar="NAME",
        help="Compose project of the lab to attach to or start [KAFKALAB_PROJECT; default kafkalab].",
    )
    group.addoption(
        "--kafkalab-mode", choices=MODES,
        help="Mode of a lab the session starts; a running lab of another mode is an error when this is "
             "given [KAFKALAB_MODE; default kraft].",
    )
    group.addoption("--kafkalab-port", type=int, metavar="PORT",
                    help="Host port of the broker [KAFKALAB_PORT; default 9094].")
    group.addoption("--kafkalab-ui-port", type=int, metavar="PORT",
                    help="Host port of kafka-ui [KAFKALAB_UI_PORT; default 8080].")
    group.addoption("--kafkalab-zookeeper-port", type=int, metavar="PORT",
                    help="Host port of ZooKeeper, in zookeeper mode [KAFKALAB_ZOOKEEPER_PORT; default 2181].")
    group.addoption("--kafkalab-schema-registry-port", type=int, metavar="PORT",
                    help="Host port of the Schema Registry [KAFKALAB_SCHEMA_REGISTRY_PORT; default 8081].")
    group.addoption("--kafkalab-connect-port", type=int, metavar="PORT",
                    help="Host port of Kafka Connect's REST API [KAFKALAB_CONNECT_PORT; default 8083].")
    group.addoption("--kafkalab-with", action="append", metavar="SERVICE",
                    help="An optional service for the lab the session starts, such as schema-registry or connect "
                         "(repeatable, or comma-separated) [KAFKALAB_WITH].")
    group.addoption("--kafkalab-keep", action="store_true",
                    help="Leave a lab that this session started running at its end.")
    group.addoption("--kafkalab-no-ui", action="store_true",
                    help="Start the lab without kafka-ui (faster). A running lab is attached either way.")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "kafka_topic(partitions=1, config=None): the partitions and topic config of the test's kafka_topic.",
    )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    for key in (_SUMMARY, _DECLARED):
        line = config.stash.get(key, None)
        if line:
            terminalreporter.write_line(line)


# --- the lab --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def kafka_lab(pytestconfig: pytest.Config) -> Iterator[Lab]:
    """The Kafka lab of the session: attached when healthy and running, else started (and stopped)."""
    with _clear_failure():
        session = _LabSession.open(pytestconfig)
    try:
        yield session.lab
    finally:
        with _clear_failure():
            session.close()


class _LabSession:
    def __init__(
        self, config: pytest.Config, lab: Lab, *, started: bool, keep_volumes: bool, seconds: float = 0.0,
    ) -> None:
        self.config = config
        self.lab = lab
        self.started = started
        self.keep_volumes = keep_volumes
        self.seconds = seconds  # what starting it took
        self.declared: Applied | None = None  # what it made of the project's declaration

    @classmethod
    def open(cls, config: pytest.Config) -> _LabSession:
        session = cls._open(config)
        declared = session.declared
        if declared is not None:  # the declaration's line (and what differs), after the lab's
            lines = [*declared.notes(), f"declared: {declared.summary()}."]
            config.stash[_DECLARED] = "\n".join(f"kafkalab: {line}" for line in lines)
        return session

    @classmethod
    def _open(cls, config: pytest.Config) -> _LabSession:
        """The session's lab, attached or started, holding what the project's config file declares
        (kafkalab.declare: its topics, seeded when this session created them, and its schemas)."""
        from kafkalab.declare.plan import load

        begun = time.monotonic()
        settings = _settings(config)
        declaration = load(config.rootpath)  # what is wrong in it is said before anything starts
        found = _find_lab(settings)
        lab = found.lab
        if found.containers:
            settings = _same_lab(found, settings)
            if settings is not lab.settings:
                lab = type(lab)(settings)
        where = f"the lab {settings.project} at {settings.lab_bootstrap}"
        if found.ready:
            config.stash[_SUMMARY] = f"kafkalab: attached to {where} in {time.monotonic() - begun:.2f} s."
            attached = cls(config, lab, started=False, keep_volumes=True)
            if not declaration.empty:
                attached.declared = lab.declare(declaration)
            return attached
        # Data that was there before the session (a lab stopped with `kafkalab down`) is not ours to delete.
        keep_volumes = bool(lab.compose.volumes())
        was_running = any(c.running for c in found.containers)
        try:
            result = lab.up(ui=not config.getoption("kafkalab_no_ui"),
                            declaration=None if declaration.empty else declaration)
        except BaseException:  # not ready in time, interrupted...: what this session started goes, all the same
            # But not a lab that up() found started meanwhile (by another xdist worker): not ours.
            if lab.started and not was_running and not config.getoption("kafkalab_keep"):
                with contextlib.suppress(Exception):
                    lab.down(volumes=not keep_volumes)
            raise
        if result.already_running or was_running:
            # It was starting, or partly running: the user's lab, which stays as up() left it.
            config.stash[_SUMMARY] = f"kafkalab: attached to {where} in {time.monotonic() - begun:.2f} s."
            session = cls(config, lab, started=False, keep_volumes=True)
        else:
            config.stash[_SUMMARY] = f"kafkalab: started {where} in {result.seconds:.1f} s"
            session = cls(config, lab, started=True, keep_volumes=keep_volumes, seconds=result.seconds)
        session.declared = result.declared
        return session

    def close(self) -> None:
        if _is_xdist_worker(self.config):
            # This worker's session ends while others may still be running tests on the lab: the
            # controller stops it (and writes the summary) once every worker has finished.
            s = self.lab.settings
            workeroutput: dict[str, Any] = self.config.workeroutput  # type: ignore[attr-defined]
            workeroutput[_HANDOFF] = {
                "started": self.started, "project": s.project, "mode": s.mode, "port": s.port,
                "ui_port": s.ui_port, "zookeeper_port": s.zookeeper_port, "bootstrap": s.lab_bootstrap,
                "volumes": not self.keep_volumes, "seconds": self.seconds,
            }
            return
        if not self.started:
            return
        project = self.lab.settings.project
        if self.config.getoption("kafkalab_keep"):
            self.config.stash[_SUMMARY] += f"; left it running (`kafkalab -p {project} down` stops it)."
            return
        self.lab.down(volumes=not self.keep_volumes)
        self.config.stash[_SUMMARY] += ", and stopped it."


def _is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


# --- under pytest-xdist: the controller, which runs no test, stops what a worker started ---------


@pytest.hookimpl(optionalhook=True)  # an xdist hook: without xdist it is never called, and that is fine
def pytest_testnodedown(node: Any, error: object) -> None:
    # A worker that crashed sent nothing: its lab, if it started one, is left running.
    handed = getattr(node, "workeroutput", {}).get(_HANDOFF)
    if handed:
        node.config.stash.setdefault(_HANDED, []).append(handed)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """In the controller of an xdist run: stop the lab a worker started, now that no worker uses it.

    Runs before the terminal summary, which then has the one line of the whole run.
    """
    config = session.config
    handed = config.stash.get(_HANDED, None)
    if not handed:
        return
    started = [h for h in handed if h["started"]]
    h = (started or handed)[0]  # one lab per run: up() takes turns across processes, so one worker started it
    where = f"the lab {h['project']} at {h['bootstrap']}"
    if not started:
        config.stash[_SUMMARY] = f"kafkalab: the workers attached to {where}."
        return
    summary = f"kafkalab: a worker started {where} in {h['seconds']:.1f} s"
    if config.getoption("kafkalab_keep"):
        config.stash[_SUMMARY] = f"{summary}; left it running (`kafkalab -p {h['project']} down` stops it)."
        return
    from kafkalab.errors import KafkalabError
    from kafkalab.lab.lab import Lab

    try:
        settings = _settings(config).replace(
            project=h["project"], mode=h["mode"], port=h["port"], ui_port=h["ui_port"],
            zookeeper_port=h["zookeeper_port"],
        )
        Lab(settings).down(volumes=h["volumes"])
    except KafkalabError as exc:
        config.stash[_SUMMARY] = f"{summary}; stopping it at the end of the run failed.\n{_describe(exc)}"
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        return
    config.stash[_SUMMARY] = f"{summary}; stopped it at the end of the run."


def _settings(config: pytest.Config) -> Settings:
    """The CLI's resolution (KAFKALAB_*, [tool.kafkalab], defaults), with the plugin's options as flags."""
    from kafkalab.settings import GLOBAL_FLAGS, resolve

    # The CLI's global flags that name a lab (settings.GLOBAL_FLAGS: all but context, schema_registry and
    # connect_url), and --kafkalab-mode.
    names = ("mode", *(name for name in GLOBAL_FLAGS if name not in ("context", "schema_registry", "connect_url")))
    flags = {name: config.getoption(f"kafkalab_{name}") for name in names}
    flags["with_"] = config.getoption("kafkalab_with")
    sources = {name: "option --kafkalab-" + name.strip("_").replace("_", "-") for name in flags}
    return resolve(flags, cwd=config.rootpath, _sources=sources)


class _FoundLab(NamedTuple):
    """The lab of the project as the plugin finds it before a session: what attaching needs to know."""

    lab: Lab
    containers: tuple[Container, ...]  # the project's, running or not
    broker_answered: bool  # at the lab's bootstrap address

    @property
    def mode(self) -> str:
        from kafkalab.lab.lab import running_mode

        return running_mode(self.containers)

    @property
    def ready(self) -> bool:
        """Ready for tests: the broker answers and the containers run, but for kafka-ui, which tests don't use."""
        kafka = [c for c in self.containers if c.service != "kafka-ui"]
        return self.broker_answered and bool(kafka) and all(c.running for c in kafka)


def _find_lab(settings: Settings) -> _FoundLab:
    """What attaching costs: one `docker ps` and, when the project has containers, one Kafka
    ApiVersions request to each broker (no confluent_kafka import: it alone takes about 0.14 s).

    Lab.status() asks more (metadata, and kafka-ui's health, which tests don't use).
    """
    from kafkalab.lab.lab import Lab

    lab = Lab(settings)
    containers = tuple(lab.compose.containers())
    if not containers:
        return _FoundLab(lab, containers, broker_answered=False)
    return _FoundLab(lab, containers, broker_answered=lab.brokers_answer())


def _same_lab(found: _FoundLab, settings: Settings) -> Settings:
    """A lab of the project exists: it must be the one asked for. Returns the settings to use it with."""
    from kafkalab.errors import ConfigError

    if found.mode != settings.mode:
        if "mode" in settings.sources:
            raise ConfigError(
                f"The lab {settings.project} runs in {found.mode} mode, but {settings.mode} mode was asked "
                f"for ({settings.sources['mode']}).",
                f"Stop it with `kafkalab -p {settings.project} down`, or choose another project with "
                "--kafkalab-project.",
            )
        # Mode not chosen: adopt the lab's, so that starting its stopped services keeps its stack.
        settings = settings.replace(mode=found.mode)
    brokers = {b.name: b for b in MODE_TABLE[settings.mode].brokers}
    for container in found.containers:
        broker = brokers.get(container.service)
        if broker is None:
            continue
        published = re.search(rf":(\d+)->{broker.container_port}/", " ".join(container.ports))
        # The brokers of a cluster publish on the ports after the first's: compare the first's.
        port = int(published.group(1)) - broker.port_offset if published else settings.port
        if port != settings.port:
            raise ConfigError(
                f"The lab {settings.project} runs with its broker on port {port}, not on port {settings.port}.",
                f"Use its port (--kafkalab-port {port} or KAFKALAB_PORT), stop it with "
                f"`kafkalab -p {settings.project} down`, or choose another project with --kafkalab-project.",
            )
    # A running lab is attached to as it is: a service asked for that it does not run would never answer.
    running = {c.service for c in found.containers}
    missing = [name for name in settings.with_ if name not in running]
    if found.ready and missing:
        raise ConfigError(
            f"The lab {settings.project} runs without {OPTIONAL[missing[0]].title}, which "
            f"{settings.sources.get('with_', 'the with setting')} asks for.",
            f"Add it with `kafkalab -p {settings.project} up --with {','.join(settings.with_)}`, "
            "or choose another project with --kafkalab-project.",
        )
    return settings


@contextlib.contextmanager
def _clear_failure() -> Iterator[None]:
    """A KafkalabError fails the test with the CLI's two lines (and a log tail), not a traceback."""
    from kafkalab.errors import KafkalabError

    try:
        yield
    except KafkalabError as exc:
        raise pytest.fail.Exception(_describe(exc), pytrace=False) from None


def _describe(exc: KafkalabError) -> str:
    lines = []
    log_tail = getattr(exc, "log_tail", "")
    if log_tail:
        tail = log_tail.rstrip("\n").splitlines()
        lines += [f"Last {len(tail)} log lines:", *tail]
    return "\n".join([*lines, f"Error: {exc.message}", f"Hint: {_plugin_hint(exc.hint)}"])


# The CLI's options in hints, and what sets the same under pytest: the plugin's option, or else the
# setting's variable. A `kafkalab ...` command in backticks is a command to run, and keeps its own.
_PLUGIN_WORDS: dict[str, str] = {
    "--project-name": "--kafkalab-project", "--mode": "--kafkalab-mode", "--port": "--kafkalab-port",
    "--ui-port": "--kafkalab-ui-port", "--no-ui": "--kafkalab-no-ui", "--timeout": "KAFKALAB_TIMEOUT",
    "--zookeeper-port": "--kafkalab-zookeeper-port", "--pull": "KAFKALAB_PULL",
}
_CLI_OPTION = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, _PLUGIN_WORDS)) + r")(?![\w-])")


def _plugin_hint(hint: str) -> str:
    """A hint of kafkalab's (written for the CLI) as it applies under pytest: `--port` is `--kafkalab-port`."""
    def swap(part: str) -> str:
        part = re.sub(r"(?<![\w-])--pull (\w+)", r"KAFKALAB_PULL=\1", part)  # an option's value: a variable's
        return _CLI_OPTION.sub(lambda found: _PLUGIN_WORDS[found[1]], part)

    parts = re.split(r"(`[^`]*`)", hint)
    return "".join(part if part.startswith("`") else swap(part) for part in parts)


# --- per test -------------------------------------------------------------------------------


class _TopicSpec(NamedTuple):
    partitions: int = 1
    config: dict[str, str] | None = None


def _topic_spec(request: pytest.FixtureRequest) -> _TopicSpec:
    """From indirect parametrization (an int: partitions, or a dict), else from the kafka_topic marker."""
    param = getattr(request, "param", None)
    marker = request.node.get_closest_marker("kafka_topic")
    where = f"kafka_topic of {request.node.nodeid}"
    if isinstance(param, int):
        given: dict[str, Any] = {"partitions": param}
    elif isinstance(param, dict):
        given = dict(param)
    elif param is not None:
        pytest.fail(f"{where}: a parameter is the number of partitions or a dict, not {param!r}.", pytrace=False)
    elif marker is not None:
        if len(marker.args) > 1:
            pytest.fail(f"{where}: the marker takes partitions (the one positional argument) and config=.",
                        pytrace=False)
        given = {**dict(zip(["partitions"], marker.args, strict=False)), **marker.kwargs}
    else:
        given = {}
    unknown = sorted(set(given) - {"partitions", "config"})
    if unknown:
        pytest.fail(f"{where}: unknown argument {unknown[0]!r}; the arguments are partitions and config.",
                    pytrace=False)
    spec = _TopicSpec(**given)
    if not isinstance(spec.partitions, int) or isinstance(spec.partitions, bool) or spec.partitions < 1:
        pytest.fail(f"{where}: partitions must be a whole number above 0, not {spec.partitions!r}.", pytrace=False)
    return spec


def _unique_name(test_name: str, prefix: str = "") -> str:
    """A topic or group name from the test's name, legal in Kafka ([A-Za-z0-9._-], 249 at most)."""
    readable = re.sub(r"[^A-Za-z0-9_-]+", "-", test_name).strip("-")[:180]
    return f"{prefix}{readable}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def kafka_topic(kafka_lab: Lab, request: pytest.FixtureRequest) -> Iterator[str]:
    """The name of a new topic for this test alone (1 partition unless asked), deleted afterwards."""
    spec = _topic_spec(request)
    name = _unique_name(request.node.name)
    with _clear_failure():
        kafka_lab.create_topic(name, partitions=spec.partitions, config=spec.config)
    yield name
    with _clear_failure():
        kafka_lab.delete_topic(name, missing_ok=True)  # the test may have deleted it itself


@pytest.fixture
def kafka_producer(kafka_lab: Lab) -> Iterator[Any]:
    """A confluent_kafka Producer bound to the lab. What the test left unsent is dropped afterwards."""
    producer = kafka_lab.producer()
    yield producer
    # Flushing could wait minutes for a topic that is gone by now: drop leftovers, then close.
    producer.purge()
    producer.flush(0)
    close = getattr(producer, "close", None)  # confluent-kafka >= 2.11
    if close is not None:
        close()


@pytest.fixture
def kafka_consumer(kafka_lab: Lab, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A confluent_kafka Consumer in a group of its own, from the earliest offset, closed afterwards."""
    consumer = kafka_lab.consumer(_unique_name(request.node.name, prefix="kafkalab-"))
    yield consumer
    consumer.close()


@pytest.fixture(scope="session")
def schema_registry_url(kafka_lab: Lab) -> str:
    """The lab's Schema Registry from this machine (http://localhost:8081/apis/ccompat/v7), once it answers."""
    with _clear_failure():
        url = kafka_lab.schema_registry_url
        if url is None:
            from kafkalab.errors import ConfigError

            raise ConfigError(
                f"The lab {kafka_lab.settings.project} runs without a Schema Registry.",
                "Start the session's lab with one: --kafkalab-with schema-registry, or with = [\"schema-registry\"] "
                "in [tool.kafkalab] (a running lab without one: `kafkalab up --with schema-registry` adds it).",
            )
        kafka_lab.wait_ready(ui=False)  # an attached lab's registry may still be starting
    return url


@pytest.fixture(scope="session")
def schema_registry_client(schema_registry_url: str) -> Any:
    """A confluent_kafka.schema_registry.SchemaRegistryClient for the lab's Schema Registry."""
    from confluent_kafka.schema_registry import SchemaRegistryClient

    return SchemaRegistryClient({"url": schema_registry_url})
