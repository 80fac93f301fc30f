"""Making confluent-kafka clients: kafkalab's librdkafka configuration (client_config), the plain
clients of the Python API (admin_client, producer, consumer), and the clients of the Kafka
commands (command_client), which take the user's settings in force (client_settings).

confluent_kafka is imported inside the functions (about 0.14 s), so that `kafkalab --help` and
the Docker-only commands never pay for it. librdkafka's own log lines go to the Python logger
"kafkalab.librdkafka", which prints nothing unless the caller configures logging.

May import: kafkalab.errors, kafkalab.kafka.{contexts,requests,security}.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
from collections.abc import Iterator, Mapping
from typing import Any, Literal

from kafkalab.errors import ConfigError
from kafkalab.kafka.contexts import masked
from kafkalab.kafka.requests import sentence
from kafkalab.kafka.security import SecurityCheck

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


# librdkafka connects to a bootstrap broker only once a request needs one (sparse connections), and
# then lets the first request wait for it in steps: a fresh client's first metadata request took
# 30-55 ms on localhost, 1-3 ms with the connection opened when the client is made. The clients of
# produce and consume, whose start is part of every run, open it at once (bench/bench_levers.py).
CONNECT_AT_ONCE: dict[str, Any] = {"enable.sparse.connections": False}


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

        with clients.client_settings({"security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN", ...}):
            topics.list_topics("kafka.example.com:9093")
    """
    token = _user_settings.set(dict(settings))
    try:
        yield
    finally:
        _user_settings.reset(token)


def user_settings() -> dict[str, str]:
    """The librdkafka settings of client_settings() in force: empty outside it."""
    return dict(_user_settings.get() or {})


FILES_HINT = ("Give the path of a file that exists; `kafkalab connect` names the lab's files (its CA, and the "
              "client's certificate and key for mtls).")


def check_files(conf: Mapping[str, Any]) -> None:
    """The files the settings name (librdkafka's *.location: ssl.ca.location, ssl.certificate.location,
    ssl.key.location, ...) exist: librdkafka would refuse a missing or empty one in OpenSSL's words
    ("x509 certificate routines::BIO lib"). ssl.ca.location=probe (the system's CAs) names none."""
    for key, value in conf.items():
        if not key.endswith(".location") or not isinstance(value, str) or (key, value) == ("ssl.ca.location", "probe"):
            continue
        if not value.strip():
            raise ConfigError(f"{key} is empty: it names no file.", FILES_HINT)
        if not os.path.exists(value):
            raise ConfigError(f"{key} {value}: no such file.", FILES_HINT)


ClientKind = Literal["admin", "producer", "consumer"]


def command_client(kind: ClientKind, bootstrap: str, conf: Mapping[str, Any] | None = None) -> Any:
    """A client for one of kafkalab's commands: client_config(bootstrap), then kafkalab's settings
    for the task (`conf`, with librdkafka's names), then the user's from client_settings(), which
    win. Settings librdkafka refuses, or a file they name that does not exist (check_files), are a
    ConfigError. Its error callback ends the command with AuthenticationFailed or TlsFailed when the
    broker refuses the login or the TLS handshake: librdkafka itself would retry until a request
    timed out, as if no broker answered.
    """
    from confluent_kafka import Consumer, KafkaException, Producer
    from confluent_kafka.admin import AdminClient

    user = user_settings()
    full = {**client_config(bootstrap), **(conf or {}), **user}
    check_files(full)
    full["error_cb"] = SecurityCheck(bootstrap, full)
    make = {"admin": AdminClient, "producer": Producer, "consumer": Consumer}[kind]
    try:
        return make(full)
    except KafkaException as exc:
        detail = exc.args[0].str().partition("Failed to create ")[2].partition(": ")[2] or exc.args[0].str()
        given = f" ({', '.join(f'{k}={masked(k, v)}' for k, v in user.items())})" if user else ""
        raise ConfigError(f"librdkafka refused the client settings{given}: {sentence(detail)}", CONFIG_HINT) from None
