"""Limits are errors, not surprises: out-of-range options, bad bootstrap addresses, unknown hosts.

None of these needs a broker: each must fail at once, with one error and one hint.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from kafkalab.cli import render
from kafkalab.cli.main import cli
from kafkalab.errors import BrokerUnreachable, ConfigError, KafkaRequestError
from kafkalab.kafka import broker

BOOTSTRAP_HINT = (
    "Hint: Give the brokers as HOST:PORT[,HOST:PORT...], such as localhost:9092 or SASL_SSL://[::1]:9093.\n"
)


@pytest.fixture(autouse=True)
def _no_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No bootstrap address from the environment or a config file: only what a test gives."""
    monkeypatch.delenv("KAFKALAB_BOOTSTRAP_SERVER", raising=False)
    monkeypatch.delenv("KAFKALAB_PORT", raising=False)
    monkeypatch.chdir(tmp_path)


def kl(*args: str, env: dict[str, str] | None = None) -> tuple[Result, float]:
    """`kafkalab ARGS` in-process, and how long it took."""
    render.reset()
    started = time.monotonic()
    result = CliRunner(env=env).invoke(cli, list(args), prog_name="kafkalab")
    return result, time.monotonic() - started


@pytest.fixture
def refused() -> Iterator[str]:
    """host:port of a socket that is bound but not listening: connections to it are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"127.0.0.1:{sock.getsockname()[1]}"


# --- the bootstrap list ------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "parsed"), [
    ("localhost:9092", "localhost:9092"),
    ("a:1,b:2", "a:1,b:2"),
    (" a:1 , b:2 ", "a:1,b:2"),
    ("PLAINTEXT://a:1", "PLAINTEXT://a:1"),
    ("SASL_SSL://broker-1.example.com:9093,SSL://10.0.0.2:9094", "SASL_SSL://broker-1.example.com:9093,SSL://10.0.0.2:9094"),
    ("[::1]:9092", "[::1]:9092"),
    ("PLAINTEXT://[fe80::1]:65535", "PLAINTEXT://[fe80::1]:65535"),
    ("h:1", "h:1"),
])
def test_parse_bootstrap_takes_lists_schemes_and_ipv6(text: str, parsed: str) -> None:
    assert broker.parse_bootstrap(text) == parsed


@pytest.mark.parametrize(("text", "why"), [
    ("", "it is empty"),
    ("  ", "it is empty"),
    ("garbage", "it is not HOST:PORT"),
    ("::::", "it is not HOST:PORT"),
    ("host:", "it is not HOST:PORT"),
    ("host:99999", "port 99999 is not a number from 1 to 65535"),
    ("host:0", "port 0 is not a number from 1 to 65535"),
    ("host:http", "port http is not a number from 1 to 65535"),
    (":9092", "the host is empty"),
    ("[]:9092", "the host is empty"),
    ("::1:9092", "the IPv6 host goes in brackets, as [::1]:9092"),
    ("://a:1", "it has no scheme before ://"),
    ("a b:1", "host 'a b' is not a host name or address"),
    ("a:1,", "an entry is empty"),
    ("a:1,,b:2", "an entry is empty"),
    ("a:1,b", "'b' is not HOST:PORT"),
    ("a:1,b:99999", "port 99999 of 'b:99999' is not a number from 1 to 65535"),
])
def test_parse_bootstrap_refuses_what_is_not_host_port(text: str, why: str) -> None:
    with pytest.raises(ConfigError) as caught:
        broker.parse_bootstrap(text)
    assert caught.value.message == f"Bad --bootstrap-server {text!r}: {why}."
    assert f"Hint: {caught.value.hint}\n" == BOOTSTRAP_HINT
    assert caught.value.exit_code == 3


@pytest.mark.parametrize(("value", "why"), [
    ("", "it is empty"), ("garbage", "it is not HOST:PORT"), ("::::", "it is not HOST:PORT"),
    ("host:99999", "port 99999 is not a number from 1 to 65535"),
])
def test_a_bad_bootstrap_server_is_one_error_at_once(value: str, why: str) -> None:
    result, seconds = kl("topic", "list", "-b", value)
    assert (result.exit_code, result.stdout) == (3, "")
    assert result.stderr == f"Error: Bad --bootstrap-server {value!r}: {why}.\n" + BOOTSTRAP_HINT
    assert seconds < 1.0


def test_a_bad_bootstrap_server_from_the_environment_is_named() -> None:
    result, seconds = kl("group", "list", env={"KAFKALAB_BOOTSTRAP_SERVER": "garbage"})
    assert (result.exit_code, result.stdout) == (3, "")
    assert result.stderr == "Error: Bad KAFKALAB_BOOTSTRAP_SERVER 'garbage': it is not HOST:PORT.\n" + BOOTSTRAP_HINT
    assert seconds < 1.0


def test_an_unknown_host_is_said_at_once_without_starting_the_lab() -> None:
    result, seconds = kl("topic", "list", "-b", "nosuchhost.invalid:9092")
    assert (result.exit_code, result.stdout) == (11, "")
    assert result.stderr == (
        "Error: No Kafka broker answered at nosuchhost.invalid:9092: the host name nosuchhost.invalid does not resolve.\n"
        "Hint: Check the host name in the address: this machine's resolver (DNS, /etc/hosts) does not know it.\n"
    )
    assert "kafkalab up" not in result.stderr
    assert seconds < 1.0


def test_only_the_labs_own_address_says_start_the_lab(refused: str) -> None:
    given, seconds = kl("topic", "list", "-b", refused)
    assert (given.exit_code, given.stdout) == (11, "")
    assert given.stderr == (
        f"Error: No Kafka broker answered at {refused}: connection refused.\nHint: {BrokerUnreachable.hint_elsewhere}\n"
    )
    assert "kafkalab up" not in given.stderr
    assert seconds < 1.0
    from_env, _ = kl("group", "list", env={"KAFKALAB_BOOTSTRAP_SERVER": refused})
    assert (from_env.exit_code, from_env.stderr.splitlines()[1]) == (11, f"Hint: {BrokerUnreachable.hint_elsewhere}")

    port = refused.rpartition(":")[2]
    lab, _ = kl("--port", port, "topic", "list")
    assert (lab.exit_code, lab.stderr) == (11, (
        f"Error: No Kafka broker answered at localhost:{port}: connection refused.\nHint: {BrokerUnreachable.hint}\n"
    ))
    # The hint of the run with -b stays in that run: the Python API has the default again.
    assert broker.unreachable("No answer.").hint == BrokerUnreachable.hint


def test_probe_says_a_name_does_not_resolve() -> None:
    with pytest.raises(BrokerUnreachable) as caught:
        broker.probe("nosuchhost.invalid:9092,127.0.0.1:1")
    assert caught.value.message == (
        "No Kafka broker answered at nosuchhost.invalid:9092,127.0.0.1:1: the host name nosuchhost.invalid does not resolve."
    )
    assert "kafkalab up" not in caught.value.hint


# --- options with limits -----------------------------------------------------------------------

@pytest.mark.parametrize(("args", "message"), [
    (["topic", "create", "t", "-p", "100001"],
     "Invalid value for '-p' / '--partitions': 100001 is not in the range 1<=x<=100000."),
    (["topic", "create", "t", "-r", "40000"],
     "Invalid value for '-r' / '--replication': 40000 is not in the range 1<=x<=10000."),
    (["topic", "create", "t", "-p", "0"], "Invalid value for '-p' / '--partitions': 0 is not in the range 1<=x<=100000."),
    (["logs", "--tail", "-5"], "Invalid value for '--tail': -5 is not in the range x>=0."),
])
def test_out_of_range_options_are_usage_errors(args: list[str], message: str) -> None:
    result, seconds = kl(*args)
    assert result.exit_code == 2
    assert result.stderr.endswith(f"\n\nError: {message}\n")
    assert seconds < 1.0


@pytest.mark.parametrize(("partitions", "replication", "detail"), [
    (100_001, 1, "num_partitions out of expected range 1..100000 or -1 for broker default."),
    (1, 40_000, "replication_factor out of expected range -1..10000."),
])
def test_create_topic_beyond_librdkafkas_limits_is_a_request_error(
    partitions: int, replication: int, detail: str, refused: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # librdkafka checks the limits in create_topics(), before any request: no broker is needed.
    monkeypatch.setattr(broker, "_admin", broker.admin_client)
    monkeypatch.setattr(broker, "_reachable", lambda *_args: None)
    with pytest.raises(KafkaRequestError) as caught:
        broker.create_topic(refused, "t", partitions, replication)
    assert caught.value.message == f"Could not create topic t: {detail}"
    assert caught.value.hint == "Give 1 to 100,000 partitions and a replication factor of 1 to 10,000."


def test_the_cli_limits_are_librdkafkas() -> None:
    from confluent_kafka.admin import NewTopic  # type: ignore[attr-defined]

    from kafkalab.cli.topic import MAX_PARTITIONS, MAX_REPLICATION

    admin: Any = broker.admin_client("127.0.0.1:1")
    admin.create_topics([NewTopic("t", MAX_PARTITIONS, MAX_REPLICATION)], request_timeout=0.01)  # accepted
    for partitions, replication in ((MAX_PARTITIONS + 1, 1), (1, MAX_REPLICATION + 1)):
        with pytest.raises(ValueError, match="out of expected range"):
            admin.create_topics([NewTopic("t", partitions, replication)], request_timeout=0.01)
