"""What an application needs to reach the lab: the addresses of its brokers from the host and from
containers, and the network those containers join. Plain data from the settings and the table of
modes (kafkalab.lab.modes); no Docker and no Kafka client.

Services on the host use every broker's EXTERNAL listener (localhost:9094, ...). Containers join the
lab's network, which has a name of its own (the network setting, by default the project's name),
and use the PLAINTEXT listener by service name (kafka:9092, ...), as kafka-ui does.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from kafkalab.lab.modes import MODES

if TYPE_CHECKING:
    from kafkalab.settings import Settings

INTERNAL_PORT = 9092  # every broker's PLAINTEXT listener, as the compose files advertise it


def internal_bootstrap(mode: str) -> str:
    """Every broker of the mode on its internal listener, for clients on the lab's network."""
    return ",".join(f"{b.name}:{INTERNAL_PORT}" for b in MODES[mode].brokers)


@dataclasses.dataclass(frozen=True)
class LabNetwork:
    """The lab's network, and the bootstrap address of the brokers on it."""

    name: str
    bootstrap: str


@dataclasses.dataclass(frozen=True)
class BrokerAddress:
    service: str
    host: str  # from the host: its EXTERNAL listener, published on 127.0.0.1
    internal: str  # from a container on the lab's network: its PLAINTEXT listener


@dataclasses.dataclass(frozen=True)
class Connection:
    """Everything an application needs to reach the lab, from the host or from a container."""

    project: str
    mode: str
    network: str
    brokers: tuple[BrokerAddress, ...]

    @property
    def bootstrap(self) -> str:
        return ",".join(b.host for b in self.brokers)

    @property
    def internal_bootstrap(self) -> str:
        return ",".join(b.internal for b in self.brokers)

    def env(self) -> dict[str, str]:
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "KAFKA_DOCKER_NETWORK": self.network,
            "KAFKA_INTERNAL_BOOTSTRAP_SERVERS": self.internal_bootstrap,
        }

    def env_text(self) -> str:
        """Lines for a shell (`eval "$(kafkalab connect)"`), an .env file or `docker run --env-file`."""
        env = self.env()
        return (
            f"# The lab {self.project} ({self.mode}), from this machine:\n"
            f"KAFKA_BOOTSTRAP_SERVERS={env['KAFKA_BOOTSTRAP_SERVERS']}\n"
            "# From a container on the lab's network (docker run --network, or an external network in Compose):\n"
            f"KAFKA_DOCKER_NETWORK={env['KAFKA_DOCKER_NETWORK']}\n"
            f"KAFKA_INTERNAL_BOOTSTRAP_SERVERS={env['KAFKA_INTERNAL_BOOTSTRAP_SERVERS']}\n"
        )

    def compose_text(self) -> str:
        """What to paste into a service's compose file (or to add with a second -f): the lab's network
        as an external one, and the brokers' internal address in the service's environment."""
        return (
            f"# Your service on the network of the lab {self.project} ({self.mode}). Paste this into your\n"
            "# compose file, with your service's name for `app` (or pass it as a second file: -f).\n"
            "services:\n"
            "  app:\n"
            "    environment:\n"
            f"      KAFKA_BOOTSTRAP_SERVERS: {self.internal_bootstrap}\n"
            "    networks:\n"
            "      - default  # your project's own network, which a service leaves once it lists others\n"
            f"      - {self.network}\n"
            "networks:\n"
            f"  {self.network}:\n"
            f"    name: {self.network}\n"
            "    external: true  # the lab's: your project joins it, and never creates or removes it\n"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "mode": self.mode,
            "bootstrap_servers": self.bootstrap,
            "network": {"name": self.network, "bootstrap_servers": self.internal_bootstrap},
            "brokers": [dataclasses.asdict(b) for b in self.brokers],
            "env": self.env(),
            "compose": self.compose_text(),
        }


def connection(settings: Settings, network: str | None = None) -> Connection:
    """What to connect to, from the settings and kafkalab's record of the lab's last `up` (its mode,
    ports and network, unless they are set now); `network`: the one its containers are on, where
    the caller asked Docker (a lab of kafkalab 0.1). Asks neither Docker nor Kafka."""
    s = settings.with_record()
    brokers = tuple(
        BrokerAddress(b.name, f"localhost:{b.host_port(s)}", f"{b.name}:{INTERNAL_PORT}") for b in MODES[s.mode].brokers
    )
    return Connection(s.project, s.mode, network or s.lab_network, brokers)
