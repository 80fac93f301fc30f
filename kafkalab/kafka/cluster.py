"""The cluster as a whole: is it reachable at all (check_reachable), what it is (ClusterInfo), and
waiting for its brokers (wait_for_brokers); command_admin, the admin client of the commands.

May import: kafkalab.errors, kafkalab.kafka.{bootstrap,clients,requests}; confluent_kafka inside functions only.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from typing import Any

from kafkalab.errors import BrokerUnreachable, ReadinessTimeout
from kafkalab.kafka.bootstrap import unreachable
from kafkalab.kafka.clients import admin_client, command_client


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


def cluster_info(bootstrap: str, timeout: float = 2.0, conf: Mapping[str, Any] | None = None) -> ClusterInfo:
    """What the cluster is; conf: librdkafka's settings for its listener (a secured lab's)."""
    return _metadata(admin_client(bootstrap, **(conf or {})), bootstrap, timeout)


def wait_for_brokers(
    bootstrap: str, count: int, timeout: float, on_attempt: Callable[[], None] | None = None,
    conf: Mapping[str, Any] | None = None,
) -> ClusterInfo:
    """Poll with metadata requests of at most 0.5 s each until `count` brokers answer."""
    admin = admin_client(bootstrap, **(conf or {}))
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


def check_reachable(bootstrap: str, timeout: float = 1.0) -> None:
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


def command_admin(bootstrap: str, conf: Mapping[str, Any] | None = None) -> Any:
    """The admin client of a Kafka command, once check_reachable() found a broker to talk to;
    `conf`: more of kafkalab's settings for it (clients.CONNECT_AT_ONCE)."""
    check_reachable(bootstrap)
    # A metadata request for one topic would create it on a broker with auto.create.topics.enable.
    return command_client("admin", bootstrap, {"allow.auto.create.topics": False, **(conf or {})})
