"""kafkalab's errors: each says what went wrong (the message) and what to do (the hint).

The CLI maps them to output and exit code in one place (``kafkalab.cli.app.KafkalabGroup``); the exit codes are
documented in docs/errors.md, and ``EXIT_CODES`` is the table both are checked against.
"""

from __future__ import annotations

from signal import SIGINT


class KafkalabError(Exception):
    """Base of every error kafkalab raises on purpose."""

    exit_code = 1
    hint = "Run again with --debug for details."

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if hint is not None:
            self.hint = hint


class ConfigError(KafkalabError):
    exit_code = 3
    # Not `kafkalab config`: it loads the same settings, and would fail the same way.
    hint = "Fix the value where the message says it is set: the flag, the KAFKALAB_* variable or the config file."


class DockerNotFound(KafkalabError):
    exit_code = 4
    hint = "Install Docker (https://docs.docker.com/engine/install/) and make sure `docker` is on PATH."


class DaemonDown(KafkalabError):
    exit_code = 5
    hint = "Start the Docker daemon (for example `sudo systemctl start docker`), then run this again."


class DockerSocketDenied(DaemonDown):
    """The daemon runs, but this user may not use its socket: the most common first-day failure on Linux."""

    hint = (
        "Add your user to the docker group (`sudo usermod -aG docker $USER`, then log in again), "
        "use rootless Docker, or set DOCKER_HOST to a daemon you may use."
    )


class ComposeV1Only(KafkalabError):
    exit_code = 6
    hint = "Install the Docker Compose v2 plugin so that `docker compose version` reports v2."


class PortInUse(KafkalabError):
    exit_code = 7
    hint = "Free the port, or choose another with --port / --ui-port (or KAFKALAB_PORT / KAFKALAB_UI_PORT)."


class ImageMissing(KafkalabError):
    exit_code = 8
    hint = "Build or load the image locally, or allow pulling with --pull missing."


class ComposeError(KafkalabError):
    """`docker compose` failed for a reason kafkalab does not recognise."""

    exit_code = 9
    hint = "Run again with -v to see the docker compose commands, or read `kafkalab logs`."

    def __init__(
        self, message: str, hint: str | None = None, *, command: list[str] | None = None,
        returncode: int | None = None, stderr: str = "",
    ) -> None:
        super().__init__(message, hint)
        self.command = command or []
        self.returncode = returncode
        self.stderr = stderr


class ReadinessTimeout(KafkalabError):
    """The lab did not become ready (broker, then UI) before the deadline."""

    exit_code = 10
    # Not `down --volumes`: a slow or hung broker is no reason to delete the data.
    hint = "Read the broker log above; raise --timeout if the machine is slow; `kafkalab logs kafka` shows all of it."

    def __init__(self, message: str, hint: str | None = None, *, log_tail: str = "") -> None:
        super().__init__(message, hint)
        self.log_tail = log_tail


class ContainerExited(KafkalabError):
    """A container of the lab exited while `up` waited for it: no wait will make it answer."""

    exit_code = 23
    hint = "Read its log above: it says why it exited; `kafkalab logs SERVICE` shows all of it."

    def __init__(self, message: str, hint: str | None = None, *, log_tail: str = "") -> None:
        super().__init__(message, hint)
        self.log_tail = log_tail


class BrokerUnreachable(KafkalabError):
    exit_code = 11
    hint = "Start the lab with `kafkalab up`, or point at a running cluster with --bootstrap-server."
    # When the address is not the lab's (--bootstrap-server, KAFKALAB_BOOTSTRAP_SERVER): the lab is no fix.
    hint_elsewhere = (
        "Check the address, and that a Kafka broker runs there; `kafkalab config` shows where it came from."
    )


class TopicNotFound(KafkalabError):
    exit_code = 12
    hint = "List the topics with `kafkalab topic list`, or create it with `kafkalab topic create`."


class KafkaRequestError(KafkalabError):
    """The broker refused a request (a bad topic config, partition or offset, a failed delivery)."""

    exit_code = 13
    hint = "Check the values given; `kafkalab topic describe TOPIC` shows partitions and offsets."


class GroupNotFound(KafkalabError):
    exit_code = 14
    hint = "List the consumer groups with `kafkalab group list`."


class Aborted(KafkalabError):
    exit_code = 15
    hint = "Pass --yes to confirm without a prompt."


class AuthenticationFailed(KafkalabError):
    """The broker refused the SASL login: wrong credentials, a mechanism it does not enable, or no SASL there."""

    exit_code = 16
    hint = "Check sasl.mechanism, sasl.username and sasl.password (-X, or the context's client table)."


class TlsFailed(KafkalabError):
    """The TLS handshake failed: a PLAINTEXT port, or a certificate the client does not trust."""

    exit_code = 17
    hint = "Check security.protocol, the port, and ssl.ca.location."


class GroupNotEmpty(KafkalabError):
    """The consumer group has active members: Kafka changes its offsets, or deletes it, only while it has none."""

    exit_code = 18
    hint = "Stop the group's consumers first; `kafkalab group describe GROUP` lists them."


class InvalidRecord(KafkalabError):
    """A line of `produce --format json` that is no record. The input ends there; `sent` lines before it were sent."""

    exit_code = 19
    hint = (
        'Give one JSON object a line: {"key": "k", "value": "v", "headers": {"h": "v"}, "partition": 0, '
        '"timestamp": 1714564800000}; the lines before it were sent.'
    )

    def __init__(self, message: str, hint: str | None = None, *, sent: int = 0) -> None:
        super().__init__(message, hint)
        self.sent = sent


class RegistryUnreachable(KafkalabError):
    """No Schema Registry answers at the registry's address (or it answers with no registry's API there)."""

    exit_code = 24
    hint = "Start the lab with `kafkalab up --with schema-registry`, or point at a registry with --schema-registry URL."
    # When the address is not the lab's (--schema-registry, a context's schema_registry): the lab is no fix.
    hint_elsewhere = "Check the URL, and that a Schema Registry runs there; `kafkalab config` shows where it came from."


class SchemaNotFound(KafkalabError):
    """The registry has no such subject, or no such version of it (or no schema of that id)."""

    exit_code = 25
    hint = "List the subjects with `kafkalab schema list`."


class SchemaIncompatible(KafkalabError):
    """The schema is not compatible with the subject's latest version, by the subject's compatibility rule:
    `schema check` says so, and `schema register` and `produce --value-schema` are refused."""

    exit_code = 26
    hint = "Change the schema so that it is compatible (the reasons above say how), or register it under a new subject."


class InvalidSchema(KafkalabError):
    """A schema the registry or the serializer cannot parse, or of a type kafkalab cannot tell."""

    exit_code = 27
    hint = "Check the schema file: Avro (.avsc), JSON Schema (.json) or Protobuf (.proto); give --type when in doubt."


class ConnectUnreachable(KafkalabError):
    """No Kafka Connect REST API answers at the address (or what answers there is none)."""

    exit_code = 44
    hint = "Start the lab with `kafkalab up --with connect`, or point at a Connect cluster with --connect-url URL."
    # When the address is not the lab's (--connect-url, a context's connect_url): the lab is no fix.
    hint_elsewhere = (
        "Check the URL, and that a Kafka Connect worker runs there; `kafkalab config` shows where it came from."
    )


class ConnectorNotFound(KafkalabError):
    """The Connect cluster has no connector of that name (its REST API's 404)."""

    exit_code = 45
    hint = "List the connectors with `kafkalab connector list`."


class InvalidConnectorConfig(KafkalabError):
    """Kafka Connect refused a connector's config (its REST API's 400, with its message), or kafkalab could
    not read the one given (--config, --file)."""

    exit_code = 46
    hint = "Fix the config as the message says; `kafkalab connector plugins` lists the worker's connector classes."


class ConnectRebalancing(KafkalabError):
    """The Connect cluster's workers are rebalancing (its REST API's 409): the request works once they are done."""

    exit_code = 47
    hint = "Run it again in a few seconds, once the workers have rebalanced."
class PlanRefused(KafkalabError):
    """`kafkalab apply`'s plan holds a change it never makes (a topic shrunk, its replication factor
    changed): nothing of the plan was applied."""

    exit_code = 29
    hint = "Declare what the cluster has there (`kafkalab export` prints it), or change the cluster by hand."


class SubnetUnavailable(KafkalabError):
    """Docker found no address range for the lab's network: the subnet setting overlaps one of its
    networks, or every range of its default pools is taken (a VPN's routes, most often)."""

    exit_code = 22
    hint = (
        "Give the lab's network a free range of its own with KAFKALAB_SUBNET (or `subnet` in the config "
        "file), such as 10.213.0.0/24: one that no Docker network (`docker network inspect`) and no route "
        "of this machine (`ip route`, a VPN's) uses."
    )


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where Python raises KeyboardInterrupt for Ctrl-C (cli.app.work_begins
    installs the handler): each command then ends as on Ctrl-C, and exits 128 + the signal's number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def signal_of(exc: BaseException) -> int:
    """The signal a KeyboardInterrupt stands for: SIGINT (2), or a Terminated's own."""
    return int(getattr(exc, "signum", SIGINT))


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM, SIGHUP): the message says when, the hint what was left behind and what to do about it.

    A KeyboardInterrupt, not a KafkalabError: `except Exception` (and pytest's test errors) must not
    take a Ctrl-C for a failure and go on. Its exit code is 128 + the signal's number (130 for Ctrl-C).
    """

    exit_code = 130
    hint = "Nothing was started."

    def __init__(self, message: str, hint: str | None = None, *, signum: int = SIGINT) -> None:
        super().__init__(message)
        self.message = message
        if hint is not None:
            self.hint = hint
        self.signum = signum
        self.exit_code = 128 + signum


# Exit codes of `kafkalab status`, which reports rather than fails.
STATUS_NOT_RUNNING = 20
STATUS_DEGRADED = 21
# Its brokers' containers run, started within the start window, and do not answer yet: nothing is wrong.
STATUS_STARTING = 28

# Exit codes of `kafkalab doctor`, which reports rather than fails too: the first check that failed,
# in the order doctor runs them (kafkalab.lab.doctor.CHECKS).
DOCTOR_EXIT_CODES: dict[str, int] = {
    "docker": 30, "daemon": 31, "compose": 32, "socket": 33, "ports": 34, "resources": 35, "images": 36,
    "lab": 37, "host": 38, "network": 39, "ui": 40, "schema-registry": 41,
    "connect": 42, "advertise": 43,
}

EXIT_CODES: dict[str, int] = {
    cls.__name__: cls.exit_code
    for cls in (
        KafkalabError, ConfigError, DockerNotFound, DaemonDown, ComposeV1Only, PortInUse,
        ImageMissing, ComposeError, ReadinessTimeout, BrokerUnreachable, TopicNotFound,
        KafkaRequestError, GroupNotFound, Aborted, DockerSocketDenied, Interrupted,
        GroupNotEmpty, InvalidRecord, SubnetUnavailable, ContainerExited,
        AuthenticationFailed, TlsFailed, RegistryUnreachable, SchemaNotFound, SchemaIncompatible, InvalidSchema,
        ConnectUnreachable, ConnectorNotFound, InvalidConnectorConfig, ConnectRebalancing,
        PlanRefused,
    )
}
