"""Kafka through confluent-kafka: readiness, cluster metadata, topics, and preconfigured clients.

confluent_kafka is imported inside the functions (about 0.14 s), so that `kafkalab --help` and
the Docker-only commands never pay for it. librdkafka's own log lines go to the Python logger
"kafkalab.librdkafka", which prints nothing unless the caller configures logging.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal

from kafkalab.errors import (
    AuthenticationFailed,
    BrokerUnreachable,
    ConfigError,
    GroupNotEmpty,
    GroupNotFound,
    KafkalabError,
    KafkaRequestError,
    ReadinessTimeout,
    TlsFailed,
    TopicNotFound,
)

LOGGER_NAME = "kafkalab.librdkafka"


def _quiet_logger() -> logging.Logger:
    logger = logging.getLogger(LOGGER_NAME)
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
    return logger


# The settings confluent-kafka itself takes, as Python objects under these names (callbacks and a
# logging.Logger): they are no librdkafka properties, and keep their `_`.
PYTHON_SETTINGS = frozenset({
    "on_delivery", "on_commit", "error_cb", "throttle_cb", "stats_cb", "oauth_cb", "logger",
})


def client_config(bootstrap: str, **conf: Any) -> dict[str, Any]:
    """A librdkafka configuration for a lab: quiet, and quick to retry a broker that is starting.

    Keyword names are librdkafka's with `_` for `.` (linger_ms is linger.ms), but for
    confluent-kafka's own PYTHON_SETTINGS (on_delivery, error_cb, ...), which pass as they are.
    """
    return {
        "bootstrap.servers": bootstrap,
        "logger": _quiet_logger(),
        "reconnect.backoff.ms": 50,
        "reconnect.backoff.max.ms": 500,
        **{k if k in PYTHON_SETTINGS else k.replace("_", "."): v for k, v in conf.items()},
    }


def admin_client(bootstrap: str, **conf: Any) -> Any:
    from confluent_kafka.admin import AdminClient

    return AdminClient(client_config(bootstrap, **conf))


def producer(bootstrap: str, **conf: Any) -> Any:
    from confluent_kafka import Producer

    return Producer(client_config(bootstrap, **conf))


def consumer(bootstrap: str, group: str, **conf: Any) -> Any:
    from confluent_kafka import Consumer

    return Consumer(client_config(bootstrap, **{"group.id": group, "auto.offset.reset": "earliest", **conf}))


# --- the Kafka commands' own clients: the user's settings, and security errors --------------------

_user_settings: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar(
    "user_settings", default=None,
)
CONFIG_HINT = (
    "Use librdkafka's property names and values (https://github.com/confluentinc/librdkafka/blob/master/"
    "CONFIGURATION.md), as -X or a context's [contexts.NAME.client] table gives them."
)


@contextlib.contextmanager
def client_settings(settings: Mapping[str, str]) -> Iterator[None]:
    """Inside it, the clients of the Kafka commands (topics, groups, produce, consume) take these
    librdkafka settings over kafkalab's own: the CLI enters it with -X and a context's client table.

        with broker.client_settings({"security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN", ...}):
            broker.list_topics("kafka.example.com:9093")
    """
    token = _user_settings.set(dict(settings))
    try:
        yield
    finally:
        _user_settings.reset(token)


def user_settings() -> dict[str, str]:
    """The librdkafka settings of client_settings() in force: empty outside it."""
    return dict(_user_settings.get() or {})


ClientKind = Literal["admin", "producer", "consumer"]


def command_client(kind: ClientKind, bootstrap: str, conf: Mapping[str, Any] | None = None) -> Any:
    """A client for one of kafkalab's commands: client_config(bootstrap), then kafkalab's settings
    for the task (`conf`, with librdkafka's names), then the user's from client_settings(), which
    win. Settings librdkafka refuses are a ConfigError. Its error callback ends the command with
    AuthenticationFailed or TlsFailed when the broker refuses the login or the TLS handshake:
    librdkafka itself would retry until a request timed out, as if no broker answered.
    """
    from confluent_kafka import Consumer, KafkaException, Producer
    from confluent_kafka.admin import AdminClient

    user = user_settings()
    full = {**client_config(bootstrap), **(conf or {}), **user}
    full["error_cb"] = SecurityCheck(bootstrap, full)
    make = {"admin": AdminClient, "producer": Producer, "consumer": Consumer}[kind]
    try:
        return make(full)
    except KafkaException as exc:
        detail = exc.args[0].str().partition("Failed to create ")[2].partition(": ")[2] or exc.args[0].str()
        from kafkalab.kafka.contexts import masked

        given = f" ({', '.join(f'{k}={masked(k, v)}' for k, v in user.items())})" if user else ""
        raise ConfigError(f"librdkafka refused the client settings{given}: {sentence(detail)}", CONFIG_HINT) from None


class SecurityCheck:
    """The commands' clients' error_cb: a refused login or TLS handshake is an error of its own.

    librdkafka reports these (and passing trouble, such as a broker restarting) through the error
    callback, which runs inside poll(), consume() and flush(); an exception raised here comes out
    of that call. Anything else librdkafka retries by itself, and is left to the request timeouts.
    """

    def __init__(self, bootstrap: str, conf: Mapping[str, Any]) -> None:
        self.bootstrap = bootstrap
        self.mechanism = str(conf.get("sasl.mechanism", conf.get("sasl.mechanisms", "GSSAPI"))).upper()
        self.protocol = str(conf.get("security.protocol", "plaintext")).upper()

    def __call__(self, error: Any) -> None:
        from confluent_kafka import KafkaError

        text = error.str()
        if error.code() == KafkaError._AUTHENTICATION:
            raise self.authentication_failed(text)
        if error.code() == KafkaError._SSL or "SSL handshake failed" in text:
            raise self.tls_failed(text)

    @staticmethod
    def _detail(text: str) -> str:
        """librdkafka's words without the broker's name before them and the "(after 301ms in state ...)" after."""
        head, sep, rest = text.partition("/bootstrap: ")
        if not sep:
            head, sep, rest = text.partition(": ")
            rest = rest if sep and "://" in head else text
        return re.sub(r"\s*\(after \d+ms in state [A-Z_]+\)$", "", rest).strip()

    def authentication_failed(self, text: str) -> AuthenticationFailed:
        detail = self._detail(text)
        where = f"SASL authentication ({self.mechanism}) failed at {self.bootstrap}"
        supported = re.search(r"broker's supported mechanisms: ?([A-Z0-9_,-]*)", detail)
        if supported and supported.group(1):
            enabled = supported.group(1).replace(",", ", ")
            return AuthenticationFailed(
                f"{where}: the broker does not enable {self.mechanism}; it enables {enabled}.",
                f"Set sasl.mechanism to one of those, such as -X sasl.mechanism={supported.group(1).split(',')[0]}.",
            )
        if supported:  # a listener without SASL: it answers the SASL handshake as a request out of place
            return AuthenticationFailed(
                f"{where}: this listener does not take SASL (it refused the SASL handshake).",
                "Check security.protocol and the port: this one speaks PLAINTEXT or SSL, without SASL.",
            )
        return AuthenticationFailed(
            f"{where}: {sentence(detail.removeprefix('SASL authentication error: '))}",
            "Check sasl.username and sasl.password (-X, or the context's client table; "
            "`kafkalab config` lists the contexts).",
        )

    def tls_failed(self, text: str) -> TlsFailed:
        detail = self._detail(text)
        if "PLAINTEXT broker listener" in detail:
            return TlsFailed(
                f"TLS handshake failed at {self.bootstrap}: the broker closed the connection, as a PLAINTEXT "
                f"listener does when spoken TLS to (security.protocol={self.protocol}).",
                "Use the cluster's TLS port, or drop TLS there: -X security.protocol=PLAINTEXT (or SASL_PLAINTEXT).",
            )
        return TlsFailed(
            f"TLS handshake failed at {self.bootstrap}: {sentence(detail)}",
            "Check ssl.ca.location (the CA that signed the broker's certificate) and the host name in the address.",
        )


@dataclasses.dataclass(frozen=True)
class ClusterInfo:
    bootstrap: str
    cluster_id: str | None
    controller_id: int
    brokers: tuple[tuple[int, str], ...]  # (id, host:port)
    topics: int  # not counting internal topics (__consumer_offsets, ...)
    partitions: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "bootstrap": self.bootstrap,
            "cluster_id": self.cluster_id,
            "controller_id": self.controller_id,
            "broker_count": len(self.brokers),
            "brokers": [{"id": i, "address": a} for i, a in self.brokers],
            "topics": self.topics,
            "partitions": self.partitions,
        }


def _metadata(admin: Any, bootstrap: str, timeout: float) -> ClusterInfo:
    """One metadata request; BrokerUnreachable when no broker answers within the timeout."""
    from confluent_kafka import KafkaException

    try:
        md = admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        raise unreachable(f"No Kafka broker answered at {bootstrap}: {exc.args[0].str()}.") from None
    user_topics = [t for name, t in md.topics.items() if not name.startswith("__")]
    return ClusterInfo(
        bootstrap=bootstrap,
        cluster_id=md.cluster_id,
        controller_id=md.controller_id,
        brokers=tuple(sorted((b.id, f"{b.host}:{b.port}") for b in md.brokers.values())),
        topics=len(user_topics),
        partitions=sum(len(t.partitions) for t in user_topics),
    )


def cluster_info(bootstrap: str, timeout: float = 2.0) -> ClusterInfo:
    return _metadata(admin_client(bootstrap), bootstrap, timeout)


def wait_for_brokers(
    bootstrap: str, count: int, timeout: float, on_attempt: Callable[[], None] | None = None,
) -> ClusterInfo:
    """Poll with metadata requests of at most 0.5 s each until `count` brokers answer."""
    admin = admin_client(bootstrap)
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        try:
            info = _metadata(admin, bootstrap, max(0.05, min(0.5, remaining)))
            if len(info.brokers) >= count:
                return info
        except BrokerUnreachable:
            pass
        if on_attempt:
            on_attempt()
        if time.monotonic() >= deadline:
            raise ReadinessTimeout(f"The broker at {bootstrap} was not ready within {timeout:g} s.")


def create_topic(  # the positional order is public API
    bootstrap: str, name: str, partitions: int = 1, replication: int = -1,
    config: dict[str, str] | None = None, if_not_exists: bool = False, timeout: float = 10.0,
) -> bool:
    """Create a topic and wait for it; False when it existed and if_not_exists allows that.

    A replication of -1 leaves it to the broker (its default.replication.factor).
    """
    from concurrent.futures import TimeoutError as FutureTimeout

    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import NewTopic  # type: ignore[attr-defined]

    admin = _admin(bootstrap)
    _reachable(admin, bootstrap, min(timeout, REQUEST_TIMEOUT))
    topic = NewTopic(name, num_partitions=partitions, replication_factor=replication, config=config or {})
    try:
        future = admin.create_topics([topic], request_timeout=timeout)[name]
    except ValueError as exc:  # librdkafka's own limits: 1 to 100,000 partitions, replication 1 to 10,000
        detail = str(exc).partition("): ")[2] or str(exc)  # without its "Invalid NewTopic(name)" prefix
        raise KafkaRequestError(
            f"Could not create topic {name}: {sentence(detail)}",
            "Give 1 to 100,000 partitions and a replication factor of 1 to 10,000.",
        ) from None
    try:
        future.result(timeout=timeout + 1)  # the request's own timeout comes first, with a clearer error
    except KafkaException as exc:
        error = exc.args[0]
        if error.code() == KafkaError.TOPIC_ALREADY_EXISTS and if_not_exists:
            return False
        if error.code() == KafkaError._TRANSPORT or error.code() == KafkaError._TIMED_OUT:
            raise unreachable(f"No Kafka broker answered at {bootstrap}: {error.str()}.") from None
        message = f"Could not create topic {name}: {sentence(error.str())}"
        raise KafkaRequestError(message, _create_hint(error)) from None
    except FutureTimeout:
        raise unreachable(f"Could not create topic {name}: no answer from {bootstrap}.") from None
    _wait_for_topic(admin, bootstrap, name, timeout)
    return True


def _wait_for_topic(admin: Any, bootstrap: str, name: str, timeout: float) -> None:
    """Until the broker's metadata shows the new topic with a leader for every partition.

    The controller accepts a topic before the brokers know it: a produce right after the create
    would otherwise find no topic.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            meta = topic_metadata(admin, bootstrap, name, max(deadline - time.monotonic(), 0.05))
            if meta.partitions and all(p.leader >= 0 for p in meta.partitions.values()):
                return
        except TopicNotFound:
            pass
        if time.monotonic() >= deadline:
            return  # created all the same; a later request may still have to wait for it
        time.sleep(0.05)


# --- topics and consumer groups: what `kafkalab topic` and `kafkalab group` show --------------

REQUEST_TIMEOUT = 5.0
"""Seconds a command waits for the cluster to answer one request before BrokerUnreachable."""

_UNREACHABLE = ("_TRANSPORT", "_TIMED_OUT", "_ALL_BROKERS_DOWN", "_RESOLVE", "_WAIT_COORD")


def is_internal(topic: str) -> bool:
    """Kafka's own topics (__consumer_offsets, __transaction_state, ...), hidden unless asked for."""
    return topic.startswith("__")


BOOTSTRAP_HINT = (
    "Give the brokers as HOST:PORT[,HOST:PORT...], such as localhost:9092 or SASL_SSL://[::1]:9093."
)
# Kafka's security protocols: the schemes librdkafka takes before "://" (in any case).
SCHEMES = ("plaintext", "ssl", "sasl_plaintext", "sasl_ssl")


def parse_bootstrap(text: str, where: str = "--bootstrap-server") -> str:
    """The bootstrap list `text` with its blanks removed, or ConfigError saying what is wrong with it.

    Entries are HOST:PORT, with an optional SCHEME:// (one of Kafka's security protocols, SCHEMES,
    as librdkafka takes them) and IPv6 hosts in brackets. librdkafka would take almost anything and then time out after
    seconds; this says at once. `where` names the source of the text in the message.
    """

    def bad(why: str) -> ConfigError:
        return ConfigError(f"Bad {where} {text!r}: {why}.", BOOTSTRAP_HINT)

    if not text.strip():
        raise bad("it is empty")
    raws = text.split(",")
    entries = []
    for raw in raws:
        entry = raw.strip()
        # Name the entry at fault only in a list of them.
        it, of = ("it", "") if len(raws) == 1 else (repr(entry), f" of {entry!r}")
        if not entry:
            raise bad("an entry is empty")
        scheme, sep, address = entry.rpartition("://")
        if sep and not scheme:
            raise bad(f"{it} has no scheme before ://")
        if sep and scheme.lower() not in SCHEMES:
            raise bad(f"scheme {scheme}://{of} is not one of Kafka's security protocols ({', '.join(SCHEMES)})")
        host, sep, port = address.rpartition(":")
        if not sep or not port:
            raise bad(f"{it} is not HOST:PORT")
        if not (port.isascii() and port.isdigit()) or not 1 <= int(port) <= 65535:
            raise bad(f"port {port}{of} is not a number from 1 to 65535")
        inner = host[1:-1] if host.startswith("[") and host.endswith("]") else host
        if not inner:
            raise bad(f"the host{of} is empty")
        if ":" in host and inner == host:
            raise bad(f"the IPv6 host{of} goes in brackets, as [::1]:9092")
        if any(c.isspace() or c in "/[]" for c in inner):
            raise bad(f"host {inner!r}{of} is not a host name or address")
        entries.append(entry)
    return ",".join(entries)


_hint_unreachable: contextvars.ContextVar[str | None] = contextvars.ContextVar("hint_unreachable", default=None)


@contextlib.contextmanager
def unreachable_hint(hint: str | None) -> Iterator[None]:
    """Inside it, BrokerUnreachable has this hint instead of its default (start the lab).

    The CLI enters it when the address is not the lab's: then starting the lab would not help.
    """
    token = _hint_unreachable.set(hint)
    try:
        yield
    finally:
        _hint_unreachable.reset(token)


def unreachable(message: str, hint: str | None = None) -> BrokerUnreachable:
    """The one place BrokerUnreachable is made: with `hint`, else the one of unreachable_hint()."""
    return BrokerUnreachable(message, hint or _hint_unreachable.get())


def probe(bootstrap: str, timeout: float = 1.0) -> None:
    """BrokerUnreachable at once when no bootstrap address accepts a TCP connection.

    librdkafka retries a refused connection until the request's timeout: without this, every
    command would wait REQUEST_TIMEOUT seconds before saying that the lab is not running.
    librdkafka would also retry a host name that does not resolve: that is said at once too.
    """
    import socket

    reasons = []
    unknown = []  # host names that do not resolve
    for address in bootstrap.split(","):
        host, sep, port = address.strip().rpartition("://")[2].rpartition(":")
        if not sep or not port.isdigit() or not 1 <= int(port) <= 65535:
            return  # not host:port: leave it to librdkafka, which knows more forms
        try:
            socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
            return
        except socket.gaierror:
            unknown.append(host)
        except OSError as exc:
            reasons.append(exc.strerror or type(exc).__name__)
    if unknown:  # a typo is likelier than a broker that is down: say that first
        raise unreachable(
            f"No Kafka broker answered at {bootstrap}: the host name {unknown[0]} does not resolve.",
            "Check the host name in the address: this machine's resolver (DNS, /etc/hosts) does not know it.",
        )
    raise unreachable(f"No Kafka broker answered at {bootstrap}: {reasons[0].lower()}.")


def _admin(bootstrap: str) -> Any:
    probe(bootstrap)
    # A metadata request for one topic would create it on a broker with auto.create.topics.enable.
    return command_client("admin", bootstrap, {"allow.auto.create.topics": False})


ATTEMPT = 0.5
"""Seconds of one metadata request of a command: between two, the client's error callback runs."""


def list_metadata(client: Any, bootstrap: str, timeout: float, topic: str | None = None) -> Any:
    """list_topics() of any client, in attempts of at most ATTEMPT s until `timeout`.

    Between two attempts the client's callbacks are served: the error callback of command_client()
    raises AuthenticationFailed or TlsFailed then, within a second, where librdkafka would retry
    the login until the timeout. BrokerUnreachable when the request fails at once (no broker
    would talk) or by the deadline. A consumer must not be reading yet: poll() would take a message.
    """
    from confluent_kafka import KafkaException

    deadline = time.monotonic() + timeout
    while True:
        started = time.monotonic()
        wait = max(min(ATTEMPT, deadline - started), 0.05)
        try:
            return client.list_topics(topic=topic, timeout=wait)
        except KafkaException as exc:
            client.poll(0)
            at_once = time.monotonic() - started < wait * 0.8
            if at_once or time.monotonic() >= deadline:
                raise unreachable(f"No Kafka broker answered at {bootstrap}: {exc.args[0].str()}.") from None


def request_failed(error: Any, bootstrap: str, what: str) -> KafkalabError:
    """The typed error for a librdkafka KafkaError: unreachable, missing topic or group, or refused."""
    from confluent_kafka import KafkaError

    code = error.code()
    if code in {getattr(KafkaError, name) for name in _UNREACHABLE}:
        return unreachable(f"No Kafka broker answered at {bootstrap}: {error.str()}.")
    if code in (KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError.UNKNOWN_TOPIC_ID):
        return TopicNotFound(f"{what}: the topic does not exist at {bootstrap}.")
    if code == KafkaError.GROUP_ID_NOT_FOUND:
        return GroupNotFound(f"{what}: the consumer group does not exist at {bootstrap}.")
    return KafkaRequestError(f"{what}: {sentence(error.str())}")


def sentence(text: str) -> str:
    """librdkafka's error strings end with a period or not: end them with one."""
    return text if text.endswith(".") else text + "."


def _create_hint(error: Any) -> str | None:
    """What to do when the broker refuses a new topic, by its error code."""
    from confluent_kafka import KafkaError

    return {
        KafkaError.INVALID_CONFIG: "Use key=value pairs of topic configs: https://kafka.apache.org/documentation/#topicconfigs",
        KafkaError.INVALID_REPLICATION_FACTOR: "The replication factor cannot exceed the number of brokers.",
        KafkaError.INVALID_PARTITIONS: "Give at least 1 partition.",
        KafkaError.TOPIC_ALREADY_EXISTS: "Pass --if-not-exists to accept an existing topic.",
        KafkaError.TOPIC_EXCEPTION: "Topic names use letters, digits, '.', '_' and '-', at most 249 of them.",
    }.get(error.code())


def _reachable(admin: Any, bootstrap: str, timeout: float) -> Any:
    """Cluster metadata, or BrokerUnreachable: the group APIs would only say "timed out" later."""
    return list_metadata(admin, bootstrap, timeout)


def _result(future: Any, bootstrap: str, what: str, timeout: float) -> Any:
    from concurrent.futures import TimeoutError as FutureTimeout

    from confluent_kafka import KafkaException

    try:
        return future.result(timeout=timeout)
    except KafkaException as exc:
        raise request_failed(exc.args[0], bootstrap, what) from None
    except FutureTimeout:
        raise unreachable(f"{what}: no answer from {bootstrap} within {timeout:g} s.") from None


def topic_metadata(client: Any, bootstrap: str, topic: str, timeout: float = REQUEST_TIMEOUT) -> Any:
    """One topic's metadata through any client; TopicNotFound or BrokerUnreachable instead of errors.

    The client must have allow.auto.create.topics=false, or asking would create the topic.
    """
    from confluent_kafka import KafkaError

    deadline = time.monotonic() + timeout
    while True:
        md = list_metadata(client, bootstrap, max(deadline - time.monotonic(), 0.05), topic)
        found = md.topics.get(topic)
        error = found.error if found is not None else None
        if found is not None and error is None:
            return found
        # A topic that was just created has no leader for a moment: ask again until the deadline.
        retry = error is not None and error.code() == KafkaError.LEADER_NOT_AVAILABLE
        if not retry or time.monotonic() >= deadline:
            if error is not None and not retry and error.code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                raise request_failed(error, bootstrap, f"Topic {topic}")
            raise TopicNotFound(f"Topic {topic} does not exist at {bootstrap}.")
        time.sleep(0.05)


def check_partition(topic: str, partition: int, partitions: int) -> None:
    """KafkaRequestError unless `partition` is one of the topic's `partitions` (numbered from 0)."""
    if not 0 <= partition < partitions:
        have = "partition 0" if partitions == 1 else f"partitions 0 to {partitions - 1}"
        raise KafkaRequestError(
            f"Topic {topic} has no partition {partition}: it has {have}.",
            f"Partitions are numbered from 0; `kafkalab topic describe {topic}` lists them.",
        )


@dataclasses.dataclass(frozen=True)
class TopicSummary:
    name: str
    partitions: int
    replication: int
    internal: bool

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def list_topics(
    bootstrap: str, *, include_internal: bool = False, timeout: float = REQUEST_TIMEOUT,
) -> list[TopicSummary]:
    """The cluster's topics by name; Kafka's internal ones only with include_internal."""
    md = _reachable(_admin(bootstrap), bootstrap, timeout)
    topics = []
    for name, t in md.topics.items():
        if is_internal(name) and not include_internal:
            continue
        replication = max((len(p.replicas) for p in t.partitions.values()), default=0)
        topics.append(TopicSummary(name, len(t.partitions), replication, is_internal(name)))
    return sorted(topics, key=lambda t: t.name)


@dataclasses.dataclass(frozen=True)
class PartitionInfo:
    partition: int
    leader: int  # -1: offline, no broker leads it (those that hold it are down)
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    start_offset: int | None  # the first offset still stored (the low watermark); None while offline
    end_offset: int | None  # the offset the next message will get (the high watermark); None while offline

    @property
    def offline(self) -> bool:
        return self.leader < 0

    @property
    def messages(self) -> int | None:
        """Offsets in [start, end): the messages stored, exact unless compacted or transactional;
        None while offline."""
        if self.start_offset is None or self.end_offset is None:
            return None
        return self.end_offset - self.start_offset


@dataclasses.dataclass(frozen=True)
class TopicDescription:
    name: str
    partitions: tuple[PartitionInfo, ...]
    configs: tuple[tuple[str, str], ...]  # (name, value): those set on the topic, differing from the defaults

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "partitions": [
                {**dataclasses.asdict(p), "leader": None if p.offline else p.leader, "offline": p.offline,
                 "replicas": list(p.replicas), "isr": list(p.isr)}
                for p in self.partitions
            ],
            "configs": dict(self.configs),
        }


def partition_offsets(
    admin: Any, bootstrap: str, topic: str, partitions: list[int], timeout: float = REQUEST_TIMEOUT,
) -> dict[int, tuple[int, int]]:
    """Each partition's (start, end) offsets, in two ListOffsets requests."""
    from confluent_kafka import TopicPartition
    from confluent_kafka.admin import OffsetSpec  # type: ignore[attr-defined]

    found: dict[str, dict[int, int]] = {}
    specs = (("start", OffsetSpec.earliest()), ("end", OffsetSpec.latest()))  # type: ignore[no-untyped-call]
    for which, spec in specs:
        futures = admin.list_offsets({TopicPartition(topic, p): spec for p in partitions}, request_timeout=timeout)
        found[which] = {
            tp.partition: _result(f, bootstrap, f"Offsets of {topic}", timeout).offset for tp, f in futures.items()
        }
    return {p: (found["start"][p], found["end"][p]) for p in partitions}


def offline_partitions(meta: Any) -> list[int]:
    """The partitions of a topic's metadata that no broker leads (the brokers that hold them are
    down): nothing can be read from them or written to them until one is back."""
    return sorted(p.id for p in meta.partitions.values() if p.leader < 0)


def describe_topic(bootstrap: str, name: str, timeout: float = REQUEST_TIMEOUT) -> TopicDescription:
    """Partitions with leader, replicas, ISR and offsets, and the configs set on the topic.
    An offline partition (no leader) is shown as such, without offsets: only its leader knows them."""
    from confluent_kafka.admin import ConfigResource, ConfigSource, ResourceType  # type: ignore[attr-defined]

    admin = _admin(bootstrap)
    meta = topic_metadata(admin, bootstrap, name, timeout)
    configs = admin.describe_configs([ConfigResource(ResourceType.TOPIC, name)], request_timeout=timeout)
    offline = offline_partitions(meta)
    online = [p for p in sorted(meta.partitions) if p not in offline]
    offsets: dict[int, tuple[int | None, int | None]] = {p: (None, None) for p in offline}
    offsets.update(partition_offsets(admin, bootstrap, name, online, timeout) if online else {})
    entries = _result(next(iter(configs.values())), bootstrap, f"Configs of {name}", timeout)
    # Only the values set on the topic itself: the rest are the broker's defaults.
    own = sorted((k, e.value) for k, e in entries.items() if e.source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value)
    partitions = tuple(
        PartitionInfo(p.id, p.leader, tuple(p.replicas), tuple(p.isrs), *offsets[p.id])
        for p in sorted(meta.partitions.values(), key=lambda p: p.id)
    )
    return TopicDescription(name, partitions, tuple(own))


def delete_topic(bootstrap: str, name: str, timeout: float = REQUEST_TIMEOUT) -> None:
    """Delete a topic and wait for the controller to accept; TopicNotFound when there is none."""
    admin = _admin(bootstrap)
    topic_metadata(admin, bootstrap, name, timeout)
    future = admin.delete_topics([name], operation_timeout=timeout, request_timeout=timeout)[name]
    _result(future, bootstrap, f"Could not delete topic {name}", timeout)


@dataclasses.dataclass(frozen=True)
class GroupSummary:
    group: str
    state: str  # stable, empty, preparing_rebalancing, ... (lower case, as Kafka names them)
    type: str  # classic or consumer (KIP-848)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _enum_name(value: Any) -> str:
    return str(getattr(value, "name", value)).lower()


def list_groups(bootstrap: str, timeout: float = REQUEST_TIMEOUT) -> list[GroupSummary]:
    """The cluster's consumer groups by name."""
    admin = _admin(bootstrap)
    _reachable(admin, bootstrap, timeout)
    listed = _result(admin.list_consumer_groups(request_timeout=timeout), bootstrap, "Listing groups", timeout)
    return sorted(
        (GroupSummary(g.group_id, _enum_name(g.state), _enum_name(g.type)) for g in listed.valid),
        key=lambda g: g.group,
    )


@dataclasses.dataclass(frozen=True)
class GroupMember:
    member_id: str
    client_id: str
    host: str
    assignment: tuple[tuple[str, int], ...]  # (topic, partition)


@dataclasses.dataclass(frozen=True)
class GroupPartition:
    topic: str
    partition: int
    committed: int | None  # None: nothing committed yet
    end: int | None
    lag: int | None  # end - committed, when both are known
    member_id: str | None  # the member it is assigned to, if any


@dataclasses.dataclass(frozen=True)
class GroupDescription:
    group: str
    state: str
    type: str
    coordinator: int | None
    assignor: str
    members: tuple[GroupMember, ...]
    partitions: tuple[GroupPartition, ...]

    @property
    def lag(self) -> int:
        return sum(p.lag or 0 for p in self.partitions)

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "state": self.state,
            "type": self.type,
            "coordinator": self.coordinator,
            "assignor": self.assignor,
            "lag": self.lag,
            "members": [
                {"member_id": m.member_id, "client_id": m.client_id, "host": m.host,
                 "assignment": [{"topic": t, "partition": p} for t, p in m.assignment]}
                for m in self.members
            ],
            "partitions": [dataclasses.asdict(p) for p in self.partitions],
        }


def describe_group(bootstrap: str, group: str, timeout: float = REQUEST_TIMEOUT) -> GroupDescription:
    """Members, and per partition the committed offset, the end offset and the lag."""
    from confluent_kafka import ConsumerGroupTopicPartitions

    admin = _admin(bootstrap)
    _reachable(admin, bootstrap, timeout)
    what = f"Group {group}"
    described = admin.describe_consumer_groups([group], request_timeout=timeout)[group]
    committed_future = admin.list_consumer_group_offsets(
        [ConsumerGroupTopicPartitions(group)], request_timeout=timeout,
    )[group]
    desc = _result(described, bootstrap, what, timeout)
    committed = {
        (tp.topic, tp.partition): tp.offset
        for tp in _result(committed_future, bootstrap, what, timeout).topic_partitions or []
    }
    members = tuple(
        GroupMember(m.member_id, m.client_id, m.host, tuple(sorted(
            (tp.topic, tp.partition) for tp in (m.assignment.topic_partitions if m.assignment else [])
        )))
        for m in sorted(desc.members, key=lambda m: m.member_id)
    )
    if not members and not committed and _enum_name(desc.state) in ("dead", "unknown"):
        raise GroupNotFound(f"There is no consumer group {group} at {bootstrap}.")
    owner = {tp: m.member_id for m in members for tp in m.assignment}
    keys = sorted(set(committed) | set(owner))
    ends: dict[tuple[str, int], int] = {}
    for topic in sorted({t for t, _ in keys}):
        try:
            offsets = partition_offsets(admin, bootstrap, topic, [p for t, p in keys if t == topic], timeout)
        except TopicNotFound:
            continue  # deleted since the group committed: no end offset to show
        ends.update({(topic, p): end for p, (_start, end) in offsets.items()})
    partitions = []
    for key in keys:
        offset = committed.get(key)
        done = offset if offset is not None and offset >= 0 else None
        end = ends.get(key)
        lag = end - done if end is not None and done is not None else None
        partitions.append(GroupPartition(key[0], key[1], done, end, lag, owner.get(key)))
    coordinator = desc.coordinator.id if desc.coordinator is not None else None
    return GroupDescription(
        group, _enum_name(desc.state), _enum_name(getattr(desc, "type", "classic")), coordinator,
        desc.partition_assignor or "", members, tuple(partitions),
    )


# --- consumer groups: resetting offsets, deleting a group --------------------------------------

ResetTo = Literal["earliest", "latest", "offset", "shift", "datetime"]

# A group in one of these states has members: Kafka refuses to change its offsets from outside.
_ACTIVE_STATES = ("stable", "preparing_rebalance", "completing_rebalance", "assigning", "reconciling")


@dataclasses.dataclass(frozen=True)
class ResetTarget:
    """Where `group reset-offsets` moves a group's offsets, as kafka-consumer-groups takes them."""

    to: ResetTo
    value: int | None = None  # the offset (offset), the shift (shift), the time in ms since the epoch (datetime)


@dataclasses.dataclass(frozen=True)
class PartitionReset:
    topic: str
    partition: int
    current: int | None  # the committed offset; None: the group committed nothing here yet
    new: int


@dataclasses.dataclass(frozen=True)
class ResetPlan:
    group: str
    topic: str
    executed: bool  # False: a dry run, nothing was changed
    partitions: tuple[PartitionReset, ...]
    notes: tuple[str, ...] = ()  # offsets moved into the log's range, as kafka-consumer-groups warns

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "topic": self.topic,
            "executed": self.executed,
            "partitions": [dataclasses.asdict(p) for p in self.partitions],
            "notes": list(self.notes),
        }


def _check_inactive(admin: Any, bootstrap: str, group: str, timeout: float, doing: str) -> None:
    """GroupNotEmpty while the group has members; a group that does not exist is inactive too."""
    from confluent_kafka import KafkaError, KafkaException

    # On a cluster that never had a group, the first request makes the broker create
    # __consumer_offsets, and is answered NOT_COORDINATOR until that is loaded: ask again.
    loading = (
        KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_NOT_AVAILABLE, KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    )
    deadline = time.monotonic() + timeout
    while True:
        future = admin.describe_consumer_groups([group], request_timeout=timeout)[group]
        try:
            desc = future.result(timeout=timeout)
            break
        except KafkaException as exc:
            error = exc.args[0]
            if error.code() == KafkaError.GROUP_ID_NOT_FOUND:
                return
            if error.code() not in loading or time.monotonic() >= deadline:
                raise request_failed(error, bootstrap, f"Group {group}") from None
        time.sleep(0.1)
    state = _enum_name(desc.state)
    if desc.members or state in _ACTIVE_STATES:
        raise GroupNotEmpty(
            f"Cannot {doing} group {group}: it has {len(desc.members)} active "
            f"member{'' if len(desc.members) == 1 else 's'} ({state}).",
            f"Stop its consumers first; `kafkalab group describe {group}` lists them.",
        )


def _clamp(partition: int, wanted: int, start: int, end: int, notes: list[str]) -> int:
    """Into [start, end], as kafka-consumer-groups moves an offset outside the log, with a note."""
    if wanted > end:
        notes.append(f"Partition {partition}: offset {wanted} is past the end, {end}: it is set to {end}.")
        return end
    if wanted < start:
        notes.append(f"Partition {partition}: offset {wanted} is before the start, {start}: it is set to {start}.")
        return start
    return wanted


def reset_offsets(
    bootstrap: str, group: str, topic: str, target: ResetTarget, *, execute: bool = False,
    timeout: float = REQUEST_TIMEOUT,
) -> ResetPlan:
    """The new offsets of `group` on every partition of `topic`, committed only when `execute`.

    As Kafka's kafka-consumer-groups --reset-offsets: only while the group has no active member
    (GroupNotEmpty otherwise); a group with nothing committed may be given offsets (it need not
    exist yet); --to-offset and --shift-by are moved into [log start, log end]; --shift-by needs
    a committed offset; --to-datetime takes the first offset at or after the time, and the end
    of a partition with no message that late.
    """
    from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
    from confluent_kafka.admin import OffsetSpec  # type: ignore[attr-defined]

    admin = _admin(bootstrap)
    _reachable(admin, bootstrap, timeout)
    doing = "reset the offsets of"
    _check_inactive(admin, bootstrap, group, timeout, doing)
    partitions = sorted(topic_metadata(admin, bootstrap, topic, timeout).partitions)
    what = f"Group {group}"
    future = admin.list_consumer_group_offsets(
        [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p) for p in partitions])], request_timeout=timeout,
    )[group]
    committed = {
        tp.partition: tp.offset for tp in _result(future, bootstrap, what, timeout).topic_partitions or []
        if tp.offset >= 0  # -1001 (OFFSET_INVALID): nothing committed
    }
    offsets = partition_offsets(admin, bootstrap, topic, partitions, timeout)
    at_time: dict[int, int] = {}
    if target.to == "datetime":
        spec = OffsetSpec.for_timestamp(int(target.value or 0))
        futures = admin.list_offsets({TopicPartition(topic, p): spec for p in partitions}, request_timeout=timeout)
        at_time = {
            tp.partition: _result(f, bootstrap, f"Offsets of {topic}", timeout).offset for tp, f in futures.items()
        }
    if target.to == "shift" and (missing := [p for p in partitions if p not in committed]):
        raise KafkaRequestError(
            f"Cannot shift the offsets of group {group} on {topic}: partition {missing[0]} has no committed offset.",
            "Give --to-earliest, --to-latest, --to-offset or --to-datetime for a group that committed nothing yet.",
        )
    notes: list[str] = []
    plan = []
    for p in partitions:
        start, end = offsets[p]
        current = committed.get(p)
        if target.to == "earliest":
            new = start
        elif target.to == "latest":
            new = end
        elif target.to == "offset":
            new = _clamp(p, int(target.value or 0), start, end, notes)
        elif target.to == "shift":
            new = _clamp(p, committed[p] + int(target.value or 0), start, end, notes)
        elif at_time[p] >= 0:
            new = at_time[p]
        else:  # no message at or after the time: the end, as kafka-consumer-groups falls back to
            notes.append(f"Partition {p}: no message at or after the time: it is set to the end, {end}.")
            new = end
        plan.append(PartitionReset(topic, p, current, new))
    if execute:
        request = ConsumerGroupTopicPartitions(group, [TopicPartition(topic, r.partition, r.new) for r in plan])
        future = admin.alter_consumer_group_offsets([request], request_timeout=timeout)[group]
        _group_result(future, bootstrap, group, doing, timeout)
    return ResetPlan(group, topic, execute, tuple(plan), tuple(notes))


def _group_result(future: Any, bootstrap: str, group: str, doing: str, timeout: float) -> Any:
    """A group request's result; GroupNotEmpty when the group has members (one may have joined since)."""
    from concurrent.futures import TimeoutError as FutureTimeout

    from confluent_kafka import KafkaError, KafkaException

    try:
        return future.result(timeout=timeout)
    except KafkaException as exc:
        error = exc.args[0]
        # An offset commit from outside the group is UNKNOWN_MEMBER_ID once it has members.
        if error.code() in (KafkaError.NON_EMPTY_GROUP, KafkaError.UNKNOWN_MEMBER_ID, KafkaError.REBALANCE_IN_PROGRESS):
            raise GroupNotEmpty(
                f"Cannot {doing} group {group}: it has active members.",
                f"Stop its consumers first; `kafkalab group describe {group}` lists them.",
            ) from None
        raise request_failed(error, bootstrap, f"Could not {doing} group {group}") from None
    except FutureTimeout:
        raise unreachable(
            f"Could not {doing} group {group}: no answer from {bootstrap} within {timeout:g} s.",
        ) from None


def delete_group(bootstrap: str, group: str, timeout: float = REQUEST_TIMEOUT) -> None:
    """Delete a consumer group and its committed offsets; GroupNotFound, or GroupNotEmpty while it has members."""
    admin = _admin(bootstrap)
    _reachable(admin, bootstrap, timeout)
    future = admin.delete_consumer_groups([group], request_timeout=timeout)[group]
    _group_result(future, bootstrap, group, "delete", timeout)


# --- produce: the topic to send to -------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class ProduceTarget:
    topic: str
    partitions: int
    created: bool  # it did not exist, and the broker created it (auto.create.topics.enable)
    max_message_bytes: int | None = None  # the topic's max.message.bytes; None when the cluster does not say


def produce_target(bootstrap: str, topic: str, timeout: float = REQUEST_TIMEOUT) -> ProduceTarget:
    """The topic a produce sends to. One that does not exist follows the broker's own
    auto.create.topics.enable, as with Kafka's console producer and kcat: asked for with a
    metadata request that lets the broker create it (with its num.partitions) when that is true,
    TopicNotFound when it is false. A cluster that does not say (no right to read its configs) is
    asked all the same, and TopicNotFound follows when no topic appears within 2 s.
    """
    admin = _admin(bootstrap)
    try:
        meta = topic_metadata(admin, bootstrap, topic, timeout)
        return ProduceTarget(topic, len(meta.partitions), False, _max_message_bytes(admin, bootstrap, topic, timeout))
    except TopicNotFound:
        auto = _auto_creates(admin, bootstrap, timeout)
        if auto is False:
            raise
    # KRaft brokers answer the first request "unknown topic" while they create it: ask until it is there.
    creating = command_client("admin", bootstrap, {"allow.auto.create.topics": True})
    deadline = time.monotonic() + (timeout if auto else min(timeout, 2.0))
    while True:
        try:
            meta = topic_metadata(creating, bootstrap, topic, max(deadline - time.monotonic(), 0.05))
            break
        except TopicNotFound:
            if time.monotonic() >= deadline:
                raise
        time.sleep(0.05)
    _wait_for_topic(admin, bootstrap, topic, timeout)
    return ProduceTarget(topic, len(meta.partitions), True, _max_message_bytes(admin, bootstrap, topic, timeout))


def _max_message_bytes(admin: Any, bootstrap: str, topic: str, timeout: float) -> int | None:
    """The topic's max.message.bytes (its own, or the broker's message.max.bytes it inherits);
    None when the cluster does not say (DescribeConfigs refused)."""
    from confluent_kafka.admin import ConfigResource, ResourceType  # type: ignore[attr-defined]

    future = next(iter(admin.describe_configs([ConfigResource(ResourceType.TOPIC, topic)], request_timeout=timeout)
                       .values()))
    try:
        entries = _result(future, bootstrap, f"Configs of {topic}", timeout)
    except KafkaRequestError:
        return None
    entry = entries.get("max.message.bytes")
    value = str(entry.value) if entry is not None else ""
    return int(value) if value.isdigit() else None


def _auto_creates(admin: Any, bootstrap: str, timeout: float) -> bool | None:
    """The broker's auto.create.topics.enable; None when it does not say (DescribeConfigs refused)."""
    from confluent_kafka.admin import ConfigResource, ResourceType  # type: ignore[attr-defined]

    md = _reachable(admin, bootstrap, timeout)
    broker_id = md.orig_broker_id if md.orig_broker_id >= 0 else min(md.brokers)
    resource = ConfigResource(ResourceType.BROKER, str(broker_id))
    future = next(iter(admin.describe_configs([resource], request_timeout=timeout).values()))
    try:
        entries = _result(future, bootstrap, "The broker's configs", timeout)
    except KafkaRequestError:
        return None
    entry = entries.get("auto.create.topics.enable")
    return None if entry is None else str(entry.value).lower() == "true"
