"""Edges on the real stack (issue 17, sections 7 and 8): client callbacks, deleting without a
terminal, a mode's replication for new topics, offline partitions, messages too large."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner, Result
from kafka_cli import create, describe, fresh, group, incompressible, kl, poll

from kafkalab import Lab
from kafkalab.cli import render
from kafkalab.cli.main import cli

pytestmark = pytest.mark.e2e


def run(lab: Lab, *args: str, input: bytes | None = None) -> Result:
    """The CLI in-process on the lab (no -b), with its settings in the environment, as a user's shell would have."""
    render.reset()
    env = {**lab.settings.compose_env(), "KAFKALAB_MODE": lab.settings.mode}
    return CliRunner(env=env).invoke(cli, list(args), input=input, prog_name="kafkalab")


def no_terminal(lab: Lab, *args: str) -> subprocess.CompletedProcess[str]:
    """`kafkalab ARGS` as its own process with stdin from /dev/null: a script, a CI step."""
    env = {**os.environ, **lab.settings.compose_env(), "KAFKALAB_MODE": lab.settings.mode}
    return subprocess.run([sys.executable, "-m", "kafkalab", *args], stdin=subprocess.DEVNULL, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


# --- section 7: callables reach confluent-kafka ---------------------------------------------------

def test_a_delivery_callback_is_called(shared_lab: Lab) -> None:
    topic = fresh("callback")
    assert shared_lab.create_topic(topic)
    delivered: list[tuple[Any, bytes]] = []
    stats: list[str] = []
    producer = shared_lab.producer(
        on_delivery=lambda err, msg: delivered.append((err, msg.value())),
        stats_cb=stats.append, statistics_interval_ms=100, error_cb=lambda err: None,
    )
    producer.produce(topic, b"one")
    producer.produce(topic, b"two")
    assert producer.flush(30) == 0
    assert delivered == [(None, b"one"), (None, b"two")]
    poll(lambda: producer.poll(0.1) >= 0 and stats, 10, "a statistics callback")
    assert json.loads(stats[0])["type"] == "producer"


# --- section 7: deleting without a terminal needs --yes --------------------------------------------

def test_without_a_terminal_nothing_is_deleted_without_yes(shared_lab: Lab) -> None:
    bootstrap = shared_lab.bootstrap_servers
    name, g = fresh("kept"), fresh("kept")
    create(bootstrap, name)
    assert kl("produce", name, "-b", bootstrap, input="x\n").exit_code == 0
    assert kl("consume", name, "--group", g, "--from-beginning", "-b", bootstrap).exit_code == 0
    hint = "Hint: Pass --yes to confirm without a prompt.\n"
    for args, kept in (
        (["topic", "delete", name], f"Topic {name} was not deleted."),
        (["group", "delete", g], f"Group {g} was not deleted."),
        (["down", "--volumes"], "Nothing was deleted."),
    ):
        refused = no_terminal(shared_lab, *args)
        assert (refused.returncode, refused.stdout) == (15, ""), refused.stderr
        assert refused.stderr == f"Error: {kept} There is no terminal to ask for confirmation.\n" + hint
    assert describe(bootstrap, name)["partitions"][0]["end_offset"] == 1
    assert group(bootstrap, g)["partitions"][0]["committed"] == 1
    assert shared_lab.status().healthy
    # --yes is the way to do it without a terminal.
    deleted = no_terminal(shared_lab, "topic", "delete", name, "--yes")
    assert (deleted.returncode, deleted.stderr) == (0, f"Deleted topic {name}.\n")


# --- section 8: new topics are replicated as the mode replicates --------------------------------------

def test_a_new_topic_on_a_kraft_lab_has_replication_1(shared_lab: Lab) -> None:
    name, elsewhere = fresh("one"), fresh("one")
    made = run(shared_lab, "topic", "create", name)
    assert (made.exit_code, made.stderr) == (0, f"Created topic {name} (1 partition, replication 1).\n")
    # -b is any cluster: the broker's own default.replication.factor decides (1 on this one).
    given = kl("topic", "create", elsewhere, "-b", shared_lab.bootstrap_servers)
    assert (given.exit_code, given.stderr) == (0, f"Created topic {elsewhere} (1 partition, replication 1).\n")
    for topic in (name, elsewhere):
        assert [p["replicas"] for p in describe(shared_lab.bootstrap_servers, topic)["partitions"]] == [[1]]


def broker_container(lab: Lab, service: str) -> str:
    """The id of the lab's container of `service`, found by the lab's compose project label."""
    found = subprocess.run(
        ["docker", "ps", "-q", "--filter", f"label=com.docker.compose.project={lab.settings.project}",
         "--filter", f"label=com.docker.compose.service={service}"],
        capture_output=True, text=True, check=True,
    ).stdout.split()
    assert len(found) == 1, found
    return found[0]


def test_cluster_replicates_new_topics_and_reads_around_an_offline_partition(
    lab_factory: Callable[..., Lab],
) -> None:
    lab = lab_factory(mode="cluster")
    lab.up(ui=False)
    bootstrap = lab.bootstrap_servers

    # topic create and Lab.create_topic replicate as the mode does: on all three brokers.
    made = run(lab, "topic", "create", "orders", "-p", "2")
    assert (made.exit_code, made.stderr) == (0, "Created topic orders (2 partitions, replication 3).\n")
    assert lab.create_topic("payments")
    for topic in ("orders", "payments"):
        assert all(sorted(p["replicas"]) == [1, 2, 3] for p in describe(bootstrap, topic)["partitions"])

    # One partition on each broker, one message in each.
    spread = run(lab, "topic", "create", "spread", "-p", "3", "-r", "1")
    assert spread.exit_code == 0, spread.output
    for p in range(3):
        sent = run(lab, "produce", "spread", "--partition", str(p), input=f"m{p}\n".encode())
        assert sent.exit_code == 0, sent.output
    leaders = {p["leader"]: p["partition"] for p in describe(bootstrap, "spread")["partitions"]}
    assert sorted(leaders) == [1, 2, 3]
    lost = leaders[3]  # kafka-3 is broker 3

    subprocess.run(["docker", "stop", broker_container(lab, "kafka-3")], check=True, capture_output=True)

    def offline() -> dict[str, Any] | None:
        found = describe(bootstrap, "spread")
        return found if found["partitions"][lost]["offline"] else None

    shown = poll(offline, 60, f"partition {lost} to be offline")
    assert {k: v for k, v in shown["partitions"][lost].items() if k != "isr"} == {
        "partition": lost, "leader": None, "offline": True, "replicas": [3], "start_offset": None, "end_offset": None,
    }
    assert [p["end_offset"] for p in shown["partitions"] if p["partition"] != lost] == [1, 1]
    human = run(lab, "topic", "describe", "spread")
    assert human.exit_code == 0, human.output
    assert human.stdout.startswith(f"Topic spread: 3 partitions, 2 messages (offline, not counted: partition {lost})\n")
    assert re.search(rf"│ {lost} +│ offline +│ 3 +│ [\d,]* +│ - +│ - +│", human.stdout), human.stdout

    warning = (f"Warning: partition {lost} of spread is offline (no broker leads it): it is not read. "
               "`kafkalab topic describe spread` shows the partitions.\n")
    read = run(lab, "consume", "spread", "--from-beginning")
    assert read.exit_code == 0, read.output
    assert sorted(read.stdout.split()) == sorted(f"m{p}" for p in range(3) if p != lost)
    assert read.stderr.startswith(warning), read.stderr
    # A group reads what it can too, and stops at the end of the partitions it can read.
    member = run(lab, "consume", "spread", "--from-beginning", "--group", f"g-{uuid.uuid4().hex[:8]}")
    assert member.exit_code == 0, member.output
    assert sorted(member.stdout.split()) == sorted(f"m{p}" for p in range(3) if p != lost)
    assert member.stderr.startswith(warning), member.stderr

    # Writes go on to a topic of the mode's replication: none of 20 is lost.
    values = "".join(f"o{i}\n" for i in range(20))
    sent = run(lab, "produce", "orders", input=values.encode())
    assert sent.exit_code == 0, sent.output
    got = run(lab, "consume", "orders", "--from-beginning")
    assert sorted(got.stdout.split()) == sorted(values.split())


# --- section 8: a message too large says its size and the limit -------------------------------------

def test_a_message_too_large_names_its_size_and_the_topics_limit(shared_lab: Lab) -> None:
    bootstrap = shared_lab.bootstrap_servers
    name = fresh("tiny")
    create(bootstrap, name, "--config", "max.message.bytes=200")
    result = kl("produce", name, "-b", bootstrap, "-K", ":", input=b"k:" + incompressible(500) + b"\n" + incompressible(300, 1) + b"\n")
    assert result.exit_code == 13
    assert (
        "2 of 2 messages failed:\n"
        "  Broker: Message size too large: the largest message the broker refused was 501 bytes (key and value); "
        f"topic {name} takes record batches of at most 200 bytes (max.message.bytes) (2)\n"
    ) in result.stderr, result.stderr
    over = kl("produce", name, "-b", bootstrap, "-X", "message.max.bytes=1000", input=b"z" * 2000 + b"\n")
    assert over.exit_code == 13
    assert (
        "  Message size too large: the largest message refused before sending was 2,000 bytes (key and value); "
        "the producer sends at most 1,000 bytes (message.max.bytes) (1)\n"
    ) in over.stderr, over.stderr
