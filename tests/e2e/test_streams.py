"""Issue 17, items 2, 5 and 8 (streams): signals end produce, consume, up and logs cleanly; a log
stream's `docker compose logs` ends with it; produce sends its input as it is (CRLF, empty lines,
JSON numbers) and creates no topic for input it refuses. Real signals, real processes, the real bed."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka_cli import create, describe, feed_forever, fresh, group, kl, poll

from kafkalab import Lab
from kafkalab.lab import state

pytestmark = pytest.mark.e2e

KAFKALAB = [sys.executable, "-m", "kafkalab"]
SECONDS = r"\d+\.\d\d"


@pytest.fixture(scope="module")
def bootstrap(shared_lab: Lab) -> str:
    return str(shared_lab.bootstrap_servers)


def stored(bootstrap: str, topic: str) -> int:
    """The messages the topic holds, by its partitions' offsets."""
    return sum(p["end_offset"] - p["start_offset"] for p in describe(bootstrap, topic)["partitions"])


def topics(bootstrap: str) -> list[str]:
    result = kl("topic", "list", "--json", "-b", bootstrap)
    assert result.exit_code == 0, result.output
    return [t["name"] for t in json.loads(result.stdout)]


def lab_env(lab: Lab) -> dict[str, str]:
    s = lab.settings
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KAFKALAB_") or k.startswith("KAFKALAB_IMAGE")}
    return {**clean, "KAFKALAB_PROJECT": s.project, "KAFKALAB_PORT": str(s.port),
            "KAFKALAB_UI_PORT": str(s.ui_port), "KAFKALAB_ZOOKEEPER_PORT": str(s.zookeeper_port)}


@contextlib.contextmanager
def process(args: list[str], **kwargs: Any) -> Iterator[subprocess.Popen[bytes]]:
    child = subprocess.Popen([*KAFKALAB, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, **kwargs)
    try:
        yield child
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()


# --- item 2: signals ---------------------------------------------------------------------------

def _produced(stderr: str, topic: str) -> int:
    found = re.fullmatch(rf"Produced ([\d,]+) messages? to {re.escape(topic)} in {SECONDS} s \([\d,]+ msg/s\)\.\n",
                         stderr)
    assert found, stderr
    return int(found.group(1).replace(",", ""))


def test_sigterm_while_produce_reads_a_stream_flushes_and_counts_what_the_topic_holds(bootstrap: str) -> None:
    name = fresh("term")
    create(bootstrap, name, "-p", "3")
    with process(["produce", name, "-b", bootstrap]) as producer:
        assert producer.stdin is not None
        writer = feed_forever(producer.stdin, b"".join(b"message %d\n" % i for i in range(10_000)))
        poll(lambda: stored(bootstrap, name) >= 20_000, 60, "the first messages in the topic")
        producer.send_signal(signal.SIGTERM)
        assert producer.wait(30) == 143
        assert producer.stderr is not None
        count = _produced(producer.stderr.read().decode(), name)
    writer.join(10)
    assert count >= 20_000
    assert stored(bootstrap, name) == count, "the count printed is what the topic holds"


def test_sighup_while_produce_waits_for_input_ends_it_with_every_line_sent(bootstrap: str) -> None:
    name = fresh("hup")
    create(bootstrap, name)
    with process(["produce", name, "-b", bootstrap]) as producer:
        assert producer.stdin is not None
        producer.stdin.write(b"".join(b"line %d\n" % i for i in range(500)))
        producer.stdin.flush()  # and kept open: it waits for more
        poll(lambda: stored(bootstrap, name) == 500, 30, "the 500 messages in the topic")
        producer.send_signal(signal.SIGHUP)
        assert producer.wait(30) == 129
        assert producer.stderr is not None
        assert _produced(producer.stderr.read().decode(), name) == 500
    assert stored(bootstrap, name) == 500


def test_sigterm_on_consume_follow_with_a_group_commits_and_leaves_the_group(bootstrap: str) -> None:
    name, g = fresh("term"), fresh("term")
    create(bootstrap, name, "-p", "2")
    assert kl("produce", name, "-b", bootstrap, input="".join(f"m{i}\n" for i in range(8))).exit_code == 0
    with process(["consume", name, "--group", g, "--from-beginning", "--follow", "-b", bootstrap]) as follower:
        assert follower.stdout is not None
        stdout = follower.stdout
        lines: list[bytes] = []
        reader = threading.Thread(target=lambda: lines.extend(iter(stdout.readline, b"")), daemon=True)
        reader.start()
        poll(lambda: len(lines) == 8, 30, "the 8 messages")
        assert len(group(bootstrap, g)["members"]) == 1
        follower.send_signal(signal.SIGTERM)
        assert follower.wait(20) == 143
        reader.join(5)
        assert follower.stderr is not None
        stderr = follower.stderr.read().decode()
    assert re.fullmatch(
        rf"Consumed 8 messages from {re.escape(name)} in {SECONDS} s\. Interrupted\. "
        rf"Committed the offsets of group {re.escape(g)}\.\n", stderr,
    ), stderr
    after = group(bootstrap, g)
    assert (after["lag"], after["members"]) == (0, [])
    # It left the group: the group can be reset at once, not only once the broker drops the member.
    reset = kl("group", "reset-offsets", g, "--topic", name, "--to-earliest", "--execute", "-b", bootstrap)
    assert reset.exit_code == 0, reset.output


def _waits_for_lock(pid: int) -> bool:
    """The process waits for a flock (a "->" line of /proc/locks)."""
    return any(line.split()[1] == "->" and line.split()[5] == str(pid)
               for line in Path("/proc/locks").read_text().splitlines() if len(line.split()) > 5)


def test_sigterm_on_up_says_what_it_left_as_ctrl_c_does(lab_factory: Callable[..., Lab]) -> None:
    lab = lab_factory()
    # Another kafkalab holds the lab's lock: up waits for it, before it starts anything.
    with state.lock(lab.settings.project), process(["up", "--no-ui"], env=lab_env(lab)) as up:
        poll(lambda: _waits_for_lock(up.pid), 60, "up to wait for the lab's lock")
        up.send_signal(signal.SIGTERM)
        assert up.wait(30) == 143
        assert up.stderr is not None
        stderr = up.stderr.read().decode()
    assert stderr.endswith(
        "Error: Interrupted before any container was started.\nHint: Nothing was started.\n"
    ), stderr
    assert "Traceback" not in stderr


# --- item 5: a log stream's process ends with it ------------------------------------------------

def compose_logs(project: str) -> list[str]:
    """The `docker compose logs` processes of the project (the docker CLI and its compose plugin)."""
    found = subprocess.run(["pgrep", "-af", "--", f"--project-name {project} logs"], capture_output=True, text=True,
                           check=False)
    return found.stdout.splitlines()


def test_lab_logs_follow_left_early_ends_its_process_and_leaves_os_environ_alone(shared_lab: Lab) -> None:
    project = shared_lab.settings.project
    assert compose_logs(project) == []
    environ = dict(os.environ)
    lines = shared_lab.logs("kafka", follow=True, tail=5)
    assert next(lines)
    assert compose_logs(project) != []
    assert dict(os.environ) == environ, "the lab's settings stay out of os.environ while the stream is open"
    lines.close()
    assert compose_logs(project) == []
    # Leaving a loop over it early is the same.
    for _line in shared_lab.logs(follow=True, tail=1):
        break
    assert compose_logs(project) == []


@pytest.mark.parametrize("ending", ["SIGINT", "SIGTERM", "head"])
def test_logs_follow_ends_quietly_and_leaves_no_process(shared_lab: Lab, ending: str) -> None:
    project = shared_lab.settings.project
    env = lab_env(shared_lab)
    with process(["logs", "kafka", "-f", "--tail", "1"], env=env) as logs:
        assert logs.stdout is not None and logs.stderr is not None
        assert logs.stdout.readline()
        assert compose_logs(project) != []
        if ending == "head":
            # As `kafkalab logs -f | head -n 1`: the reader leaves after a line. kafkalab sees it at its
            # next write: a new topic makes the broker log one.
            logs.stdout.close()
            create(str(shared_lab.bootstrap_servers), fresh("log-line"))
            assert logs.wait(30) == 0
        else:
            logs.send_signal(getattr(signal, ending))  # to kafkalab alone, as `kill -INT` sends it
            assert logs.wait(30) == 128 + getattr(signal, ending)
        assert logs.stderr.read() == b"", "ended by the user or the reader: no error"
    poll(lambda: compose_logs(project) == [], 10, "no docker compose logs process left")
    assert compose_logs(project) == []


# --- item 8: input fidelity ---------------------------------------------------------------------

def consume_json(bootstrap: str, topic: str) -> list[dict[str, Any]]:
    result = kl("consume", topic, "--from-beginning", "--format", "json", "-b", bootstrap)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_crlf_input_loses_its_carriage_returns_and_empty_lines_are_messages_unless_skipped(bootstrap: str) -> None:
    name = fresh("crlf")
    create(bootstrap, name)
    sent = kl("produce", name, "-K", ":", "-b", bootstrap, input=b"k1:a\r\n\r\nk2:b\rc\r\n\nlast\r")
    assert sent.exit_code == 0, sent.output
    assert [(m["key"], m["value"]) for m in consume_json(bootstrap, name)] == [
        ("k1", "a"), (None, ""), ("k2", "b\rc"), (None, ""), (None, "last\r"),
    ]
    skipped = fresh("skip")
    create(bootstrap, skipped)
    sent = kl("produce", skipped, "--skip-empty", "-b", bootstrap, input=b"a\r\n\r\n\nb\n\n")
    assert sent.exit_code == 0, sent.output
    assert [m["value"] for m in consume_json(bootstrap, skipped)] == ["a", "b"]


def test_json_values_are_sent_as_their_text(bootstrap: str) -> None:
    name = fresh("json")
    create(bootstrap, name)
    lines = [
        b'{"value": 1.50, "key": 1E2}',
        b'{"value": 1e400, "headers": {"n": 0.10}}',
        b'{"value": {"total": 3.0,  "items": [1, 2.50]}}',
    ]
    sent = kl("produce", name, "--format", "json", "-b", bootstrap, input=b"\r\n".join(lines) + b"\r\n")
    assert sent.exit_code == 0, sent.output
    got = consume_json(bootstrap, name)
    assert [(m["value"], m["key"], m["headers"]) for m in got] == [
        ("1.50", "1E2", []), ("1e400", None, [["n", "0.10"]]), ('{"total": 3.0,  "items": [1, 2.50]}', None, []),
    ]
    refused = kl("produce", name, "--format", "json", "-b", bootstrap, input=b'{"value": NaN}\n')
    assert refused.exit_code == 19
    assert refused.stderr.startswith("Produced 0 messages")
    assert "Error: Line 1 is not a record: it is not JSON (NaN is not a JSON value).\n" in refused.stderr


@pytest.mark.parametrize(("args", "data", "code"), [
    ([], b"", 0),
    (["--skip-empty"], b"\n\r\n\n", 0),
    (["--format", "json"], b"", 0),
    (["--format", "json"], b"\n\n", 0),
    (["--format", "json"], b'{"vaule": 1}\n{"value": 2}\n', 19),
    (["--format", "json"], b"\nnot json\n", 19),
])
def test_refused_or_empty_input_creates_no_topic(bootstrap: str, args: list[str], data: bytes, code: int) -> None:
    name = fresh("nothing")
    result = kl("produce", name, *args, "-b", bootstrap, input=data)
    assert result.exit_code == code, result.output
    assert "did not exist" not in result.stderr
    assert name not in topics(bootstrap)
