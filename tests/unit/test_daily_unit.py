"""The daily-work features (issue 12) without a broker: the shapes of their output, exactly, and
their pure logic (times, records as JSON, client settings, contexts)."""

from __future__ import annotations

import datetime
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from kafkalab import errors
from kafkalab.cli import render
from kafkalab.cli.main import cli
from kafkalab.kafka import clients, groups, produce, records, security

NEW_ERRORS = [errors.AuthenticationFailed, errors.TlsFailed, errors.GroupNotEmpty, errors.InvalidRecord]


def kl(*args: str, input: bytes | str | None = None, env: dict[str, str] | None = None) -> Result:
    render.reset()
    return CliRunner(env=env).invoke(cli, list(args), input=input, prog_name="kafkalab")


@pytest.mark.parametrize("error_type", NEW_ERRORS, ids=lambda t: t.__name__)
def test_new_errors_are_two_lines_and_their_exit_code(
    error_type: type[errors.KafkalabError], monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fail(*_args: Any, **_kwargs: Any) -> None:
        raise error_type("Something went wrong.")

    monkeypatch.setattr(groups, "list_groups", fail)
    result = kl("group", "list", "-b", "localhost:1")
    assert (result.exit_code, result.stdout) == (error_type.exit_code, "")
    assert result.stderr == f"Error: Something went wrong.\nHint: {error_type.hint}\n"
    assert errors.EXIT_CODES[error_type.__name__] == error_type.exit_code


# --- group reset-offsets ---------------------------------------------------------------------------

PLAN = groups.ResetPlan(
    "billing", "orders", False,
    (groups.PartitionReset("orders", 0, 7, 0), groups.PartitionReset("orders", 1, None, 0)),
    ("Partition 1: offset -3 is before the start, 0: it is set to 0.",),
)


@pytest.fixture
def planned(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    calls: list[tuple[Any, ...]] = []

    def reset(bootstrap: str, group: str, topic: str, target: groups.ResetTarget, *, execute: bool) -> Any:
        calls.append((bootstrap, group, topic, target, execute))
        return PLAN if not execute else groups.ResetPlan(PLAN.group, PLAN.topic, True, PLAN.partitions, PLAN.notes)

    monkeypatch.setattr(groups, "reset_offsets", reset)
    return calls


def test_the_plan_is_a_table_and_a_dry_run_says_so(planned: list[tuple[Any, ...]]) -> None:
    result = kl("group", "reset-offsets", "billing", "--topic", "orders", "--to-earliest", "-b", "h:1")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "┏━━━━━━━━┳━━━━━━━━━━━┳━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━┓\n"
        "┃ topic  ┃ partition ┃ current offset ┃ new offset ┃\n"
        "┡━━━━━━━━╇━━━━━━━━━━━╇━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━┩\n"
        "│ orders │ 0         │ 7              │ 0          │\n"
        "│ orders │ 1         │ -              │ 0          │\n"
        "└────────┴───────────┴────────────────┴────────────┘\n"
    )
    assert result.stderr == (
        "Partition 1: offset -3 is before the start, 0: it is set to 0.\n"
        "Dry run: nothing was changed. Add --execute to commit these offsets.\n"
    )
    assert planned == [("h:1", "billing", "orders", groups.ResetTarget("earliest"), False)]


def test_the_plan_as_json(planned: list[tuple[Any, ...]]) -> None:
    result = kl("group", "reset-offsets", "billing", "-t", "orders", "--shift-by", "-3", "--execute", "--json",
                "-b", "h:1")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "group": "billing", "topic": "orders", "executed": True,
        "partitions": [
            {"topic": "orders", "partition": 0, "current": 7, "new": 0},
            {"topic": "orders", "partition": 1, "current": None, "new": 0},
        ],
        "notes": ["Partition 1: offset -3 is before the start, 0: it is set to 0."],
    }
    assert result.stderr.endswith("Committed the new offsets of group billing on orders.\n")
    assert planned[0][3:] == (groups.ResetTarget("shift", -3), True)


@pytest.mark.parametrize(("args", "target"), [
    (["--to-latest"], groups.ResetTarget("latest")),
    (["--to-offset", "42"], groups.ResetTarget("offset", 42)),
    (["--to-datetime", "2024-05-01T12:00:00Z"], groups.ResetTarget("datetime", 1_714_564_800_000)),
    (["--to-datetime", "2024-05-01T14:00:00+02:00"], groups.ResetTarget("datetime", 1_714_564_800_000)),
])
def test_each_target(planned: list[tuple[Any, ...]], args: list[str], target: groups.ResetTarget) -> None:
    assert kl("group", "reset-offsets", "g", "-t", "t", *args, "-b", "h:1").exit_code == 0
    assert planned[0][3] == target


# --- times ---------------------------------------------------------------------------------------

NOW = 1_714_564_800_000


@pytest.mark.parametrize(("text", "ms"), [
    ("30s", NOW - 30_000), ("10m", NOW - 600_000), ("2h", NOW - 7_200_000), ("1d", NOW - 86_400_000),
    ("1h30m", NOW - 5_400_000), ("500ms", NOW - 500), ("0s", NOW),
    ("2024-05-01T12:00:00Z", NOW), ("2024-05-01T12:00:00.250+00:00", NOW + 250),
])
def test_parse_time(text: str, ms: int) -> None:
    assert records.parse_time(text, now_ms=NOW) == ms


def test_parse_time_without_an_offset_is_local_time() -> None:
    local = datetime.datetime(2024, 5, 1, 12, 0).astimezone()
    assert records.parse_time("2024-05-01T12:00:00") == int(local.timestamp() * 1000)
    assert records.parse_time("2024-05-01") == int(datetime.datetime(2024, 5, 1).astimezone().timestamp() * 1000)


@pytest.mark.parametrize("text", ["", "soon", "10", "10x", "m10", "-5m", "2024-13-01"])
def test_parse_time_says_what_it_takes(text: str) -> None:
    with pytest.raises(ValueError, match=r"is not a time: give ISO 8601 .* or a duration back from now"):
        records.parse_time(text)
    with pytest.raises(ValueError, match=r"is not a time: give ISO 8601 \(.*\)\.$"):
        records.parse_time("10m", durations=False)


# --- records as JSON -----------------------------------------------------------------------------

def test_field_bytes_is_the_inverse_of_text_or_base64() -> None:
    for raw in (None, b"", "grüße".encode(), b"\xff\x00\xfe", b'{"a":1}'):
        assert records.field_bytes(records.text_or_base64(raw), "the value") == raw
    assert records.field_bytes({"total": 3, "items": ["ü"]}, "v") == '{"total":3,"items":["ü"]}'.encode()
    assert records.field_bytes(42, "v") == b"42"
    assert records.field_bytes(True, "v") == b"true"
    assert records.field_bytes([1, None], "v") == b"[1,null]"
    # Only an object that is exactly {"base64": ...} is bytes; others are JSON text.
    assert records.field_bytes({"base64": "AA==", "x": 1}, "v") == b'{"base64":"AA==","x":1}'
    with pytest.raises(ValueError, match=r"^the key is not base64 text: '\*\*\*'$"):
        records.field_bytes({"base64": "***"}, "the key")


def test_parse_record() -> None:
    line = json.dumps({
        "topic": "ignored", "offset": 3, "partition": 2, "timestamp": 1_714_564_800_000, "key": "k",
        "value": {"a": 1}, "headers": {"h": "v", "n": None},
    }).encode()
    # A value that is JSON is sent as its text in the line, as it was written (json.dumps: ", " and ": ").
    assert records.parse_record(line) == (b'{"a": 1}', b"k", 2, 1_714_564_800_000, [("h", b"v"), ("n", None)])
    assert records.parse_record(b'{"value": null}') == (None, None, None, None, [])
    pairs = b'{"value": "v", "headers": [["a", "1"], ["a", {"base64": "/w=="}]], "timestamp": "2024-05-01T12:00:00Z"}'
    assert records.parse_record(pairs) == (b"v", None, None, 1_714_564_800_000, [("a", b"1"), ("a", b"\xff")])


@pytest.mark.parametrize(("line", "value", "key", "headers"), [
    (b'{"value": 1.50, "key": 1E2}', b"1.50", b"1E2", []),
    (b'{"value": 1e400}', b"1e400", None, []),  # json.dumps would send Infinity, which is no JSON
    (b'{"value": -0, "key": 10000000000000000000000001}', b"-0", b"10000000000000000000000001", []),
    (b'{ "value" :{"a" : [1.0, 2e-3] , "b":{}} , "key":[ ] }', b'{"a" : [1.0, 2e-3] , "b":{}}', b"[ ]", []),
    ('{"value": {"grüße": "\\u00fc"}}'.encode(), '{"grüße": "\\u00fc"}'.encode(), None, []),
    (b'{"value": "v", "headers": {"n": 1.50, "s": "x", "t": true}}', b"v", None,
     [("n", b"1.50"), ("s", b"x"), ("t", b"true")]),
    # An object's repeated name: the last one, as json reads it; pairs keep each.
    (b'{"value": "v", "headers": {"n": 1.0, "n": 2.50}}', b"v", None, [("n", b"2.50")]),
    (b'{"value": "v", "headers": [["n", 1.0], ["s", "x"], [ "n" , {"x" : 1} ]]}', b"v", None,
     [("n", b"1.0"), ("s", b"x"), ("n", b'{"x" : 1}')]),
    (b'{"value": false, "key": null}', b"false", None, []),
])
def test_parse_record_sends_json_values_as_their_text(
    line: bytes, value: bytes, key: bytes | None, headers: list[tuple[str, bytes]],
) -> None:
    assert records.parse_record(line) == (value, key, None, None, headers)


@pytest.mark.parametrize(("line", "why"), [
    (b'{"value": NaN}', "it is not JSON (NaN is not a JSON value)"),
    (b'{"value": [-Infinity]}', "it is not JSON (-Infinity is not a JSON value)"),
    (b"not json", "it is not JSON (Expecting value: line 1 column 1 (char 0))"),
    (b'["value"]', "it is a JSON list, not an object"),
    (b'{"key": "k"}', 'it has no "value" (null is a tombstone)'),
    (b'{"value": 1, "vaule": 2}', "it has a field 'vaule'; a record has key, value, headers, partition, timestamp"),
    (b'{"value": 1, "headers": "h=v"}', 'its "headers" are neither an object nor a list of [name, value] pairs'),
    (b'{"value": 1, "headers": [["h"]]}', 'its "headers" are neither an object nor a list of [name, value] pairs'),
    (b'{"value": 1, "partition": -1}', "its \"partition\" -1 is not a partition number"),
    (b'{"value": 1, "partition": true}', "its \"partition\" True is not a partition number"),
    (b'{"value": 1, "timestamp": 1.5}', 'its "timestamp" 1.5 is neither milliseconds since the epoch nor ISO 8601'),
    # The producer would send 0 as the time of sending; before 1970 Kafka has no timestamp.
    (b'{"value": 1, "timestamp": 0}',
     'its "timestamp" 0 is not after 1970-01-01T00:00:00Z (leave it out to send the time of sending)'),
    (b'{"value": 1, "timestamp": -5}',
     'its "timestamp" -5 is not after 1970-01-01T00:00:00Z (leave it out to send the time of sending)'),
    (b'{"value": 1, "timestamp": "1969-12-31T23:59:59Z"}',
     "its \"timestamp\" '1969-12-31T23:59:59Z' is not after 1970-01-01T00:00:00Z (leave it out to send the time "
     "of sending)"),
])
def test_parse_record_says_what_is_wrong(line: bytes, why: str) -> None:
    with pytest.raises(ValueError) as caught:
        records.parse_record(line)
    assert str(caught.value) == why


class RecordingProducer:
    def __init__(self) -> None:
        self.sent: list[tuple[Any, ...]] = []

    def produce(self, topic: str, value: bytes | None, key: bytes | None, partition: int, **kw: Any) -> None:
        self.sent.append((value, key, partition, kw["timestamp"], kw["headers"]))

    def poll(self, _timeout: float) -> int:
        return 0

    def __len__(self) -> int:
        return 0


def test_the_json_sender_adds_the_commands_headers_and_partition_and_counts_lines() -> None:
    producer = RecordingProducer()
    send = produce._JsonSender(
        producer, "t", partition=1, key_separator=None, headers=[("via", b"cli")], failures=produce._Failures(),
    )
    assert send([b'{"value": "a", "headers": {"h": "1"}}', b"", b'{"value": null, "partition": 0, "timestamp": 5}']) == 2
    assert producer.sent == [
        (b"a", None, 1, 0, [("h", b"1"), ("via", b"cli")]),
        (None, None, 0, 5, [("via", b"cli")]),
    ]
    with pytest.raises(errors.InvalidRecord) as caught:
        send([b'{"value": "b"}', b"{"])
    assert caught.value.sent == 1
    assert caught.value.message.startswith("Line 5 is not a record: it is not JSON (")


def test_consume_takes_one_start() -> None:
    usage = "Usage: kafkalab consume [OPTIONS] TOPIC\nTry 'kafkalab consume --help' for help.\n\n"
    for args, message in [
        (["--from-time", "1h", "--from-beginning"], "Give --from-beginning or --from-time, not both."),
        (["--partition", "0", "--offset", "3", "--from-time", "1h"], "Give --offset or --from-time, not both."),
        (["--partition", "0", "--offset", "3", "--from-time", "1h", "--from-beginning"],
         "Give one of --offset, --from-beginning or --from-time."),
    ]:
        result = kl("consume", "t", *args, "-b", "h:1")
        assert (result.exit_code, result.stderr) == (2, usage + f"Error: {message}\n")


# --- client settings and contexts ------------------------------------------------------------------

def test_parse_settings() -> None:
    from kafkalab.kafka.contexts import parse_settings

    assert parse_settings(["security.protocol=SSL", "sasl.password=a=b", "acks=1", "acks=all"]) == {
        "security.protocol": "SSL", "sasl.password": "a=b", "acks": "all",
    }
    with pytest.raises(ValueError, match=r"^'acks' is not KEY=VALUE \(a librdkafka property"):
        parse_settings(["acks"])
    with pytest.raises(ValueError, match=r"^bootstrap\.servers is not for -X: give the brokers with -b"):
        parse_settings(["bootstrap.servers=h:1"])
    with pytest.raises(ValueError, match=r"^group\.id is not for -X: give the group with --group\.$"):
        parse_settings(["group.id=g"])


def test_masking() -> None:
    from kafkalab.kafka.contexts import masked

    assert masked("sasl.password", "s3cret") == "********"
    assert masked("ssl.key.password", "x") == "********"
    assert masked("sasl.oauthbearer.client.secret", "x") == "********"
    assert masked("SASL.OAUTHBEARER.TOKEN.ENDPOINT.URL", "x") == "********"
    assert masked("sasl.username", "bob") == "bob"


CONTEXTS = """\
context = "orders"

[contexts.orders]
bootstrap-server = "SASL_SSL://k1.example.com:9093,k2.example.com:9093"
[contexts.orders.client]
"security.protocol" = "SASL_SSL"
"sasl.mechanism" = "SCRAM-SHA-512"
"sasl.username" = "orders-${TEAM}"
"sasl.password" = "${ORDERS_KAFKA_PASSWORD}"
"enable.ssl.certificate.verification" = false
"socket.timeout.ms" = 30000

[contexts.local]
bootstrap_server = "localhost:9094"
"""


def test_contexts_from_the_config_file(tmp_path: Any) -> None:
    from kafkalab.kafka.contexts import load_contexts

    (tmp_path / "kafkalab.toml").write_text(CONTEXTS)
    contexts = load_contexts(tmp_path)
    assert sorted(contexts) == ["local", "orders"]
    orders = contexts["orders"]
    assert orders.client == {
        "security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "orders-${TEAM}",
        "sasl.password": "${ORDERS_KAFKA_PASSWORD}", "enable.ssl.certificate.verification": "false",
        "socket.timeout.ms": "30000",
    }
    bootstrap, client = orders.resolved({"TEAM": "billing", "ORDERS_KAFKA_PASSWORD": "pw"})
    assert bootstrap == "SASL_SSL://k1.example.com:9093,k2.example.com:9093"
    assert (client["sasl.username"], client["sasl.password"]) == ("orders-billing", "pw")
    with pytest.raises(errors.ConfigError) as caught:
        orders.resolved({"TEAM": "billing"})
    assert caught.value.message == (
        f"sasl.password of context orders in {tmp_path / 'kafkalab.toml'} reads the environment variable "
        "ORDERS_KAFKA_PASSWORD, which is not set."
    )
    assert contexts["local"].resolved({}) == ("localhost:9094", {})


@pytest.mark.parametrize(("text", "message"), [
    ("[contexts]\norders = 1\n", "context orders is not a table."),
    ("[contexts.orders]\nbootstrap = 'h:1'\n", "context orders has an unknown key 'bootstrap'."),
    ("[contexts.orders]\nbootstrap_server = 9092\n", "context orders: bootstrap_server 9092 is not a string."),
    ("[contexts.orders]\nclient = 'acks=1'\n", "context orders: client is not a table."),
    ("[contexts.orders.client]\nacks = [1]\n", "context orders: client setting acks is not a string, a number or a boolean."),
    ("[contexts.orders.client]\n'group.id' = 'g'\n",
     "context orders: group.id is not a client setting here: give the group with --group."),
])
def test_bad_contexts_are_config_errors(tmp_path: Any, text: str, message: str) -> None:
    from kafkalab.kafka.contexts import load_contexts

    (tmp_path / "kafkalab.toml").write_text(text)
    with pytest.raises(errors.ConfigError) as caught:
        load_contexts(tmp_path)
    assert caught.value.message == f"{tmp_path / 'kafkalab.toml'}: {message}"


def test_config_lists_the_contexts_masked(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "kafkalab.toml").write_text(CONTEXTS)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KAFKALAB_CONTEXT", raising=False)
    result = kl("config", env={"COLUMNS": "260"})
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith(
        "┏━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓\n"
        "┃ context ┃ client setting                      ┃ value                                              ┃\n"
        "┡━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┩\n"
        "│ orders  │ bootstrap_server                    │ SASL_SSL://k1.example.com:9093,k2.example.com:9093 │\n"
        "│ orders  │ security.protocol                   │ SASL_SSL                                           │\n"
        "│ orders  │ sasl.mechanism                      │ SCRAM-SHA-512                                      │\n"
        "│ orders  │ sasl.username                       │ orders-${TEAM}                                     │\n"
        "│ orders  │ sasl.password                       │ ********                                           │\n"
        "│ orders  │ enable.ssl.certificate.verification │ false                                              │\n"
        "│ orders  │ socket.timeout.ms                   │ 30000                                              │\n"
        "│ local   │ bootstrap_server                    │ localhost:9094                                     │\n"
        "└─────────┴─────────────────────────────────────┴────────────────────────────────────────────────────┘\n"
    )
    assert re.search(r"│ context +│ orders ", result.stdout)  # the settings' column is as wide as their longest name
    assert json.loads(kl("config", "--json").stdout)["contexts"]["orders"]["client"]["sasl.password"] == "********"


def test_a_context_that_does_not_exist(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from kafkalab.settings import user_config_path

    (tmp_path / "kafkalab.toml").write_text(CONTEXTS)
    monkeypatch.chdir(tmp_path)
    result = kl("topic", "list", env={"KAFKALAB_CONTEXT": "prod"})
    assert (result.exit_code, result.stderr) == (3, (
        f"Error: There is no context 'prod' (KAFKALAB_CONTEXT): the contexts in {tmp_path / 'kafkalab.toml'} are "
        "local, orders.\n"
        "Hint: Define it as [contexts.NAME] in kafkalab.toml or [tool.kafkalab] of pyproject.toml, or in your "
        f"own file {user_config_path()}; `kafkalab config` lists them.\n"
    ))


def test_bad_client_settings_are_config_errors() -> None:
    import socket

    with socket.socket() as listening:  # a port that takes connections: the client is made, nothing is sent
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        address = f"127.0.0.1:{listening.getsockname()[1]}"
        result = kl("topic", "list", "-b", address, "-X", "sasl.mechansim=PLAIN")
    assert (result.exit_code, result.stderr) == (3, (
        "Error: librdkafka refused the client settings (sasl.mechansim=PLAIN): No such configuration property: "
        '"sasl.mechansim".\n'
        f"Hint: {clients.CONFIG_HINT}\n"
    ))
    usage = kl("topic", "list", "-X", "acks")
    assert usage.exit_code == 2
    assert usage.stderr.endswith(
        "Error: Invalid value for '-X': 'acks' is not KEY=VALUE (a librdkafka property, such as "
        "security.protocol=SSL).\n"
    )


class FakeError:
    def __init__(self, code: int, text: str) -> None:
        self._code, self._text = code, text

    def code(self) -> int:
        return self._code

    def str(self) -> str:
        return self._text


@pytest.mark.parametrize(("conf", "code", "text", "error", "message"), [
    ({"sasl.mechanism": "PLAIN"}, "_AUTHENTICATION",
     "sasl_plaintext://h:1/bootstrap: SASL authentication error: Authentication failed: Invalid username or password "
     "(after 301ms in state AUTH_REQ)",
     errors.AuthenticationFailed,
     "SASL authentication (PLAIN) failed at h:1: Authentication failed: Invalid username or password."),
    ({"sasl.mechanism": "SCRAM-SHA-512"}, "_AUTHENTICATION",
     "sasl_plaintext://h:1/bootstrap: SASL SCRAM-SHA-512 mechanism handshake failed: Broker: Unsupported SASL "
     "mechanism: broker's supported mechanisms: PLAIN,SCRAM-SHA-256 (after 301ms in state AUTH_HANDSHAKE)",
     errors.AuthenticationFailed,
     "SASL authentication (SCRAM-SHA-512) failed at h:1: the broker does not enable SCRAM-SHA-512; it enables "
     "PLAIN, SCRAM-SHA-256."),
    ({"security.protocol": "ssl"}, "_TRANSPORT",
     "ssl://h:1/bootstrap: SSL handshake failed: Disconnected: SSL connection closed by peer: connecting to a "
     "PLAINTEXT broker listener? (after 1ms in state SSL_HANDSHAKE)",
     errors.TlsFailed,
     "TLS handshake failed at h:1: the broker closed the connection, as a PLAINTEXT listener does when spoken TLS "
     "to (security.protocol=SSL)."),
    ({"security.protocol": "SSL"}, "_SSL",
     "ssl://h:1/bootstrap: SSL handshake failed: error:0A000086:SSL routines::certificate verify failed: broker "
     "certificate could not be verified, verify that ssl.ca.location is correctly configured or root CA "
     "certificates are installed (add broker's CA certificate to the Windows Root certificate store) (after 5ms "
     "in state SSL_HANDSHAKE)",
     errors.TlsFailed,
     "TLS handshake failed at h:1: SSL handshake failed: error:0A000086:SSL routines::certificate verify failed: "
     "broker certificate could not be verified, verify that ssl.ca.location is correctly configured or root CA "
     "certificates are installed (add broker's CA certificate to the Windows Root certificate store)."),
])
def test_the_security_check_names_what_failed(
    conf: dict[str, str], code: str, text: str, error: type[errors.KafkalabError], message: str,
) -> None:
    from confluent_kafka import KafkaError

    check = security.SecurityCheck("h:1", conf)
    with pytest.raises(error) as caught:
        check(FakeError(getattr(KafkaError, code), text))
    assert caught.value.message == message


def test_the_security_check_leaves_passing_trouble_to_librdkafka() -> None:
    from confluent_kafka import KafkaError

    check = security.SecurityCheck("h:1", {})
    check(FakeError(KafkaError._TRANSPORT, "h:1/bootstrap: Connect to ipv4#127.0.0.1:1 failed: Connection refused"))
    check(FakeError(KafkaError._ALL_BROKERS_DOWN, "1/1 brokers are down"))


def test_client_settings_win_over_kafkalabs_own(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[dict[str, Any]] = []

    class Admin:
        def __init__(self, conf: dict[str, Any]) -> None:
            made.append(conf)

    monkeypatch.setattr("confluent_kafka.admin.AdminClient", Admin)
    with clients.client_settings({"reconnect.backoff.ms": "5", "allow.auto.create.topics": "true"}):
        clients.command_client("admin", "h:1", {"allow.auto.create.topics": False, "socket.timeout.ms": 1000})
    clients.command_client("admin", "h:1")
    assert made[0]["reconnect.backoff.ms"] == "5"
    assert made[0]["allow.auto.create.topics"] == "true"
    assert made[0]["socket.timeout.ms"] == 1000
    assert isinstance(made[0]["error_cb"], security.SecurityCheck)
    assert made[1]["reconnect.backoff.ms"] == 50, "outside client_settings(), kafkalab's own"


# --- large messages, completion --------------------------------------------------------------------

@pytest.mark.parametrize(("topic_max", "limit"), [
    (None, 1_000_000), (200, 1_000_000), (1_048_588, 1_048_588), (3_000_000, 3_000_000),
    (2_000_000_000, 1_000_000_000),
])
def test_the_producers_limit_follows_the_topics(topic_max: int | None, limit: int) -> None:
    assert produce.message_limit(topic_max) == limit


def test_a_completion_that_takes_too_long_offers_nothing() -> None:
    import threading
    import time

    from kafkalab.cli import complete

    release = threading.Event()

    def slow() -> list[str]:
        release.wait(10)
        return ["late"]

    started = time.monotonic()
    assert complete.within_deadline(slow) == []
    assert time.monotonic() - started < complete.DEADLINE + 0.3
    release.set()
    assert complete.within_deadline(lambda: ["a", "b"]) == ["a", "b"]

    def broken() -> list[str]:
        raise RuntimeError("no broker")

    assert complete.within_deadline(broken) == []


def test_a_tab_press_ends_at_its_deadline_even_when_the_ask_hangs(tmp_path: Path) -> None:
    """A worker of within_deadline() that never returns (a DNS lookup that hangs) does not hold up
    the process's exit: Python would otherwise wait for it."""
    import subprocess
    import sys
    import time

    from kafkalab.cli import complete

    hang = (
        "import time\n"
        "from kafkalab.kafka import cluster\n"
        "cluster.check_reachable = lambda *a, **k: time.sleep(30)\n"
        "from kafkalab._console import main\n"
        "main()\n"
    )
    env = {**os.environ, "COMP_WORDS": "kafkalab topic describe -b 127.0.0.1:9 ", "COMP_CWORD": "5",
           "_KAFKALAB_COMPLETE": "bash_complete", "XDG_CONFIG_HOME": str(tmp_path)}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", hang], env=env, capture_output=True, text=True, timeout=20,
                          check=False)
    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, "", ""), "nothing offered, no error"
    assert time.monotonic() - started < complete.DEADLINE + 2, "the exit waited for the hung worker"
