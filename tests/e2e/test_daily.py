"""Daily Kafka work end to end on the real test bed (issue 12): consumer-group offsets, records as
JSON, consuming from a time, topics created on first use, client settings and contexts, secured
brokers, completion and large messages.

Most tests use the session's shared lab. Brokers configured in ways the lab's compose files do not
offer (no auto-creation, SASL listeners) are started here with `docker run` of the bed's Kafka
image, configured as apache/kafka is, and always removed at the end.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from click.testing import Result
from kafka_cli import create, fresh, group, kl, poll

from kafkalab import Lab
from kafkalab.errors import InvalidRecord

pytestmark = pytest.mark.e2e

SECONDS = r"\d+\.\d\d"
DRY_RUN = "Dry run: nothing was changed. Add --execute to commit these offsets.\n"












def committed(bootstrap: str, name: str) -> tuple[list[int], int]:
    """The group's committed offset per partition, and its lag."""
    desc = group(bootstrap, name)
    return [p["committed"] for p in desc["partitions"]], desc["lag"]


def iso(ms: int) -> str:
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC).isoformat().replace("+00:00", "Z")


@pytest.fixture(scope="module")
def bootstrap(shared_lab: Lab) -> str:
    return str(shared_lab.bootstrap_servers)


@dataclasses.dataclass(frozen=True)
class Bare:
    """A broker started with `docker run`, configured as apache/kafka is, in ways the lab is not."""

    name: str
    plaintext: str  # host:port of its PLAINTEXT listener
    sasl: str  # host:port of its SASL_PLAINTEXT listener: PLAIN and SCRAM-SHA-256


ADMIN = ("admin", "admin-secret")  # a PLAIN user
ALICE = ("alice", "alice-secret")  # a PLAIN user
BOB = ("bob", "bob-secret")  # a SCRAM-SHA-256 user, created through the PLAIN admin once the broker runs


def sasl_settings(user: tuple[str, str], mechanism: str = "PLAIN") -> list[str]:
    """-X arguments for a SASL_PLAINTEXT login."""
    return ["-X", "security.protocol=SASL_PLAINTEXT", "-X", f"sasl.mechanism={mechanism}",
            "-X", f"sasl.username={user[0]}", "-X", f"sasl.password={user[1]}"]


def _add_scram_user(sasl: str) -> None:
    """BOB as a SCRAM-SHA-256 user, through an AdminClient logged in with PLAIN as ADMIN (KRaft keeps
    SCRAM credentials in its metadata; `kafka-storage format --add-scram` is not at hand here)."""
    from confluent_kafka.admin import (  # type: ignore[attr-defined]
        AdminClient,
        ScramCredentialInfo,
        ScramMechanism,
        UserScramCredentialUpsertion,
    )

    from kafkalab.kafka import clients

    plain = {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN",
             "sasl.username": ADMIN[0], "sasl.password": ADMIN[1]}
    admin = AdminClient({**clients.client_config(sasl), **plain})
    upsert = UserScramCredentialUpsertion(BOB[0], ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 4096), BOB[1].encode())
    for future in admin.alter_user_scram_credentials([upsert], request_timeout=10).values():
        future.result(timeout=15)
    scram = {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "SCRAM-SHA-256",
             "sasl.username": BOB[0], "sasl.password": BOB[1]}

    def logs_in() -> bool:  # the credential reaches the broker's SCRAM cache shortly after the metadata
        try:
            AdminClient({**clients.client_config(sasl), **scram}).list_topics(timeout=1)
            return True
        except Exception:
            return False

    poll(logs_in, 30, "the SCRAM user to log in")


def _gone(name: str) -> bool:
    out = subprocess.run(["docker", "ps", "-a", "-q", "--filter", f"name=^/{name}$"],
                         capture_output=True, text=True, check=True)
    return not out.stdout.strip()


@pytest.fixture(scope="module")
def bare(bed: Any) -> Iterator[Bare]:
    """One broker of the bed's Kafka image with auto.create.topics.enable=false, a PLAINTEXT and a
    SASL_PLAINTEXT listener (PLAIN and SCRAM-SHA-256, JAAS per listener and mechanism as
    apache/kafka takes it from the environment), published on free 127.0.0.1 ports; always removed."""
    from kafkalab.kafka import cluster

    name = bed.project_name("-bare")
    plain_port, sasl_port = bed.free_port(), bed.free_port()
    users = " ".join(f'user_{u}="{pw}"' for u, pw in (ADMIN, ALICE))
    env = {
        "CLUSTER_ID": "a2Fma2FsYWItYmFyZS0wMQ",
        "KAFKA_NODE_ID": "1",
        "KAFKA_PROCESS_ROLES": "broker,controller",
        "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@localhost:9093",
        "KAFKA_LISTENERS": "PLAINTEXT://:9092,CONTROLLER://:9093,EXTERNAL://:9094,SASL://:9095",
        "KAFKA_ADVERTISED_LISTENERS":
            f"PLAINTEXT://localhost:9092,EXTERNAL://127.0.0.1:{plain_port},SASL://127.0.0.1:{sasl_port}",
        "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP":
            "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,EXTERNAL:PLAINTEXT,SASL:SASL_PLAINTEXT",
        "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
        "KAFKA_INTER_BROKER_LISTENER_NAME": "PLAINTEXT",
        "KAFKA_AUTO_CREATE_TOPICS_ENABLE": "false",
        "KAFKA_SASL_ENABLED_MECHANISMS": "PLAIN,SCRAM-SHA-256",
        "KAFKA_LISTENER_NAME_SASL_PLAIN_SASL_JAAS_CONFIG":
            f"org.apache.kafka.common.security.plain.PlainLoginModule required {users};",
        "KAFKA_LISTENER_NAME_SASL_SCRAM___SHA___256_SASL_JAAS_CONFIG":
            "org.apache.kafka.common.security.scram.ScramLoginModule required;",
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
        "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
        "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR": "1",
        "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR": "1",
        "KAFKA_LOG_DIRS": "/var/lib/kafka/data",
        "KAFKA_HEAP_OPTS": "-Xmx256M -Xms256M",
    }
    command = ["docker", "run", "-d", "--name", name, "--label", f"dev.kafkalab.test={name}",
               "-p", f"127.0.0.1:{plain_port}:9094", "-p", f"127.0.0.1:{sasl_port}:9095"]
    for key, value in env.items():
        command += ["-e", f"{key}={value}"]
    try:
        subprocess.run([*command, os.environ["KAFKALAB_IMAGE_KAFKA"]], check=True, capture_output=True, timeout=60)
        plaintext = f"127.0.0.1:{plain_port}"

        def answers() -> bool:
            try:
                return bool(cluster.cluster_info(plaintext, timeout=1).brokers)
            except Exception:
                return False

        poll(answers, 120, f"the broker {name} to answer")
        sasl = f"127.0.0.1:{sasl_port}"
        _add_scram_user(sasl)
        yield Bare(name, plaintext, sasl)
    finally:
        subprocess.run(["docker", "rm", "-f", "-v", name], capture_output=True, check=False, timeout=60)
        poll(lambda: _gone(name), 60, f"the container {name} to be gone")


class Follower:
    """`kafkalab consume TOPIC --group G --follow` as its own process: an active member of G."""

    def __init__(self, bootstrap: str, topic: str, name: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kafkalab", "consume", topic, "--group", name, "--follow", "-b", bootstrap],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        self.lines: list[bytes] = []
        stdout = self.process.stdout
        assert stdout is not None
        self.thread = threading.Thread(target=lambda: self.lines.extend(iter(stdout.readline, b"")), daemon=True)
        self.thread.start()

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(20)
        finally:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def follower() -> Iterator[Callable[[str, str, str], Follower]]:
    started: list[Follower] = []

    def start(bootstrap: str, topic: str, name: str) -> Follower:
        started.append(Follower(bootstrap, topic, name))
        return started[-1]

    yield start
    for f in started:
        f.process.kill()
        f.process.wait()


# --- item 3: consumer groups: reset-offsets and delete -------------------------------------------

def _plan_table(name: str, rows: list[tuple[int, str, int]]) -> str:
    width = max(len(name), len("topic"))
    lines = [
        f"┏━{'━' * width}━┳━━━━━━━━━━━┳━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━┓",
        f"┃ {'topic'.ljust(width)} ┃ partition ┃ current offset ┃ new offset ┃",
        f"┡━{'━' * width}━╇━━━━━━━━━━━╇━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━┩",
        *[f"│ {name.ljust(width)} │ {p:<9} │ {cur:<14} │ {new:<10} │" for p, cur, new in rows],
        f"└─{'─' * width}─┴───────────┴────────────────┴────────────┘",
    ]
    return "\n".join(lines) + "\n"


def test_group_reset_offsets_dry_run_then_each_target(shared_lab: Lab, bootstrap: str) -> None:
    name, g = fresh("reset"), fresh("reset")
    create(bootstrap, name, "-p", "2")
    # One message a minute, an hour ago: partition 0 has 6, partition 1 has 4.
    base = (int(time.time()) - 3600) * 1000
    producer = shared_lab.producer()
    for p, count in ((0, 6), (1, 4)):
        for i in range(count):
            producer.produce(name, f"p{p}-{i}".encode(), partition=p, timestamp=base + i * 60_000)
    assert producer.flush(10) == 0

    def reset(*args: str) -> Result:
        return kl("group", "reset-offsets", g, "--topic", name, *args, "-b", bootstrap)

    # A dry run of a group that committed nothing yet: the plan, and nothing changes.
    dry = reset("--to-earliest")
    assert (dry.exit_code, dry.stderr) == (0, DRY_RUN), dry.output
    assert dry.stdout == _plan_table(name, [(0, "-", 0), (1, "-", 0)])
    assert kl("group", "describe", g, "-b", bootstrap).exit_code == 14, "a dry run commits nothing"
    no_base = reset("--shift-by", "1")
    assert (no_base.exit_code, no_base.stdout) == (13, "")
    assert no_base.stderr == (
        f"Error: Cannot shift the offsets of group {g} on {name}: partition 0 has no committed offset.\n"
        "Hint: Give --to-earliest, --to-latest, --to-offset or --to-datetime for a group that committed nothing yet.\n"
    )

    done = reset("--to-earliest", "--execute")
    assert (done.exit_code, done.stdout) == (0, _plan_table(name, [(0, "-", 0), (1, "-", 0)]))
    assert done.stderr == f"Committed the new offsets of group {g} on {name}.\n"
    assert committed(bootstrap, g) == ([0, 0], 10)

    assert reset("--shift-by", "2", "--execute").exit_code == 0
    assert committed(bootstrap, g) == ([2, 2], 6)

    # Past the end of partition 1 (4 messages): set to its end, with a note, as kafka-consumer-groups does.
    to_five = reset("--to-offset", "5", "--execute")
    assert to_five.exit_code == 0
    assert to_five.stdout == _plan_table(name, [(0, "2", 5), (1, "2", 4)])
    assert to_five.stderr == (
        "Partition 1: offset 5 is past the end, 4: it is set to 4.\n"
        f"Committed the new offsets of group {g} on {name}.\n"
    )
    assert committed(bootstrap, g) == ([5, 4], 1)

    back = reset("--shift-by", "-10", "--execute")
    assert back.stderr == (
        "Partition 0: offset -5 is before the start, 0: it is set to 0.\n"
        "Partition 1: offset -6 is before the start, 0: it is set to 0.\n"
        f"Committed the new offsets of group {g} on {name}.\n"
    )
    assert committed(bootstrap, g) == ([0, 0], 10)

    # 2.5 minutes after the first message: the first one at or after it is the 4th (offset 3).
    when = iso(base + 150_000)
    assert reset("--to-datetime", when, "--execute").exit_code == 0
    assert committed(bootstrap, g) == ([3, 3], 4)
    later = reset("--to-datetime", iso(base + 5 * 60_000), "--json")  # p0's last message; none in p1
    assert later.exit_code == 0
    assert json.loads(later.stdout) == {
        "group": g, "topic": name, "executed": False,
        "partitions": [
            {"topic": name, "partition": 0, "current": 3, "new": 5},
            {"topic": name, "partition": 1, "current": 3, "new": 4},
        ],
        "notes": ["Partition 1: no message at or after the time: it is set to the end, 4."],
    }
    assert committed(bootstrap, g) == ([3, 3], 4), "--json alone is a dry run"

    assert reset("--to-latest", "--execute").exit_code == 0
    assert committed(bootstrap, g) == ([6, 4], 0)
    # The group reads on from where it was put.
    assert reset("--to-offset", "4", "--execute").exit_code == 0
    rest = kl("consume", name, "--group", g, "--format", "kv", "-K", "=", "-b", bootstrap)
    assert sorted(rest.stdout.splitlines()) == ["=p0-4", "=p0-5"]


def test_group_reset_offsets_usage_errors(bootstrap: str) -> None:
    usage = "Usage: kafkalab group reset-offsets [OPTIONS] NAME\nTry 'kafkalab group reset-offsets --help' for help.\n\n"
    for args, message in [
        ([], "Give one of --to-earliest, --to-latest, --to-offset, --shift-by or --to-datetime."),
        (["--to-earliest", "--shift-by", "3"],
         "Give one of --to-earliest, --to-latest, --to-offset, --shift-by or --to-datetime "
         "(--to-earliest, --shift-by are given)."),
        (["--to-datetime", "yesterday"],
         "Invalid value for '--to-datetime': 'yesterday' is not a time: give ISO 8601 (2024-05-01T12:00:00Z, "
         "2024-05-01; local time without an offset)."),
    ]:
        result = kl("group", "reset-offsets", "g", "--topic", "t", *args, "-b", bootstrap)
        assert (result.exit_code, result.stderr) == (2, usage + f"Error: {message}\n"), result.stderr
    missing = kl("group", "reset-offsets", fresh("g"), "--topic", fresh("none"), "--to-latest", "-b", bootstrap)
    assert missing.exit_code == 12


def test_active_groups_are_neither_reset_nor_deleted(
    bootstrap: str, follower: Callable[[str, str, str], Follower],
) -> None:
    name, g = fresh("busy"), fresh("busy")
    create(bootstrap, name)
    assert kl("produce", name, "-b", bootstrap, input="one\ntwo\n").exit_code == 0
    member = follower(bootstrap, name, g)
    poll(lambda: kl("group", "describe", g, "--json", "-b", bootstrap).stdout.count('"member_id": "') >= 1
         and group(bootstrap, g)["state"] == "stable", 30, "the follower to join")
    hint = f"Hint: Stop its consumers first; `kafkalab group describe {g}` lists them.\n"
    refused = kl("group", "reset-offsets", g, "--topic", name, "--to-earliest", "--execute", "-b", bootstrap)
    assert (refused.exit_code, refused.stdout) == (18, "")
    assert refused.stderr == f"Error: Cannot reset the offsets of group {g}: it has 1 active member (stable).\n" + hint
    kept = kl("group", "delete", g, "--yes", "-b", bootstrap)
    assert (kept.exit_code, kept.stderr) == (18, f"Error: Cannot delete group {g}: it has active members.\n" + hint)
    assert member.stop() == 130
    assert kl("group", "delete", g, "--yes", "-b", bootstrap).exit_code == 0


def test_group_delete_asks_on_a_terminal(bootstrap: str, on_a_terminal: Callable[..., tuple[int, bytes]]) -> None:
    name, g = fresh("gone"), fresh("gone")
    create(bootstrap, name)
    assert kl("produce", name, "-b", bootstrap, input="x\n").exit_code == 0
    assert kl("consume", name, "--group", g, "--from-beginning", "-b", bootstrap).exit_code == 0
    code, seen = on_a_terminal(["group", "delete", g, "-b", bootstrap], b"n\n")
    assert f"Delete consumer group {g} and its committed offsets? [y/N]".encode() in seen
    assert (code, f"Error: Group {g} was not deleted.".encode() in seen) == (15, True)
    assert group(bootstrap, g)["partitions"][0]["committed"] == 1
    code, seen = on_a_terminal(["group", "delete", g, "-b", bootstrap], b"y\n")
    assert (code, f"Deleted consumer group {g}.".encode() in seen) == (0, True)
    assert kl("group", "describe", g, "-b", bootstrap).exit_code == 14
    again = kl("group", "delete", g, "--yes", "-b", bootstrap)
    assert (again.exit_code, again.stderr) == (14, (
        f"Error: Could not delete group {g}: the consumer group does not exist at {bootstrap}.\n"
        "Hint: List the consumer groups with `kafkalab group list`.\n"
    ))


# --- item 4: records as JSON -------------------------------------------------------------------

def test_json_records_round_trip_keys_headers_tombstones_and_objects(bootstrap: str) -> None:
    source, copy = fresh("records"), fresh("records-copy")
    create(bootstrap, source, "-p", "2")
    create(bootstrap, copy, "-p", "2")
    stamp = (int(time.time()) - 60) * 1000
    records = [
        {"key": "user-1", "value": "plain text", "headers": {"source": "cli", "trace": "a=b"}, "partition": 0},
        {"key": "user-1", "value": None, "partition": 0},  # a tombstone
        {"key": "user-2", "value": {"total": 3, "items": ["a", "ü"]}, "partition": 1, "timestamp": stamp},
        {"key": None, "value": 42, "partition": 1, "timestamp": iso(stamp + 1000)},
        {"key": {"base64": "//4="}, "value": {"base64": "AAEC/w=="}, "headers": [["bin", {"base64": "/w=="}],
                                                                                ["bin", "again"]], "partition": 1},
        {"value": "keyless, partition by the producer", "partition": 0},
    ]
    lines = "".join(json.dumps(r) + "\n" for r in records) + "\n"  # a blank line is skipped
    sent = kl("produce", source, "--format", "json", "-H", "via=kafkalab", "-b", bootstrap, input=lines)
    assert (sent.exit_code, sent.stdout) == (0, ""), sent.stderr
    assert sent.stderr.startswith(f"Produced 6 messages to {source} in ")

    got = kl("consume", source, "--from-beginning", "--format", "json", "-b", bootstrap)
    assert got.exit_code == 0, got.stderr
    read = sorted((json.loads(line) for line in got.stdout.splitlines()), key=lambda r: (r["partition"], r["offset"]))
    for record in read:
        assert list(record) == ["topic", "partition", "offset", "timestamp", "key", "value", "headers"]
    via = ["via", "kafkalab"]
    assert [(r["partition"], r["offset"], r["key"], r["value"], r["headers"]) for r in read] == [
        (0, 0, "user-1", "plain text", [["source", "cli"], ["trace", "a=b"], via]),
        (0, 1, "user-1", None, [via]),
        (0, 2, None, "keyless, partition by the producer", [via]),
        # A value that is JSON goes as its text in the line, byte for byte (json.dumps: spaces, \u00fc).
        (1, 0, "user-2", '{"total": 3, "items": ["a", "\\u00fc"]}', [via]),
        (1, 1, None, "42", [via]),
        (1, 2, {"base64": "//4="}, {"base64": "AAEC/w=="}, [["bin", {"base64": "/w=="}], ["bin", "again"], via]),
    ]
    assert [r["timestamp"] for r in read if r["partition"] == 1][:2] == [stamp, stamp + 1000]

    # consume | produce copies the topic: partitions, timestamps, keys, headers and tombstones.
    consume = [sys.executable, "-m", "kafkalab", "consume", source, "--from-beginning", "--format", "json",
               "-b", bootstrap]
    produce = [sys.executable, "-m", "kafkalab", "produce", copy, "--format", "json", "-b", bootstrap]
    reader = subprocess.Popen(consume, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    writer = subprocess.run(produce, stdin=reader.stdout, capture_output=True, timeout=60, check=False)
    assert reader.wait(30) == 0
    assert writer.returncode == 0, writer.stderr
    copied = kl("consume", copy, "--from-beginning", "--format", "json", "-b", bootstrap)
    again = sorted((json.loads(line) for line in copied.stdout.splitlines()), key=lambda r: (r["partition"], r["offset"]))
    assert [{**r, "topic": source} for r in again] == read


def test_a_line_that_is_no_record_stops_the_input(bootstrap: str) -> None:
    name = fresh("bad-records")
    create(bootstrap, name)
    lines = '{"value": "one"}\n{"value": "two"}\n{"value": "three", "vaule": 1}\n{"value": "never"}\n'
    result = kl("produce", name, "--format", "json", "-b", bootstrap, input=lines)
    assert (result.exit_code, result.stdout) == (19, "")
    assert result.stderr.startswith(f"Produced 2 messages to {name} in ")
    assert result.stderr.endswith(
        "Error: Line 3 is not a record: it has a field 'vaule'; a record has key, value, headers, partition, "
        "timestamp.\n" + f"Hint: {InvalidRecord.hint}\n"
    )
    assert kl("consume", name, "--from-beginning", "-b", bootstrap).stdout == "one\ntwo\n"
    mixed = kl("produce", name, "--format", "json", "-K", ":", "-b", bootstrap, input="{}\n")
    assert mixed.exit_code == 2
    assert mixed.stderr.endswith("Error: --key-separator is for --format line: a JSON record has its own key.\n")
    # A timestamp of 0 would be sent as the time of sending; --skip-empty keeps the input's line numbers.
    zero = kl("produce", name, "--format", "json", "--skip-empty", "-b", bootstrap,
              input='{"value": "four"}\n\n{"value": "five", "timestamp": 0}\n')
    assert zero.exit_code == 19, zero.output
    assert 'Error: Line 3 is not a record: its "timestamp" 0 is not after 1970-01-01T00:00:00Z' in zero.stderr
    assert kl("consume", name, "--from-beginning", "-b", bootstrap).stdout == "one\ntwo\nfour\n"


# --- item 5: consuming from a time -----------------------------------------------------------------

def test_consume_from_a_time_with_and_without_a_group(shared_lab: Lab, bootstrap: str) -> None:
    name, g = fresh("since"), fresh("since")
    create(bootstrap, name, "-p", "2")
    now = int(time.time() * 1000)
    minutes = {0: [180, 120, 30, 5], 1: [90, 1]}  # how long ago each message was, per partition
    producer = shared_lab.producer()
    for p, ages in minutes.items():
        for age in ages:
            producer.produce(name, f"p{p}-{age}m".encode(), partition=p, timestamp=now - age * 60_000)
    assert producer.flush(10) == 0

    def since(*args: str) -> list[str]:
        result = kl("consume", name, *args, "-b", bootstrap)
        assert result.exit_code == 0, result.output
        return sorted(result.stdout.splitlines())

    assert since("--from-time", "1h") == ["p0-30m", "p0-5m", "p1-1m"]
    assert since("--from-time", "1h30s") == ["p0-30m", "p0-5m", "p1-1m"]
    assert since("--from-time", iso(now - 120 * 60_000)) == ["p0-120m", "p0-30m", "p0-5m", "p1-1m", "p1-90m"]
    assert since("--from-time", "1s") == [], "no message that late: each partition starts at its end"
    assert since("--from-time", "1d", "--partition", "1") == ["p1-1m", "p1-90m"]

    # With a group: its position starts at the time, and what it read is committed.
    assert since("--from-time", "1h", "--group", g) == ["p0-30m", "p0-5m", "p1-1m"]
    assert committed(bootstrap, g) == ([4, 2], 0)
    assert since("--group", g) == [], "the group goes on where it is"
    assert since("--from-time", "150m", "--group", g) == ["p0-120m", "p0-30m", "p0-5m", "p1-1m", "p1-90m"]
    assert committed(bootstrap, g) == ([4, 2], 0)

    usage = "Usage: kafkalab consume [OPTIONS] TOPIC\nTry 'kafkalab consume --help' for help.\n\n"
    both = kl("consume", name, "--from-time", "1h", "--from-beginning", "-b", bootstrap)
    assert (both.exit_code, both.stderr) == (2, usage + "Error: Give --from-beginning or --from-time, not both.\n")
    bad = kl("consume", name, "--from-time", "an hour ago", "-b", bootstrap)
    assert (bad.exit_code, bad.stderr) == (2, usage + (
        "Error: Invalid value for '--from-time': 'an hour ago' is not a time: give ISO 8601 (2024-05-01T12:00:00Z, "
        "2024-05-01; local time without an offset), or a duration back from now (30s, 10m, 2h, 1d, 1h30m).\n"
    ))


# --- item 6: a produce to a topic that does not exist ----------------------------------------------

def test_produce_creates_a_missing_topic_where_the_broker_auto_creates(bootstrap: str) -> None:
    name = fresh("first-use")
    sent = kl("produce", name, "-b", bootstrap, input="hello\nworld\n")
    assert (sent.exit_code, sent.stdout) == (0, "")
    assert sent.stderr.startswith(
        f"Topic {name} did not exist: the broker created it (auto.create.topics.enable), with 1 partition.\n"
        f"Produced 2 messages to {name} in "
    ), sent.stderr
    assert kl("consume", name, "--from-beginning", "-b", bootstrap).stdout == "hello\nworld\n"
    again = kl("produce", name, "-b", bootstrap, input="more\n")
    assert "did not exist" not in again.stderr
    # Reading a topic never creates it.
    missing = fresh("never")
    assert kl("consume", missing, "-b", bootstrap).exit_code == 12
    assert kl("topic", "describe", missing, "-b", bootstrap).exit_code == 12


def test_produce_to_a_missing_topic_where_the_broker_does_not_auto_create(bare: Bare) -> None:
    name = fresh("no-auto")
    refused = kl("produce", name, "-b", bare.plaintext, input="lost\n")
    assert (refused.exit_code, refused.stdout) == (12, "")
    assert refused.stderr == (
        f"Error: Topic {name} does not exist at {bare.plaintext}.\n"
        "Hint: List the topics with `kafkalab topic list`, or create it with `kafkalab topic create`.\n"
    )
    assert name not in kl("topic", "list", "-b", bare.plaintext).stdout
    create(bare.plaintext, name)
    assert kl("produce", name, "-b", bare.plaintext, input="kept\n").exit_code == 0
    assert kl("consume", name, "--from-beginning", "-b", bare.plaintext).stdout == "kept\n"


# --- items 1 and 2: client settings, contexts, a secured broker ------------------------------------

def _workflow(prefix: list[str], address: list[str], after: list[str]) -> None:
    """topic create, produce, consume with a group and group describe, with the given arguments
    before the command (--context), and -b and -X after it."""
    name, g = fresh("secure"), fresh("secure")

    def run(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
        return kl(*prefix, *args, *address, *after, input=input, env=env)

    made = run("topic", "create", name, "-p", "2")
    assert (made.exit_code, made.stderr) == (0, f"Created topic {name} (2 partitions, replication 1).\n"), made.output
    sent = run("produce", name, "-K", ":", input="k1:one\nk2:two\nk3:three\n")
    assert sent.exit_code == 0, sent.output
    got = run("consume", name, "--from-beginning", "--group", g, "--format", "kv", "-K", ":")
    assert got.exit_code == 0, got.output
    assert sorted(got.stdout.splitlines()) == ["k1:one", "k2:two", "k3:three"]
    described = run("group", "describe", g, "--json")
    assert described.exit_code == 0, described.output
    desc = json.loads(described.stdout)
    assert (desc["lag"], sum(p["committed"] for p in desc["partitions"])) == (0, 3)
    assert name in run("topic", "list").stdout


@pytest.mark.parametrize(("user", "mechanism"), [(ALICE, "PLAIN"), (BOB, "SCRAM-SHA-256")], ids=["PLAIN", "SCRAM"])
def test_a_secured_broker_through_X(bare: Bare, user: tuple[str, str], mechanism: str) -> None:
    _workflow([], ["-b", bare.sasl], sasl_settings(user, mechanism))


def test_a_secured_broker_through_a_context(
    bare: Bare, tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "kafkalab.toml").write_text(
        "[contexts.secure]\n"
        f'bootstrap_server = "{bare.sasl}"\n'
        "[contexts.secure.client]\n"
        '"security.protocol" = "SASL_PLAINTEXT"\n'
        '"sasl.mechanism" = "SCRAM-SHA-256"\n'
        f'"sasl.username" = "{BOB[0]}"\n'
        '"sasl.password" = "${DAILY_BOB_PASSWORD}"\n'
        "\n"
        "[contexts.plain]\n"
        f'bootstrap_server = "{bare.plaintext}"\n'
    )
    monkeypatch.chdir(tmp_path)
    for name in ("KAFKALAB_CONTEXT", "KAFKALAB_BOOTSTRAP_SERVER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DAILY_BOB_PASSWORD", BOB[1])
    _workflow(["--context", "secure"], [], [])
    monkeypatch.setenv("KAFKALAB_CONTEXT", "secure")
    _workflow([], [], [])
    # -X wins over the context's client table, and -b over its bootstrap_server.
    wrong = kl("topic", "list", "-X", "sasl.password=not-it")
    assert wrong.exit_code == 16, wrong.output
    assert kl("topic", "list", "-b", bare.plaintext, "-X", "security.protocol=PLAINTEXT").exit_code == 0
    assert kl("--context", "plain", "topic", "list").exit_code == 0
    monkeypatch.delenv("DAILY_BOB_PASSWORD")
    unset = kl("topic", "list")
    assert (unset.exit_code, unset.stderr) == (3, (
        f"Error: sasl.password of context secure in {tmp_path / 'kafkalab.toml'} reads the environment variable "
        "DAILY_BOB_PASSWORD, which is not set.\n"
        "Hint: Set DAILY_BOB_PASSWORD (export DAILY_BOB_PASSWORD=...), or give sasl.password with -X.\n"
    ))

    listed = kl("config", "--json")
    assert listed.exit_code == 0, listed.output
    data = json.loads(listed.stdout)
    assert data["context"] == {"value": "secure", "source": "env KAFKALAB_CONTEXT"}
    assert data["contexts"] == {
        "secure": {
            "bootstrap_server": bare.sasl,
            "client": {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "SCRAM-SHA-256",
                       "sasl.username": BOB[0], "sasl.password": "********"},
            "source": str(tmp_path / "kafkalab.toml"),
        },
        "plain": {"bootstrap_server": bare.plaintext, "client": {}, "source": str(tmp_path / "kafkalab.toml")},
    }
    assert BOB[1] not in kl("config").stdout


def _timed(*args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """`kafkalab ARGS` as its own process, and how long it took."""
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "kafkalab", *args], capture_output=True, text=True, timeout=60,
                          check=False)
    return done, time.monotonic() - started


def test_security_errors_are_quick_and_have_their_own_exit_codes(bare: Bare) -> None:
    wrong, seconds = _timed("topic", "list", "-b", bare.sasl, *sasl_settings((ALICE[0], "not-her-password")))
    assert (wrong.returncode, wrong.stdout) == (16, "")
    assert wrong.stderr == (
        f"Error: SASL authentication (PLAIN) failed at {bare.sasl}: Authentication failed: Invalid username or "
        "password.\n"
        "Hint: Check sasl.username and sasl.password (-X, or the context's client table; `kafkalab config` lists "
        "the contexts).\n"
    )
    assert seconds < 10, seconds
    print(f"wrong password: {seconds:.2f} s")

    scram, seconds = _timed("topic", "list", "-b", bare.sasl, *sasl_settings((BOB[0], "nope"), "SCRAM-SHA-256"))
    assert scram.returncode == 16
    assert scram.stderr.startswith(f"Error: SASL authentication (SCRAM-SHA-256) failed at {bare.sasl}: Authentication "
                                   "failed during authentication due to invalid credentials with SASL mechanism "
                                   "SCRAM-SHA-256.\n")
    assert seconds < 10, seconds
    print(f"wrong SCRAM password: {seconds:.2f} s")

    mechanism, seconds = _timed("topic", "list", "-b", bare.sasl, *sasl_settings(BOB, "SCRAM-SHA-512"))
    assert (mechanism.returncode, mechanism.stderr) == (16, (
        f"Error: SASL authentication (SCRAM-SHA-512) failed at {bare.sasl}: the broker does not enable "
        "SCRAM-SHA-512; it enables PLAIN, SCRAM-SHA-256.\n"
        "Hint: Set sasl.mechanism to one of those, such as -X sasl.mechanism=PLAIN.\n"
    ))
    assert seconds < 10, seconds
    print(f"mechanism not enabled: {seconds:.2f} s")

    tls, seconds = _timed("topic", "list", "-b", bare.plaintext, "-X", "security.protocol=SSL")
    assert (tls.returncode, tls.stderr) == (17, (
        f"Error: TLS handshake failed at {bare.plaintext}: the broker closed the connection, as a PLAINTEXT "
        "listener does when spoken TLS to (security.protocol=SSL).\n"
        "Hint: Use the cluster's TLS port, or drop TLS there: -X security.protocol=PLAINTEXT (or SASL_PLAINTEXT).\n"
    ))
    assert seconds < 10, seconds
    print(f"TLS to a PLAINTEXT port: {seconds:.2f} s")

    no_sasl, _ = _timed("topic", "list", "-b", bare.plaintext, *sasl_settings(ALICE))
    assert no_sasl.returncode == 16
    assert "this listener does not take SASL" in no_sasl.stderr


@pytest.mark.parametrize("args", [
    ["topic", "create", "t"], ["topic", "list"], ["topic", "describe", "t"], ["topic", "delete", "t", "--yes"],
    ["produce", "t"], ["consume", "t"], ["consume", "t", "--group", "g", "--follow"], ["group", "list"],
    ["group", "describe", "g"], ["group", "reset-offsets", "g", "--topic", "t", "--to-latest"],
    ["group", "delete", "g", "--yes"],
], ids=lambda a: " ".join(a[:2]))
def test_every_kafka_command_says_a_login_failed(bare: Bare, args: list[str]) -> None:
    started = time.monotonic()
    result = kl(*args, "-b", bare.sasl, *sasl_settings((ALICE[0], "wrong")), input="v\n")
    assert (result.exit_code, result.stdout) == (16, ""), result.output
    assert result.stderr.startswith(f"Error: SASL authentication (PLAIN) failed at {bare.sasl}: ")
    assert time.monotonic() - started < 10


# --- item 7: shell completion ----------------------------------------------------------------------

def tab(words: str) -> tuple[list[str], float]:
    """What bash completion offers for `words` (the last one being completed), and how long it took."""
    parts = words.split(" ")
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "kafkalab"], capture_output=True, text=True, timeout=30, check=False,
        env={**os.environ, "COMP_WORDS": words, "COMP_CWORD": str(len(parts) - 1),
             "_KAFKALAB_COMPLETE": "bash_complete"},
    )
    seconds = time.monotonic() - started
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    return [line.removeprefix("plain,") for line in done.stdout.splitlines() if line], seconds


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_the_shells_script(shell: str) -> None:
    result = kl("completion", shell)
    assert result.exit_code == 0
    assert "_KAFKALAB_COMPLETE" in result.stdout
    assert f"{shell}_complete" in result.stdout


def test_completion_of_topics_and_groups_that_exist(shared_lab: Lab, bootstrap: str) -> None:
    name, g = fresh("tabbed"), fresh("tabbed")
    create(bootstrap, name)
    assert kl("consume", name, "--group", g, "-b", bootstrap).exit_code == 0
    prefix = name[:-3]
    for words in (f"kafkalab topic describe -b {bootstrap} {prefix}", f"kafkalab produce -b {bootstrap} {prefix}",
                  f"kafkalab --port {shared_lab.settings.port} consume {prefix}",
                  f"kafkalab group reset-offsets x -b {bootstrap} --topic {prefix}"):
        offered, seconds = tab(words)
        assert offered == [name], words
        assert seconds < 1, (words, seconds)
        print(f"{words}: {seconds:.2f} s")
    offered, seconds = tab(f"kafkalab group describe -b {bootstrap} {g[:-2]}")
    assert (offered, seconds < 1) == ([g], True), seconds
    offered, _ = tab(f"kafkalab consume {name} -b {bootstrap} --group {g[:-2]}")
    assert offered == [g]
    assert "__consumer_offsets" in tab(f"kafkalab topic describe -b {bootstrap} __")[0]
    assert "__consumer_offsets" not in tab(f"kafkalab topic describe -b {bootstrap} ")[0]


def test_completion_never_hangs_when_no_broker_answers() -> None:
    import socket

    with socket.socket() as silent, socket.socket() as closed:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # takes connections and never answers: a broker that hangs
        closed.bind(("127.0.0.1", 0))  # refuses them
        for sock in (silent, closed):
            offered, seconds = tab(f"kafkalab topic describe -b 127.0.0.1:{sock.getsockname()[1]} ")
            assert (offered, seconds < 1) == ([], True), seconds
            print(f"no broker ({'silent' if sock is silent else 'refused'}): {seconds:.2f} s")
        offered, seconds = tab(f"kafkalab group delete -b 127.0.0.1:{silent.getsockname()[1]} ")
        assert (offered, seconds < 1) == ([], True), seconds
    assert tab("kafkalab topic describe -b not:an:address ")[0] == []


def test_completion_of_services_modes_and_shells() -> None:
    assert tab("kafkalab logs kafka")[0] == ["kafka", "kafka-2", "kafka-3", "kafka-ui"]
    assert tab("kafkalab up --mode ")[0] == ["kraft", "zookeeper", "cluster"]
    assert tab("kafkalab completion ")[0] == ["bash", "zsh", "fish"]
    assert "reset-offsets" in tab("kafkalab group ")[0]


# --- item 8: messages over 1 MB --------------------------------------------------------------------

def test_a_message_over_1_mb_goes_to_a_topic_that_allows_it(bootstrap: str) -> None:
    name = fresh("large")
    create(bootstrap, name, "--config", "max.message.bytes=3000000")
    big = b"x" * 2_000_000
    sent = kl("produce", name, "-b", bootstrap, input=b"small\n" + big + b"\n")
    assert (sent.exit_code, sent.stdout) == (0, ""), sent.stderr
    assert sent.stderr.startswith(f"Produced 2 messages to {name} in ")
    got = kl("consume", name, "--from-beginning", "-b", bootstrap)
    assert got.stdout_bytes == b"small\n" + big + b"\n"
    # The client's limit follows the topic's; -X message.max.bytes sets it by hand.
    capped = kl("produce", name, "-b", bootstrap, "-X", "message.max.bytes=1000000", input=big + b"\n")
    assert capped.exit_code == 13
    assert ("1 of 1 message failed:\n  Message size too large: the largest message refused before sending was "
            "2,000,000 bytes (key and value); the producer sends at most 1,000,000 bytes (message.max.bytes) (1)\n"
            ) in capped.stderr
    # Over the topic's own limit: the client refuses it before sending, as it always did.
    over = kl("produce", name, "-b", bootstrap, input=b"y" * 3_100_000 + b"\n")
    assert over.exit_code == 13
    assert ("  Message size too large: the largest message refused before sending was 3,100,000 bytes (key and "
            "value); the producer sends at most 3,000,000 bytes (message.max.bytes) (1)\n") in over.stderr
    records = json.loads(kl("topic", "describe", name, "--json", "-b", bootstrap).stdout)["partitions"]
    assert records[0]["end_offset"] == 2
