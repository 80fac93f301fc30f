"""The clients of a `Lab` (kafkalab.lab.lab): confluent-kafka's, bound to the lab's brokers and, for a
secured lab, its user and CA (kafkalab.lab.secured); topics made and deleted on it. A base class of Lab.

May import: kafkalab.kafka, kafkalab.lab.{modes,secured}, kafkalab.settings and kafkalab.errors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kafkalab.kafka import clients, topics
from kafkalab.lab import secured
from kafkalab.lab.modes import MODES

if TYPE_CHECKING:
    from kafkalab.settings import Settings


class LabClients:
    """What Lab's clients need of it: its settings."""

    settings: Settings

    @property
    def bootstrap_servers(self) -> str:
        """Where the lab's clients connect: every broker of the lab, never --bootstrap-server (which is
        for the CLI's Kafka commands), so that tests and scripts only ever touch the lab."""
        return self.settings.with_record().lab_bootstrap

    def admin(self, **conf: Any) -> Any:
        """A confluent_kafka AdminClient bound to the lab."""
        return clients.admin_client(self.bootstrap_servers, **self.client_settings(), **conf)

    def producer(self, **conf: Any) -> Any:
        """A confluent_kafka Producer bound to the lab; keys like linger_ms mean linger.ms."""
        return clients.producer(self.bootstrap_servers, **self.client_settings(), **conf)

    def consumer(self, group: str, **conf: Any) -> Any:
        """A confluent_kafka Consumer in `group`, reading from the earliest offset by default."""
        return clients.consumer(self.bootstrap_servers, group, **self.client_settings(), **conf)

    def client_settings(self) -> dict[str, str]:
        """librdkafka's settings for the lab's listener: its security mode's, with its first user and its
        CA (kafkalab.security); empty for a plaintext lab. Every client of this Lab has them."""
        return secured.client_settings(self.settings.with_record())

    def create_topic(
        self, name: str, partitions: int = 1, replication: int | None = None, config: dict[str, str] | None = None,
        if_not_exists: bool = False,
    ) -> bool:
        """Create a topic on the lab; by default replicated as the lab's mode replicates (3 in cluster mode)."""
        if replication is None:
            replication = MODES[self.settings.with_record().mode].replication
        with clients.client_settings(self.client_settings()):
            return topics.create_topic(
                self.bootstrap_servers, name, partitions, replication, config, if_not_exists=if_not_exists,
            )

    def delete_topic(self, name: str, *, missing_ok: bool = False) -> None:
        """Delete a topic; TopicNotFound when there is none, unless missing_ok."""
        from kafkalab.errors import TopicNotFound

        try:
            with clients.client_settings(self.client_settings()):
                topics.delete_topic(self.bootstrap_servers, name)
        except TopicNotFound:
            if not missing_ok:
                raise
