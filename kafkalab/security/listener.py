"""The security modes of the brokers' EXTERNAL listener, in one table, and the variables the compose
files take for them (listener_env): the listener's protocol, its SASL mechanism, whether TLS asks for
a client certificate, the host it advertises and the addresses its port is published on.

    plaintext    PLAINTEXT        no login, no TLS (the default: a lab on 127.0.0.1 only)
    sasl-plain   SASL_PLAINTEXT   PLAIN: user and password, sent as they are
    sasl-scram   SASL_PLAINTEXT   SCRAM-SHA-512: user and password, never sent
    ssl          SSL              TLS with the lab's CA; no login
    sasl-ssl     SASL_SSL         SCRAM-SHA-512 over TLS
    mtls         SSL              TLS, and the client shows a certificate of the lab's CA

The PLAINTEXT listener on the lab's network (kafka:9092, kafka-ui's, the Schema Registry's) is never
secured. May import: nothing of kafkalab at run time (settings imports this module: the modes' names,
SECURITY_MODES, and listener_env).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from kafkalab.settings import Settings

Security = Literal["plaintext", "sasl-plain", "sasl-scram", "ssl", "sasl-ssl", "mtls"]
SECURITY_MODES: tuple[Security, ...] = ("plaintext", "sasl-plain", "sasl-scram", "ssl", "sasl-ssl", "mtls")


@dataclasses.dataclass(frozen=True)
class SecurityMode:
    name: str
    protocol: str  # security.protocol, librdkafka's and Kafka's
    mechanism: str = ""  # sasl.mechanism; "" without SASL
    tls: bool = False
    client_cert: bool = False  # mtls: the broker asks for the client's certificate

    @property
    def sasl(self) -> bool:
        return bool(self.mechanism)


SCRAM = "SCRAM-SHA-512"
MODES: dict[str, SecurityMode] = {
    "plaintext": SecurityMode("plaintext", "PLAINTEXT"),
    "sasl-plain": SecurityMode("sasl-plain", "SASL_PLAINTEXT", "PLAIN"),
    "sasl-scram": SecurityMode("sasl-scram", "SASL_PLAINTEXT", SCRAM),
    "ssl": SecurityMode("ssl", "SSL", tls=True),
    "sasl-ssl": SecurityMode("sasl-ssl", "SASL_SSL", SCRAM, tls=True),
    "mtls": SecurityMode("mtls", "SSL", tls=True, client_cert=True),
}
EVERYWHERE = "0.0.0.0"
LOCAL = "127.0.0.1"


def advertised_host(settings: Settings) -> str:
    """The host every broker's EXTERNAL listener advertises: the advertise setting, else the expose
    address when it is a specific one, else localhost."""
    if settings.advertise:
        return settings.advertise
    if settings.expose and settings.expose != EVERYWHERE:
        return settings.expose
    return "localhost"


def listener_env(settings: Settings) -> dict[str, str]:
    """The compose files' variables of the EXTERNAL listener and of the published addresses (no
    secret among them: they are written to the lab's record)."""
    mode = MODES[settings.security]
    expose = settings.expose or LOCAL
    local = EVERYWHERE if expose == EVERYWHERE else LOCAL  # 0.0.0.0 covers 127.0.0.1: one binding
    return {
        "KAFKALAB_EXTERNAL_PROTOCOL": mode.protocol,
        "KAFKALAB_SASL_MECHANISM": mode.mechanism or SCRAM,
        "KAFKALAB_SSL_CLIENT_AUTH": "required" if mode.client_cert else "none",
        "KAFKALAB_ADVERTISE_HOST": advertised_host(settings),
        # Each broker publishes on both; Compose merges two equal bindings into one.
        "KAFKALAB_LOCAL_BIND": local,
        "KAFKALAB_EXPOSE_BIND": expose,
        "KAFKALAB_UI_LOCAL_BIND": local if settings.expose_ui else LOCAL,
        "KAFKALAB_UI_EXPOSE_BIND": expose if settings.expose_ui else LOCAL,
    }


def recorded(settings: Settings) -> dict[str, str]:
    """The security settings as the lab's record keeps them (the compose files read none of them)."""
    return {"KAFKALAB_SECURITY": settings.security, "KAFKALAB_EXPOSE": settings.expose,
            "KAFKALAB_ADVERTISE": settings.advertise, "KAFKALAB_INSECURE": str(settings.insecure).lower(),
            "KAFKALAB_EXPOSE_UI": str(settings.expose_ui).lower()}
