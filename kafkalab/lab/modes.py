"""The one table of kafkalab's modes: per mode its compose file, and per service its image
setting, host port, brokers and volumes. Everything else (settings, compose, lab, cli, plugin)
reads the facts of a mode from here.

The compose files in compose/ must agree with this table; tests/unit/test_compose_files.py checks
that they do, service by service. The optional services (OPTIONAL: the Schema Registry, ...) join
any mode (ModeSpec.plus), each from a compose file of its own in compose/services/.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

Mode = Literal["kraft", "zookeeper", "cluster"]

# The label that marks every container, volume and network kafkalab created, with the project as
# its value; and the one that records the mode. Docker objects without the first are not the lab's
# (but for labs of earlier kafkalab versions: see compose.Ownership).
LAB_LABEL = "dev.kafkalab.lab"
MODE_LABEL = "dev.kafkalab.mode"


@dataclasses.dataclass(frozen=True)
class Service:
    name: str
    image: str  # the Settings field that names its image
    port: str  # the Settings field of its host port
    container_port: int  # the port it publishes, inside its container
    port_offset: int = 0  # cluster brokers 2 and 3 publish on the ports after the first's
    broker: bool = False
    volumes: tuple[str, ...] = ()
    # It starts after the brokers, and answers only once it has started (kafka-ui): until then, and
    # within the start_window setting, it is "starting", not a fault (kafkalab.lab.status.after_broker_state).
    after_broker: bool = False
    # Answers HTTP: the path status, doctor and `up` ask, and a text a healthy answer holds ("" for any 200).
    health_path: str = ""
    health_body: str = ""
    # HTTP statuses it answers with while it is still starting, not a fault (Connect: its REST server
    # listens before its resources exist, 404, and answers 503 until the worker has started).
    starting_answers: tuple[int, ...] = ()
    # Where its API lives below the root: its URL, for clients, is root + api_path (the registry's
    # Confluent-compatible API, which Confluent's serializers in every language take as the registry's URL).
    api_path: str = ""
    # An optional service (OPTIONAL) `up` waits for, after the brokers, as applications need it at start.
    waited: bool = False
    title: str = ""  # its name for people: "Schema Registry"
    # The variables `kafkalab connect` prints for it: its URL from this machine, and from the lab's network.
    variables: tuple[str, ...] = ()
    memory_mib: int = 0  # about what it takes, for doctor's memory check
    # The topics it keeps its own state in, in the lab's Kafka: `kafkalab export` leaves them out.
    topics: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """Its name as a key of JSON and Python: schema_registry."""
        return self.name.replace("-", "_")

    @property
    def internal_url(self) -> str:
        """Its address from a container on the lab's network: by its service name, which Compose
        makes its name on that network."""
        return f"http://{self.name}:{self.container_port}{self.api_path}"

    def url(self, settings: Any) -> str:
        return f"http://localhost:{self.host_port(settings)}{self.api_path}"

    def host_port(self, settings: Any) -> int:
        return int(getattr(settings, self.port)) + self.port_offset


@dataclasses.dataclass(frozen=True)
class ModeSpec:
    name: Mode
    services: tuple[Service, ...]

    @property
    def file(self) -> str:
        return f"{self.name}.yaml"

    @property
    def service_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.services)

    @property
    def brokers(self) -> tuple[Service, ...]:
        return tuple(s for s in self.services if s.broker)

    @property
    def replication(self) -> int:
        """The replication factor of a topic the lab creates by default: as the brokers' own
        default.replication.factor (auto-created topics), at most 3."""
        return min(3, len(self.brokers))

    @property
    def volumes(self) -> tuple[str, ...]:
        return tuple(v for s in self.services for v in s.volumes)

    def service(self, name: str) -> Service:
        return next(s for s in self.services if s.name == name)

    def bootstrap(self, settings: Any) -> str:
        """Every broker's EXTERNAL listener: clients reach the cluster while any one of them answers."""
        return ",".join(f"localhost:{b.host_port(settings)}" for b in self.brokers)

    @property
    def internal_bootstrap(self) -> str:
        """Every broker on its PLAINTEXT listener, for clients on the lab's network."""
        return ",".join(f"{b.name}:{INTERNAL_PORT}" for b in self.brokers)

    @property
    def optional(self) -> tuple[Service, ...]:
        """The optional services (OPTIONAL) this lab runs."""
        return tuple(s for s in self.services if s.name in OPTIONAL)

    def plus(self, names: tuple[str, ...]) -> ModeSpec:
        """The mode with the optional services of these names (the `with` setting) after its own."""
        return dataclasses.replace(self, services=self.services + tuple(OPTIONAL[n] for n in names))


INTERNAL_PORT = 9092  # every broker's PLAINTEXT listener, as the compose files advertise it


_UI = Service("kafka-ui", image="image_ui", port="ui_port", container_port=8080, after_broker=True,
              health_path="/actuator/health", health_body='"UP"', title="kafka-ui")

# The optional services, which any mode runs with `--with NAME` (the `with` setting): each has a compose
# file of its own, compose/services/NAME.yaml, added to the mode's (-f), and shared by every mode.
OPTIONAL: dict[str, Service] = {
    "schema-registry": Service(
        "schema-registry", image="image_schema_registry", port="schema_registry_port", container_port=8080,
        after_broker=True, api_path="/apis/ccompat/v7", health_path="/apis/ccompat/v7/subjects", waited=True,
        title="Schema Registry",
        variables=("SCHEMA_REGISTRY_URL", "SCHEMA_REGISTRY_INTERNAL_URL"), memory_mib=384,
        topics=("kafkasql-journal", "kafkasql-snapshots", "registry-events"),  # Apicurio's kafkasql storage
    ),
    # A Kafka Connect worker in distributed mode, from the lab's own Kafka image (apache/kafka holds the
    # whole distribution): its REST API answers GET /connectors once the worker has joined its group.
    "connect": Service(
        "connect", image="image_kafka", port="connect_port", container_port=8083, after_broker=True,
        health_path="/connectors", starting_answers=(404, 503), waited=True, title="Kafka Connect",
        variables=("KAFKA_CONNECT_URL", "KAFKA_CONNECT_INTERNAL_URL"), memory_mib=512,
        topics=("connect-configs", "connect-offsets", "connect-status"),  # the worker's config, offset, status
    ),
}


def _broker(name: str, image: str = "image_kafka", offset: int = 0, volume: str = "kafka-data") -> Service:
    return Service(name, image, "port", 9094, port_offset=offset, broker=True, volumes=(volume,))


# Each mode keeps its data in volumes of its own: the modes' cluster ids differ, and a broker
# refuses a log directory formatted for another cluster. kraft keeps the name `kafka-data`, which
# labs of earlier versions used, so that their data stays theirs.
MODES: dict[str, ModeSpec] = {
    "kraft": ModeSpec("kraft", (_broker("kafka"), _UI)),
    "zookeeper": ModeSpec("zookeeper", (
        Service("zookeeper", "image_zookeeper", "zookeeper_port", 2181, volumes=("zookeeper-data", "zookeeper-log")),
        _broker("kafka", image="image_kafka_zk", volume="zk-kafka-data"),
        _UI,
    )),
    "cluster": ModeSpec("cluster", (
        _broker("kafka", volume="cluster-kafka-data"),
        _broker("kafka-2", offset=1, volume="kafka-2-data"),
        _broker("kafka-3", offset=2, volume="kafka-3-data"),
        _UI,
    )),
}
MODE_NAMES: tuple[Mode, ...] = ("kraft", "zookeeper", "cluster")
ALL_SERVICES: tuple[str, ...] = tuple(sorted({s.name for m in MODES.values() for s in m.services} | set(OPTIONAL)))
# Volume names that labs of kafkalab 0.1 created, before each mode had its own and before labels.
# 0.1 kept broker 1's data in kafka-data in every mode (kraft, zookeeper and cluster alike), the other
# brokers' in kafka-2-data and kafka-3-data, ZooKeeper's in zookeeper-data and zookeeper-log. Such a
# lab keeps that layout (kafkalab.lab.state, compose/extra/legacy-kafka-data.yaml) until its data is deleted.
LEGACY_DATA = "kafka-data"
LEGACY_VOLUMES = frozenset({LEGACY_DATA, "kafka-2-data", "kafka-3-data", "zookeeper-data", "zookeeper-log"})


def legacy_mode(volumes: set[str]) -> Mode | None:
    """The mode whose data a lab of kafkalab 0.1 keeps in kafka-data, by the volumes it has (as its
    compose files named them); None when it has none of that data."""
    if LEGACY_DATA not in volumes:
        return None
    return "cluster" if volumes & {"kafka-2-data", "kafka-3-data"} else \
        "zookeeper" if volumes & {"zookeeper-data", "zookeeper-log"} else "kraft"


def mode_of_services(services: set[str]) -> Mode:
    """The mode of a lab whose containers carry no mode label (earlier versions), by its services."""
    return "zookeeper" if "zookeeper" in services else "cluster" if "kafka-3" in services else "kraft"
