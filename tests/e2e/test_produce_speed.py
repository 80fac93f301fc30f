"""Issue 23 (produce at kcat's speed): what the faster produce keeps exact. Its batches are lz4
(compression.type), -X still wins; with a broker that refuses some of the messages the count
printed is what the topic holds and the failures are said; a signal while it streams counts
exactly, keyed, to several partitions. Real processes, the real bed."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import pytest
from kafka_cli import create, describe, feed_forever, fresh, incompressible, kl, poll

from kafkalab import Lab

pytestmark = pytest.mark.e2e

SECONDS = r"\d+\.\d\d"


@pytest.fixture(scope="module")
def bootstrap(shared_lab: Lab) -> str:
    return str(shared_lab.bootstrap_servers)


def end_offsets(bootstrap: str, topic: str) -> list[int]:
    return [p["end_offset"] for p in describe(bootstrap, topic)["partitions"]]


def produced(stderr: str, topic: str) -> int:
    found = re.match(rf"Produced ([\d,]+) messages? to {re.escape(topic)} in {SECONDS} s", stderr)
    assert found, stderr
    return int(found.group(1).replace(",", ""))


def test_batches_are_lz4_unless_x_says_otherwise(bootstrap: str) -> None:
    # The broker's max.message.bytes counts a batch as stored: 500 bytes of "x" compress to far less.
    name = fresh("lz4")
    create(bootstrap, name, "--config", "max.message.bytes=200")
    squeezed = kl("produce", name, "-b", bootstrap, input=b"x" * 500 + b"\n")
    assert squeezed.exit_code == 0, squeezed.stderr
    got = kl("consume", name, "--from-beginning", "-b", bootstrap)
    assert got.stdout_bytes == b"x" * 500 + b"\n"
    plain = kl("produce", name, "-b", bootstrap, "-X", "compression.type=none", input=b"x" * 500 + b"\n")
    assert plain.exit_code == 13, plain.stderr
    assert "1 of 1 message failed:\n  Broker: Message size too large: the largest message the broker refused " \
           "was 500 bytes" in plain.stderr, plain.stderr
    assert end_offsets(bootstrap, name) == [1]


def test_some_lines_refused_the_count_is_what_the_topic_holds(bootstrap: str) -> None:
    # 20,000 short lines, and 40 lines of 150,000 bytes the topic refuses (max.message.bytes=100000).
    name = fresh("refuses")
    create(bootstrap, name, "--config", "max.message.bytes=100000")
    lines = [b"line %d" % i for i in range(20_000)]
    for k in range(40):
        lines.insert(k * 500 + 250, incompressible(150_000, k))
    data = b"\n".join(lines) + b"\n"
    # Batches of at most 50 kB: the short lines go in batches the topic takes, each long one alone.
    exact = kl("produce", name, "-b", bootstrap, "-X", "batch.size=50000", input=data)
    assert exact.exit_code == 13
    assert produced(exact.stderr, name) == 20_000
    assert "40 of 20,040 messages failed:\n  Broker: Message size too large: the largest message the broker " \
           "refused was 150,000 bytes (key and value); " in exact.stderr, exact.stderr
    assert "Error: 40 of 20,040 messages were not delivered" in exact.stderr
    assert end_offsets(bootstrap, name) == [20_000]
    # With the default batches a refused batch may hold short lines too: still, the count printed is
    # what the topic got, and the failures make up the rest.
    again = fresh("refuses")
    create(bootstrap, again, "--config", "max.message.bytes=100000")
    default = kl("produce", again, "-b", bootstrap, input=data)
    assert default.exit_code == 13
    count = produced(default.stderr, again)
    failed = re.search(r"^([\d,]+) of 20,040 messages failed:$", default.stderr, re.MULTILINE)
    assert failed, default.stderr
    assert count + int(failed.group(1).replace(",", "")) == 20_040
    assert end_offsets(bootstrap, again) == [count]


def test_ctrl_c_while_keyed_lines_stream_to_three_partitions_counts_what_the_topic_holds(bootstrap: str) -> None:
    name = fresh("int")
    create(bootstrap, name, "-p", "3")
    child = subprocess.Popen([sys.executable, "-m", "kafkalab", "produce", name, "-b", bootstrap, "-K", ":"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert child.stdin is not None and child.stderr is not None
        writer = feed_forever(child.stdin, b"".join(b"key-%d:value %d\n" % (i % 97, i) for i in range(10_000)))
        poll(lambda: sum(end_offsets(bootstrap, name)) >= 30_000, 60, "the first messages in the topic")
        child.send_signal(signal.SIGINT)
        assert child.wait(30) == 130
        count = produced(child.stderr.read().decode(), name)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
    writer.join(10)
    assert count >= 30_000
    assert sum(end_offsets(bootstrap, name)) == count, "the count printed is what the topic holds"
