"""What an application needs to reach the lab: the addresses of its brokers from the host and from
containers, and the network those containers join. Plain data from the settings and the table of
modes (kafkalab.lab.modes); no Docker and no Kafka client.

Services on the host use every broker's EXTERNAL listener (localhost:9094, ...). Containers join the
lab's network, which has a name of its own (the network setting, by default the project's name),
and use the PLAINTEXT listener by service name (kafka:9092, ...), as kafka-ui does. The optional
services the lab runs (the Schema Registry) have an address on each side too, and variables of their
own (SCHEMA_REGISTRY_URL, SCHEMA_REGISTRY_INTERNAL_URL).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from kafkalab.lab.modes import INTERNAL_PORT, MODES

if TYPE_CHECKING:
    from kafkalab.security.store import LabSecurity
    from kafkalab.settings import Settings

def internal_bootstrap(mode: str) -> str:
    """Every broker of the mode on its internal listener, for clients on the lab's network."""
    return MODES[mode].internal_bootstrap


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
class ServiceAddress:
    """An optional service of the lab (modes.OPTIONAL), and its variables (its URL from this machine,
    and from the lab's network)."""

    service: str
    url: str
    internal_url: str
    variable: str
    internal_variable: str


@dataclasses.dataclass(frozen=True)
class Connection:
    """Everything an application needs to reach the lab, from the host or from a container."""

    project: str
    mode: str
    network: str
    brokers: tuple[BrokerAddress, ...]
    services: tuple[ServiceAddress, ...] = ()
    # A secured lab's listener (kafkalab.security.store.LabSecurity); None for plaintext.
    security: LabSecurity | None = None
    # Other machines' bootstrap (the advertised host), when the lab is exposed; "" when it is not.
    advertised: str = ""
    # Whether the password is shown as it is (connect --show-secrets), or masked.
    secrets: bool = False

    @property
    def bootstrap(self) -> str:
        return ",".join(b.host for b in self.brokers)

    @property
    def internal_bootstrap(self) -> str:
        return ",".join(b.internal for b in self.brokers)

    @property
    def mask(self) -> str | None:
        from kafkalab.kafka.contexts import MASK

        return None if self.secrets else MASK

    @property
    def masked(self) -> bool:
        """A password is hidden in what this prints (--show-secrets shows it)."""
        return not self.secrets and self.security is not None and self.security.mode.sasl

    def client(self) -> dict[str, str]:
        """librdkafka's settings for an application on this machine: confluent-kafka takes them as they are."""
        return {"bootstrap.servers": self.bootstrap,
                **(self.security.client_settings(mask=self.mask) if self.security else {})}

    def security_env(self) -> dict[str, str]:
        """KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_USERNAME, ..., and other machines' bootstrap when exposed."""
        found = self.security.env(mask=self.mask) if self.security else {}
        return {**found, **({"KAFKA_ADVERTISED_BOOTSTRAP_SERVERS": self.advertised} if self.advertised else {})}

    def java_properties(self) -> str:
        """A Java client's .properties (PEM truststore and keystore: Java 17+ clients read them)."""
        if self.security is None:
            return f"bootstrap.servers={self.bootstrap}\n"
        return self.security.java_properties(self.bootstrap, mask=self.mask)

    def env(self) -> dict[str, str]:
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            **self.security_env(),
            "KAFKA_DOCKER_NETWORK": self.network,
            "KAFKA_INTERNAL_BOOTSTRAP_SERVERS": self.internal_bootstrap,
            **{x.variable: x.url for x in self.services},
            **{x.internal_variable: x.internal_url for x in self.services},
        }

    def env_text(self) -> str:
        """NAME=value lines for a shell (`set -a; eval "$(kafkalab connect)"; set +a`) or an .env file:
        each value quoted as a POSIX shell reads it (shlex.quote), so a value that needs no quoting
        (addresses, the generated password) is as it is, and one with `$ & ; ( ) '` or a space is in
        single quotes."""
        import shlex

        def line(name: str, value: str) -> str:
            return f"{name}={shlex.quote(value)}\n"

        env = self.env()
        return (
            f"# The lab {self.project} ({self.mode}), from this machine:\n"
            + line("KAFKA_BOOTSTRAP_SERVERS", env["KAFKA_BOOTSTRAP_SERVERS"])
            + "".join(line(k, v) for k, v in self.security_env().items())
            + "".join(line(x.variable, x.url) for x in self.services)
            + "# From a container on the lab's network (docker run --network, or an external network in Compose):\n"
            + line("KAFKA_DOCKER_NETWORK", env["KAFKA_DOCKER_NETWORK"])
            + line("KAFKA_INTERNAL_BOOTSTRAP_SERVERS", env["KAFKA_INTERNAL_BOOTSTRAP_SERVERS"])
            + "".join(line(x.internal_variable, x.internal_url) for x in self.services)
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
            # On the lab's network, the service's usual variable names its address there.
            + "".join(f"      {x.variable}: {x.internal_url}\n" for x in self.services)
            + "    networks:\n"
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
            "security": self.security.mode.name if self.security else "plaintext",
            "advertised_bootstrap_servers": self.advertised or None,
            "client": self.client(),
            "network": {"name": self.network, "bootstrap_servers": self.internal_bootstrap},
            "brokers": [dataclasses.asdict(b) for b in self.brokers],
            "services": [dataclasses.asdict(x) for x in self.services],
            **{x.service.replace("-", "_"): {"url": x.url, "internal_url": x.internal_url}
               for x in self.services},
            "env": self.env(),
            "compose": self.compose_text(),
        }


def connection(settings: Settings, network: str | None = None, *, secrets: bool = False) -> Connection:
    """What to connect to, from the settings and kafkalab's record of the lab's last `up` (its mode,
    ports and network, unless they are set now); `network`: the one its containers are on, where
    the caller asked Docker (a lab of kafkalab 0.1). Asks neither Docker nor Kafka."""
    s = settings.with_record()
    brokers = tuple(
        BrokerAddress(b.name, f"localhost:{b.host_port(s)}", f"{b.name}:{INTERNAL_PORT}") for b in MODES[s.mode].brokers
    )
    services = tuple(
        ServiceAddress(x.name, x.url(s), x.internal_url, *x.variables) for x in s.spec.optional
    )
    from kafkalab.security.listener import advertised_host
    from kafkalab.security.store import load

    advertised = ",".join(f"{advertised_host(s)}:{b.host_port(s)}" for b in MODES[s.mode].brokers) if s.expose else ""
    return Connection(s.project, s.mode, network or s.lab_network, brokers, services, load(s), advertised, secrets)
