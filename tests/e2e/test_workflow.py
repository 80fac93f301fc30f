"""The Kafka workflow end to end on the real test bed: topics, produce, consume, consumer groups.

Every command runs against the session's shared lab, plus a second lab reached only through
--bootstrap-server. kcat (a real, independent Kafka client) checks that what kafkalab writes and
reads is byte for byte what any other client sees.
"""

from __future__ import annotations

import base64
import json
import random
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from kafka_cli import create, describe, fresh, group, incompressible, kl, poll

from kafkalab import Lab

pytestmark = pytest.mark.e2e

KCAT = shutil.which("kcat") or "/usr/bin/kcat"
SECONDS = r"\d+\.\d\d"
TOPIC_HINT = "Hint: List the topics with `kafkalab topic list`, or create it with `kafkalab topic create`.\n"
UNREACHABLE_HINT = (
    "Hint: Start the lab with `kafkalab up`, or point at a running cluster with --bootstrap-server.\n"
)
# When the address came from -b (or KAFKALAB_BOOTSTRAP_SERVER), starting the lab would not help.
ELSEWHERE_HINT = (
    "Hint: Check the address, and that a Kafka broker runs there; `kafkalab config` shows where it came from.\n"
)




def kl_process(*args: str, input: bytes | None = None, timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
    """`kafkalab ARGS` as its own process, with real stdin and stdout pipes."""
    return subprocess.run(
        [sys.executable, "-m", "kafkalab", *args], input=input, capture_output=True, timeout=timeout, check=False,
    )












def produced(topic: str, count: int) -> str:
    return rf"Produced {count:,} messages? to {re.escape(topic)} in {SECONDS} s \([\d,]+ msg/s\)\.\n"


def consumed(topic: str, count: int, tail: str = "") -> str:
    return rf"Consumed {count:,} messages? from {re.escape(topic)} in {SECONDS} s\.{re.escape(tail)}\n"


def from_json(field: Any) -> bytes | None:
    """Undo `--format json`'s encoding of bytes: text, {"base64": ...} or null."""
    if field is None:
        return None
    if isinstance(field, dict):
        return base64.b64decode(field["base64"])
    return str(field).encode()


@pytest.fixture(scope="module")
def bootstrap(shared_lab: Lab) -> str:
    return str(shared_lab.bootstrap_servers)


# --- topics ------------------------------------------------------------------------------------

def test_topic_create_list_describe_delete(bootstrap: str) -> None:
    name = fresh("orders")
    result = kl("topic", "create", name, "-p", "3", "--config", "retention.ms=3600000",
                "--config", "cleanup.policy=compact", "-b", bootstrap)
    assert (result.exit_code, result.stdout, result.stderr) == (
        0, "", f"Created topic {name} (3 partitions, replication 1).\n",
    )
    again = kl("topic", "create", name, "-b", bootstrap)
    assert (again.exit_code, again.stdout) == (13, "")
    assert again.stderr == (
        f"Error: Could not create topic {name}: Topic '{name}' already exists.\n"
        "Hint: Pass --if-not-exists to accept an existing topic.\n"
    )
    tolerated = kl("topic", "create", name, "--if-not-exists", "-b", bootstrap)
    assert (tolerated.exit_code, tolerated.stderr) == (0, f"Topic {name} exists already.\n")

    assert describe(bootstrap, name) == {
        "name": name,
        "partitions": [
            {"partition": p, "leader": 1, "offline": False, "replicas": [1], "isr": [1], "start_offset": 0, "end_offset": 0}
            for p in range(3)
        ],
        "configs": {"cleanup.policy": "compact", "retention.ms": "3600000"},
    }
    human = kl("topic", "describe", name, "-b", bootstrap)
    assert human.exit_code == 0
    assert human.stdout == (
        f"Topic {name}: 3 partitions, 0 messages\n"
        "┏━━━━━━━━━━━┳━━━━━━━━┳━━━━━━━━━━┳━━━━━┳━━━━━━━━━━━━━━┳━━━━━━━━━━━━┓\n"
        "┃ partition ┃ leader ┃ replicas ┃ isr ┃ start offset ┃ end offset ┃\n"
        "┡━━━━━━━━━━━╇━━━━━━━━╇━━━━━━━━━━╇━━━━━╇━━━━━━━━━━━━━━╇━━━━━━━━━━━━┩\n"
        "│ 0         │ 1      │ 1        │ 1   │ 0            │ 0          │\n"
        "│ 1         │ 1      │ 1        │ 1   │ 0            │ 0          │\n"
        "│ 2         │ 1      │ 1        │ 1   │ 0            │ 0          │\n"
        "└───────────┴────────┴──────────┴─────┴──────────────┴────────────┘\n"
        "┏━━━━━━━━━━━━━━━━┳━━━━━━━━━┓\n"
        "┃ config         ┃ value   ┃\n"
        "┡━━━━━━━━━━━━━━━━╇━━━━━━━━━┩\n"
        "│ cleanup.policy │ compact │\n"
        "│ retention.ms   │ 3600000 │\n"
        "└────────────────┴─────────┘\n"
    )

    # Joining a group makes the broker create its internal __consumer_offsets topic.
    assert kl("consume", name, "--group", fresh("g"), "-b", bootstrap).exit_code == 0

    def listed(*flags: str) -> list[dict[str, Any]]:
        result = kl("topic", "list", "--json", *flags, "-b", bootstrap)
        assert result.exit_code == 0, result.output
        return list(json.loads(result.stdout))

    users = listed()
    assert {"name": name, "partitions": 3, "replication": 1, "internal": False} in users
    assert [t["name"] for t in users] == sorted(t["name"] for t in users)
    assert not any(t["name"].startswith("__") or t["internal"] for t in users)
    everything = listed("--all")
    assert {"name": "__consumer_offsets", "partitions": 50, "replication": 1, "internal": True} in everything
    assert [t for t in everything if not t["internal"]] == users

    deleted = kl("topic", "delete", name, "--yes", "-b", bootstrap)
    assert (deleted.exit_code, deleted.stdout, deleted.stderr) == (0, "", f"Deleted topic {name}.\n")
    gone = kl("topic", "describe", name, "-b", bootstrap)
    assert (gone.exit_code, gone.stdout) == (12, "")
    assert gone.stderr == f"Error: Topic {name} does not exist at {bootstrap}.\n" + TOPIC_HINT


def test_topic_delete_asks_on_a_terminal(
    bootstrap: str, on_a_terminal: Callable[..., tuple[int, bytes]],
) -> None:
    name = fresh("precious")
    create(bootstrap, name)
    code, seen = on_a_terminal(["topic", "delete", name, "-b", bootstrap], b"n\n")
    assert f"Delete topic {name} and its messages? [y/N]".encode() in seen
    assert code == 15
    assert f"Error: Topic {name} was not deleted.".encode() in seen
    assert describe(bootstrap, name)["name"] == name
    code, seen = on_a_terminal(["topic", "delete", name, "-b", bootstrap], b"y\n")
    assert code == 0
    assert f"Deleted topic {name}.".encode() in seen
    assert kl("topic", "describe", name, "-b", bootstrap).exit_code == 12


def test_bad_topic_configs(bootstrap: str) -> None:
    name = fresh("bad")
    unknown = kl("topic", "create", name, "--config", "no.such.config=1", "-b", bootstrap)
    assert (unknown.exit_code, unknown.stdout) == (13, "")
    assert unknown.stderr == (
        f"Error: Could not create topic {name}: Unknown topic config name: no.such.config.\n"
        "Hint: Use key=value pairs of topic configs: https://kafka.apache.org/documentation/#topicconfigs\n"
    )
    wrong = kl("topic", "create", name, "--config", "retention.ms=soon", "-b", bootstrap)
    assert wrong.exit_code == 13
    assert wrong.stderr.startswith(f"Error: Could not create topic {name}: Invalid value soon for configuration ")
    assert wrong.stderr.count("\n") == 2
    malformed = kl("topic", "create", name, "--config", "retention.ms", "-b", bootstrap)
    assert malformed.exit_code == 2
    assert malformed.stderr.endswith("Error: Invalid value for '--config': 'retention.ms' is not KEY=VALUE.\n")
    too_many = kl("topic", "create", name, "-r", "3", "-b", bootstrap)
    assert too_many.exit_code == 13
    assert too_many.stderr.endswith(
        "\nHint: The replication factor cannot exceed the number of brokers.\n"
    )
    assert kl("topic", "describe", name, "-b", bootstrap).exit_code == 12, "nothing was created"


# --- produce and consume -----------------------------------------------------------------------

def test_produce_and_consume_in_each_format(bootstrap: str, tmp_path: Path) -> None:
    name = fresh("formats")
    create(bootstrap, name)
    lines = "k1:hello\nk2:grüße\nno key\n:empty key\n".encode() + b"k3:\xff\xfebinary\n"
    result = kl("produce", name, "-K", ":", "-H", "source=test", "-H", "trace=a=b", "-b", bootstrap, input=lines)
    assert (result.exit_code, result.stdout) == (0, "")
    assert re.fullmatch(produced(name, 5), result.stderr), result.stderr

    values = kl("consume", name, "--from-beginning", "-b", bootstrap)
    assert values.exit_code == 0
    assert values.stdout_bytes == "hello\ngrüße\nno key\nempty key\n".encode() + b"\xff\xfebinary\n"
    assert re.fullmatch(consumed(name, 5), values.stderr), values.stderr

    kv = kl("consume", name, "--from-beginning", "--format", "kv", "-K", "=", "-b", bootstrap)
    assert kv.stdout_bytes == "k1=hello\nk2=grüße\n=no key\n=empty key\n".encode() + b"k3=\xff\xfebinary\n"
    tabs = kl("consume", name, "--from-beginning", "--format", "kv", "-n", "1", "-b", bootstrap)
    assert tabs.stdout == "k1\thello\n"

    as_json = kl("consume", name, "--from-beginning", "--format", "json", "-b", bootstrap)
    assert as_json.exit_code == 0
    records = [json.loads(line) for line in as_json.stdout.splitlines()]
    now_ms = time.time() * 1000
    for record in records:
        assert list(record) == ["topic", "partition", "offset", "timestamp", "key", "value", "headers"]
        assert now_ms - 120_000 < record.pop("timestamp") <= now_ms + 1000
    headers = [["source", "test"], ["trace", "a=b"]]
    assert records == [
        {"topic": name, "partition": 0, "offset": 0, "key": "k1", "value": "hello", "headers": headers},
        {"topic": name, "partition": 0, "offset": 1, "key": "k2", "value": "grüße", "headers": headers},
        {"topic": name, "partition": 0, "offset": 2, "key": None, "value": "no key", "headers": headers},
        {"topic": name, "partition": 0, "offset": 3, "key": "", "value": "empty key", "headers": headers},
        {"topic": name, "partition": 0, "offset": 4, "key": "k3",
         "value": {"base64": base64.b64encode(b"\xff\xfebinary").decode()}, "headers": headers},
    ]

    first = kl("consume", name, "--from-beginning", "-n", "2", "-b", bootstrap)
    assert (first.exit_code, first.stdout) == (0, "hello\ngrüße\n")
    assert re.fullmatch(consumed(name, 2), first.stderr)
    nothing_new = kl("consume", name, "-b", bootstrap)  # without --from-beginning: only new messages
    assert (nothing_new.exit_code, nothing_new.stdout) == (0, "")
    assert re.fullmatch(consumed(name, 0), nothing_new.stderr)

    path = tmp_path / "more.txt"
    path.write_bytes(b"from a file\nlast line without a newline")
    from_file = kl("produce", name, "--file", str(path), "-b", bootstrap)
    assert re.fullmatch(produced(name, 2), from_file.stderr), from_file.stderr
    tail = kl("consume", name, "--partition", "0", "--offset", "-2", "-b", bootstrap)
    assert tail.stdout == "from a file\nlast line without a newline\n"


def test_produce_reports_failures_and_exits_non_zero(bootstrap: str) -> None:
    name = fresh("small")
    create(bootstrap, name, "--config", "max.message.bytes=200")
    result = kl("produce", name, "-b", bootstrap, input=b"".join(incompressible(500, i) + b"\n" for i in range(3)))
    assert (result.exit_code, result.stdout) == (13, "")
    assert re.fullmatch(
        rf"Produced 0 messages to {name} in {SECONDS} s \(0 msg/s\)\.\n"
        r"3 of 3 messages failed:\n"
        r"  Broker: Message size too large: the largest message the broker refused was 500 bytes \(key and value\); "
        rf"topic {name} takes record batches of at most 200 bytes \(max\.message\.bytes\) \(3\)\n"
        rf"Error: 3 of 3 messages were not delivered to {name}\.\n"
        rf"Hint: The errors above say why; `kafkalab topic describe {name}` shows its configs\.\n",
        result.stderr,
    ), result.stderr
    assert [p["end_offset"] for p in describe(bootstrap, name)["partitions"]] == [0]

    # A line over the client's message.max.bytes (1 MB) is refused before sending; the others go.
    roomy = fresh("roomy")
    create(bootstrap, roomy)
    mixed = kl("produce", roomy, "-b", bootstrap, input=b"before\n" + b"x" * 1_100_000 + b"\nafter\n")
    assert (mixed.exit_code, mixed.stdout) == (13, "")
    assert re.fullmatch(
        rf"Produced 2 messages to {roomy} in {SECONDS} s \([\d,]+ msg/s\)\.\n"
        r"1 of 3 messages failed:\n"
        r"  Message size too large: the largest message refused before sending was 1,100,000 bytes \(key and "
        r"value\); the producer sends at most 1,048,588 bytes \(message\.max\.bytes\) \(1\)\n"
        rf"Error: 1 of 3 messages were not delivered to {roomy}\.\n"
        r"Hint: .*\n",
        mixed.stderr,
    ), mixed.stderr
    assert kl("consume", roomy, "--from-beginning", "-b", bootstrap).stdout == "before\nafter\n"


def test_partitions_offsets_and_acks(bootstrap: str) -> None:
    name = fresh("parts")
    create(bootstrap, name, "-p", "3")
    to_two = kl("produce", name, "--partition", "2", "--acks", "1", "-b", bootstrap, input="a\nb\nc\nd\n")
    assert to_two.exit_code == 0, to_two.output
    to_zero = kl("produce", name, "--partition", "0", "--acks", "0", "-b", bootstrap, input="x\ny\nz\n")
    assert to_zero.exit_code == 0, to_zero.output
    assert [p["end_offset"] for p in describe(bootstrap, name)["partitions"]] == [3, 0, 4]

    def read(*args: str) -> Result:
        return kl("consume", name, *args, "-b", bootstrap)

    assert read("--partition", "2", "--from-beginning").stdout == "a\nb\nc\nd\n"
    assert read("--partition", "2", "--offset", "1").stdout == "b\nc\nd\n"
    assert read("--partition", "2", "--offset", "-1").stdout == "d\n"
    assert read("--partition", "0", "--offset", "0", "-n", "2").stdout == "x\ny\n"
    empty = read("--partition", "1", "--from-beginning")
    assert (empty.exit_code, empty.stdout) == (0, "")

    hint_partition = f"Hint: Partitions are numbered from 0; `kafkalab topic describe {name}` lists them.\n"
    for bad in (read("--partition", "3"), kl("produce", name, "--partition", "3", "-b", bootstrap, input="v\n")):
        assert (bad.exit_code, bad.stdout) == (13, "")
        assert bad.stderr == f"Error: Topic {name} has no partition 3: it has partitions 0 to 2.\n" + hint_partition
    past_end = read("--partition", "2", "--offset", "9")
    assert (past_end.exit_code, past_end.stderr) == (13, (
        f"Error: Offset 9 is out of range for {name} partition 2: offsets 0 to 3 are stored.\n"
        "Hint: Give an offset from 0 to 4, or from -4 to -1 to count back from the end.\n"
    ))
    before_start = read("--partition", "2", "--offset", "-5")
    assert before_start.exit_code == 13
    assert before_start.stderr.startswith(f"Error: Offset -5 is out of range for {name} partition 2")
    for args, message in [
        (["--offset", "1"], "--offset needs --partition."),
        (["--partition", "0", "--offset", "1", "--from-beginning"], "Give --offset or --from-beginning, not both."),
        (["--partition", "0", "--group", "g"], "--partition reads without a group: drop --group, or --partition."),
    ]:
        usage = read(*args)
        assert usage.exit_code == 2
        assert usage.stderr == (
            "Usage: kafkalab consume [OPTIONS] TOPIC\nTry 'kafkalab consume --help' for help.\n\n"
            f"Error: {message}\n"
        )


def test_missing_topic_is_one_error_with_a_hint(bootstrap: str) -> None:
    missing = fresh("missing")
    # (produce follows the broker's auto.create.topics.enable: tests/e2e/test_daily.py)
    for args in (
        ["topic", "describe", missing], ["topic", "delete", missing, "--yes"],
        ["consume", missing], ["consume", missing, "--group", "g", "--follow"],
    ):
        result = kl(*args, "-b", bootstrap, input="never sent\n")
        assert (result.exit_code, result.stdout) == (12, ""), args
        assert result.stderr == f"Error: Topic {missing} does not exist at {bootstrap}.\n" + TOPIC_HINT, args
    assert missing not in kl("topic", "list", "-b", bootstrap).stdout, "asking about a topic must not create it"


@pytest.mark.parametrize("args", [
    ["topic", "create", "t"], ["topic", "list"], ["topic", "describe", "t"], ["topic", "delete", "t", "--yes"],
    ["produce", "t"], ["consume", "t"], ["group", "list"], ["group", "describe", "g"],
], ids=lambda a: " ".join(a[:2]))
@pytest.mark.parametrize("given", [True, False], ids=["-b", "the lab"])
def test_unreachable_broker_is_one_error_with_a_hint(args: list[str], given: bool) -> None:
    with socket.socket() as sock:  # bound but not listening: connections are refused
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
        address = f"127.0.0.1:{port}" if given else f"localhost:{port}"
        started = time.monotonic()
        result = kl(*args, "-b", address, input="v\n") if given else kl("--port", port, *args, input="v\n")
    assert (result.exit_code, result.stdout) == (11, "")
    hint = ELSEWHERE_HINT if given else UNREACHABLE_HINT
    assert result.stderr == f"Error: No Kafka broker answered at {address}: connection refused.\n" + hint
    assert time.monotonic() - started < 2


# --- consumer groups ---------------------------------------------------------------------------

def test_group_consumes_in_steps_and_reports_lag(bootstrap: str) -> None:
    name, g = fresh("steps"), fresh("billing")
    create(bootstrap, name)
    assert kl("produce", name, "-b", bootstrap, input="".join(f"m{i}\n" for i in range(10))).exit_code == 0

    first = kl("consume", name, "--group", g, "--from-beginning", "-n", "3", "-b", bootstrap)
    assert (first.exit_code, first.stdout) == (0, "m0\nm1\nm2\n")
    assert re.fullmatch(consumed(name, 3, f" Committed the offsets of group {g}."), first.stderr), first.stderr
    assert group(bootstrap, g) == {
        "group": g, "state": "empty", "type": "classic", "coordinator": 1, "assignor": "", "lag": 7, "members": [],
        "partitions": [{"topic": name, "partition": 0, "committed": 3, "end": 10, "lag": 7, "member_id": None}],
    }
    human = kl("group", "describe", g, "-b", bootstrap)
    assert human.stdout == (
        f"Group {g}: empty (classic), 0 members, lag 7\n"
        "┏━━━━━━━━━━━━━━━━┳━━━━━━━━━━━┳━━━━━━━━━━━┳━━━━━━━━━━━━┳━━━━━┳━━━━━━━━┓\n"
        "┃ topic          ┃ partition ┃ committed ┃ end offset ┃ lag ┃ member ┃\n"
        "┡━━━━━━━━━━━━━━━━╇━━━━━━━━━━━╇━━━━━━━━━━━╇━━━━━━━━━━━━╇━━━━━╇━━━━━━━━┩\n"
        f"│ {name} │ 0         │ 3         │ 10         │ 7   │ -      │\n"
        "└────────────────┴───────────┴───────────┴────────────┴─────┴────────┘\n"
    )

    rest = kl("consume", name, "--group", g, "-b", bootstrap)  # where the group left off
    assert (rest.exit_code, rest.stdout) == (0, "".join(f"m{i}\n" for i in range(3, 10)))
    assert group(bootstrap, g)["lag"] == 0
    again = kl("consume", name, "--group", g, "-b", bootstrap)
    assert (again.exit_code, again.stdout) == (0, "")
    assert re.fullmatch(consumed(name, 0), again.stderr), again.stderr

    listed = kl("group", "list", "--json", "-b", bootstrap)
    assert {"group": g, "state": "empty", "type": "classic"} in json.loads(listed.stdout)
    missing = kl("group", "describe", "no-such-group", "-b", bootstrap)
    assert (missing.exit_code, missing.stdout) == (14, "")
    assert missing.stderr == (
        f"Error: There is no consumer group no-such-group at {bootstrap}.\n"
        "Hint: List the consumer groups with `kafkalab group list`.\n"
    )


class _Lines:
    """Collects a process's stdout lines in a thread, so that a test can wait for them with a deadline."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.lines: list[bytes] = []
        assert process.stdout is not None
        stdout = process.stdout
        self.thread = threading.Thread(target=lambda: self.lines.extend(iter(stdout.readline, b"")), daemon=True)
        self.thread.start()


def test_follow_with_a_group_and_ctrl_c_commits(bootstrap: str) -> None:
    name, g = fresh("live"), fresh("live")
    create(bootstrap, name, "-p", "2")
    assert kl("produce", name, "-K", ":", "-b", bootstrap, input="".join(f"k{i}:a{i}\n" for i in range(6))).exit_code == 0
    follower = subprocess.Popen(
        [sys.executable, "-m", "kafkalab", "consume", name, "--group", g, "--from-beginning", "--follow",
         "-b", bootstrap], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        out = _Lines(follower)
        poll(lambda: len(out.lines) == 6, 30, "the first 6 messages")
        live = group(bootstrap, g)
        assert (live["state"], live["lag"], len(live["members"])) == ("stable", 0, 1)
        member = live["members"][0]
        assert member["assignment"] == [{"topic": name, "partition": 0}, {"topic": name, "partition": 1}]
        assert [p["member_id"] for p in live["partitions"]] == [member["member_id"]] * 2

        more = kl("produce", name, "-K", ":", "-b", bootstrap, input="".join(f"k{i}:b{i}\n" for i in range(4)))
        assert more.exit_code == 0
        poll(lambda: len(out.lines) == 10, 30, "the 4 new messages")
        follower.send_signal(signal.SIGINT)
        assert follower.wait(20) == 130
    finally:
        follower.kill()
        follower.wait()
    out.thread.join(5)
    assert sorted(out.lines) == sorted([f"a{i}\n".encode() for i in range(6)] + [f"b{i}\n".encode() for i in range(4)])
    assert follower.stderr is not None
    assert re.fullmatch(
        consumed(name, 10, f" Interrupted. Committed the offsets of group {g}."), follower.stderr.read().decode(),
    )
    after = group(bootstrap, g)
    assert (after["lag"], after["members"]) == (0, [])
    assert sum(p["committed"] for p in after["partitions"]) == 10


def test_a_group_read_into_head_commits_only_what_head_could_get(bootstrap: str) -> None:
    name, g = fresh("head"), fresh("head")
    create(bootstrap, name)
    total, size = 20_000, 40
    # 40-byte lines: a batch (at most 1,000 messages, 40 KB) fits whole in the pipe (64 KiB) while
    # head reads its first 5 lines, so the batch with the 5th line is written and committed; the
    # 800 KB of all the lines cannot be, once head has left.
    lines = [f"line {i:06d} ".encode().ljust(size - 1, b"x") + b"\n" for i in range(total)]
    sent = kl_process("produce", name, "-b", bootstrap, input=b"".join(lines))
    assert sent.returncode == 0, sent.stderr
    consume = f"{shlex.quote(sys.executable)} -m kafkalab consume {name} -g {g} --from-beginning -b {bootstrap}"
    piped = subprocess.run(
        ["bash", "-o", "pipefail", "-c", f"{consume} | head -5"], capture_output=True, timeout=120, check=False,
    )
    assert (piped.returncode, piped.stderr) == (0, b""), "kafkalab ends quietly when head leaves"
    assert piped.stdout == b"".join(lines[:5])
    committed = group(bootstrap, g)["partitions"][0]["committed"]
    assert 5 <= committed < total
    # Committed were only lines that reached the pipe: at most its 64 KiB and what head read (one
    # read of up to 128 KiB in coreutils). Measured: 1,001 or 2,001.
    assert committed * size <= 65_536 + 131_072


def test_follow_stops_after_the_timeout(bootstrap: str) -> None:
    name = fresh("quiet")
    create(bootstrap, name)
    assert kl("produce", name, "-b", bootstrap, input="old\n").exit_code == 0
    started = time.monotonic()
    result = kl("consume", name, "--follow", "--timeout", "1", "-b", bootstrap)
    assert 1 <= time.monotonic() - started < 5
    assert (result.exit_code, result.stdout) == (0, "")
    assert re.fullmatch(consumed(name, 0, " No message came for the timeout: stopped."), result.stderr)


# --- interop with kcat -------------------------------------------------------------------------

HEADERS = [("source", b"interop"), ("bin", b"\xff\xfe\x01")]


def _messages(count: int) -> list[tuple[bytes, bytes]]:
    """Keyed messages whose values hold any byte but the line and key separators, some not UTF-8."""
    rng = random.Random(1234)
    messages = []
    for i in range(count):
        noise = bytes(b for b in rng.randbytes(rng.randrange(0, 40)) if b not in b"\n|")
        # A \r before the newline is part of the line's end (CRLF) for `kafkalab produce`: not of a value.
        noise = noise.rstrip(b"\r")
        value = b"" if i % 1000 == 999 else f"value {i} ü ".encode() + noise
        messages.append((f"key-{i % 53}".encode(), value))
    return messages


def _by_partition(rows: list[tuple[int, int, bytes | None, bytes | None, list[tuple[str, bytes | None]]]]) -> Any:
    """(partition, offset, key, value, headers) rows as {partition: [(key, value, headers)]}, after checking
    that each partition's offsets are in order and that each key stayed in one partition."""
    found: dict[int, list[tuple[bytes | None, bytes | None, list[tuple[str, bytes | None]]]]] = defaultdict(list)
    offsets: dict[int, list[int]] = defaultdict(list)
    for partition, offset, key, value, headers in rows:
        found[partition].append((key, value, headers))
        offsets[partition].append(offset)
    for partition, seen in offsets.items():
        assert seen == sorted(seen), f"partition {partition} out of order"
    return found


def _expected(messages: list[tuple[bytes, bytes]], found: Any) -> Any:
    home = {}
    for partition, rows in found.items():
        for key, _value, _headers in rows:
            assert home.setdefault(key, partition) == partition, f"key {key!r} in two partitions"
    expected: dict[int, list[Any]] = defaultdict(list)
    for key, value in messages:
        expected[home[key]].append((key, value, HEADERS))
    return expected


def test_kcat_produces_and_kafkalab_consumes_byte_identical(bootstrap: str) -> None:
    name = fresh("from-kcat")
    create(bootstrap, name, "-p", "3")
    messages = _messages(10_000)
    subprocess.run(
        [KCAT, "-b", bootstrap, "-X", "broker.address.family=v4", "-P", "-t", name, "-K", "|",
         *[arg for k, v in HEADERS for arg in (b"-H", k.encode() + b"=" + v)]],
        input=b"".join(k + b"|" + v + b"\n" for k, v in messages), check=True, timeout=60, capture_output=True,
    )
    result = kl("consume", name, "--from-beginning", "--format", "json", "-b", bootstrap)
    assert result.exit_code == 0, result.stderr
    assert re.fullmatch(consumed(name, 10_000), result.stderr), result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    found = _by_partition([
        (r["partition"], r["offset"], from_json(r["key"]), from_json(r["value"]),
         [(k, from_json(v)) for k, v in r["headers"]])
        for r in records
    ])
    assert len(found) == 3
    assert found == _expected(messages, found)


def _parse_kcat(output: bytes) -> list[tuple[int, int, bytes | None, bytes | None, list[tuple[str, bytes | None]]]]:
    """kcat -f '%p|%o|%K|%S|%k|%s|%h\\n': lengths first, so keys and values may hold any byte."""
    rows = []
    pos = 0
    while pos < len(output):
        fields = []
        for _ in range(4):
            end = output.index(b"|", pos)
            fields.append(int(output[pos:end]))
            pos = end + 1
        partition, offset, key_len, value_len = fields
        key = output[pos:pos + key_len] if key_len >= 0 else None
        pos += max(key_len, 0) + 1
        value = output[pos:pos + value_len] if value_len >= 0 else None
        pos += max(value_len, 0) + 1
        end = output.index(b"\n", pos)
        headers = [
            (name.decode(), raw) for name, _, raw in (h.partition(b"=") for h in output[pos:end].split(b","))
        ]
        pos = end + 1
        rows.append((partition, offset, key, value, headers))
    return rows


def test_kafkalab_produces_and_kcat_consumes_byte_identical(bootstrap: str) -> None:
    name = fresh("to-kcat")
    create(bootstrap, name, "-p", "3")
    messages = _messages(10_000)
    header_args = [arg for k, v in HEADERS for arg in (b"-H", k.encode() + b"=" + v)]
    done = subprocess.run(
        [sys.executable.encode(), b"-m", b"kafkalab", b"produce", name.encode(), b"-K", b"|", *header_args,
         b"-b", bootstrap.encode()],
        input=b"".join(k + b"|" + v + b"\n" for k, v in messages), capture_output=True, timeout=60, check=False,
    )
    assert (done.returncode, done.stdout) == (0, b""), done.stderr
    assert re.fullmatch(produced(name, 10_000), done.stderr.decode())
    read = subprocess.run(
        [KCAT, "-b", bootstrap, "-X", "broker.address.family=v4", "-C", "-t", name, "-o", "beginning", "-e", "-q",
         "-f", "%p|%o|%K|%S|%k|%s|%h\n"],
        capture_output=True, timeout=60, check=True,
    )
    found = _by_partition(_parse_kcat(read.stdout))
    assert sum(len(rows) for rows in found.values()) == 10_000
    assert found == _expected(messages, found)


def test_a_100k_round_trip_loses_nothing(bootstrap: str) -> None:
    name = fresh("roundtrip")
    create(bootstrap, name, "-p", "3")
    lines = [f"message {i:06d} {'x' * (i % 50)}".encode() for i in range(100_000)]
    sent = kl_process("produce", name, "-b", bootstrap, input=b"\n".join(lines) + b"\n")
    assert (sent.returncode, sent.stdout) == (0, b""), sent.stderr
    assert re.fullmatch(produced(name, 100_000), sent.stderr.decode())
    got = kl_process("consume", name, "--from-beginning", "-b", bootstrap)
    assert got.returncode == 0, got.stderr
    assert re.fullmatch(consumed(name, 100_000), got.stderr.decode())
    received = got.stdout.split(b"\n")
    assert received.pop() == b""
    assert len(received) == 100_000
    assert sorted(received) == lines
    assert sum(p["end_offset"] for p in describe(bootstrap, name)["partitions"]) == 100_000

    # A reader that stops early (`| head`) ends kafkalab quietly, without a traceback.
    reader = subprocess.Popen([sys.executable, "-m", "kafkalab", "consume", name, "--from-beginning", "-b", bootstrap],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert reader.stdout is not None and reader.stderr is not None
    head = reader.stdout.readline()
    reader.stdout.close()
    assert reader.wait(30) == 0
    assert head.startswith(b"message ")
    assert reader.stderr.read() == b""


# --- any cluster, through --bootstrap-server ---------------------------------------------------

def test_a_second_lab_through_bootstrap_server(lab_factory: Callable[..., Lab], bootstrap: str) -> None:
    other = lab_factory()
    other.up(ui=False)
    elsewhere = other.bootstrap_servers
    assert elsewhere != bootstrap
    name, g = fresh("elsewhere"), fresh("remote")
    create(elsewhere, name, "-p", "2")
    sent = kl("produce", name, "-K", ":", "-b", elsewhere, input="a:1\nb:2\nc:3\n")
    assert sent.exit_code == 0, sent.output
    got = kl("consume", name, "--from-beginning", "--group", g, "--format", "kv", "-K", ":", "-b", elsewhere)
    assert got.exit_code == 0, got.output
    assert sorted(got.stdout.splitlines()) == ["a:1", "b:2", "c:3"]

    listed = kl("topic", "list", "-b", elsewhere)
    width = max(len(name), len("topic"))
    assert listed.stdout == (
        f"┏━{'━' * width}━┳━━━━━━━━━━━━┳━━━━━━━━━━━━━┓\n"
        f"┃ {'topic'.ljust(width)} ┃ partitions ┃ replication ┃\n"
        f"┡━{'━' * width}━╇━━━━━━━━━━━━╇━━━━━━━━━━━━━┩\n"
        f"│ {name} │ 2          │ 1           │\n"
        f"└─{'─' * width}─┴────────────┴─────────────┘\n"
    )
    groups = kl("group", "list", "-b", elsewhere)
    gw = len(g)
    assert groups.stdout == (
        f"┏━{'━' * gw}━┳━━━━━━━┳━━━━━━━━━┓\n"
        f"┃ {'group'.ljust(gw)} ┃ state ┃ type    ┃\n"
        f"┡━{'━' * gw}━╇━━━━━━━╇━━━━━━━━━┩\n"
        f"│ {g} │ empty │ classic │\n"
        f"└─{'─' * gw}─┴───────┴─────────┘\n"
    )
    assert group(elsewhere, g)["lag"] == 0

    def names(result: Result) -> list[str]:
        assert result.exit_code == 0, result.output
        return [t["name"] for t in json.loads(result.stdout)]

    assert name not in names(kl("topic", "list", "--json", "-b", bootstrap)), "the shared lab is untouched"
    # The same cluster without --bootstrap-server: from the environment, and as the lab on --port.
    assert names(kl("topic", "list", "--json", env={"KAFKALAB_BOOTSTRAP_SERVER": elsewhere})) == [name]
    assert names(kl("--port", str(other.settings.port), "topic", "list", "--json")) == [name]
    empty_groups = kl("group", "list", "-b", bootstrap)
    assert g not in empty_groups.stdout
