"""The pytest plugin and the project's declaration (issue 20): an inner session in a folder whose
kafkalab.toml declares topics and seed records sees them from its first test; a second session,
attached to the lab the first left running, finds them seeded once; kafka_topic still makes fresh
topics. A declaration error fails the session's lab clearly, before anything starts.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from test_pytest_plugin import lab_options, records, run_inner

pytestmark = pytest.mark.e2e
pytest_plugins = ["pytester"]

DECLARATION = """\
[topics.orders]
partitions = 3
config = { "retention.ms" = "3600000" }

[topics.events]
seed = "fixtures/events.jsonl"
"""
EVENTS = '{"key": "k1", "value": "first"}\n{"key": "k2", "value": "second"}\n'

# A user's test: the declared topics are there, with their partitions and config, and the seed records.
SEES_THE_DECLARATION = '''
import json, os
from pathlib import Path

from confluent_kafka import TopicPartition


def test_declared_topics(kafka_lab, kafka_topic):
    admin = kafka_lab.admin()
    topics = admin.list_topics(timeout=10).topics
    consumer = kafka_lab.consumer("plugin-declare-reader")
    low, high = consumer.get_watermark_offsets(TopicPartition("events", 0), timeout=10)
    consumer.close()
    with Path(os.environ["KAFKALAB_PLUGIN_RECORD"]).open("a") as f:
        f.write(json.dumps({"orders": len(topics["orders"].partitions), "events": len(topics["events"].partitions),
                            "fresh": kafka_topic in topics and kafka_topic not in ("orders", "events"),
                            "records": high - low}) + "\\n")
'''


def test_the_plugin_sees_the_declared_topics_seeded_once_per_lab(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, new_lab: Any,
) -> None:
    pytester.makefile(".toml", kafkalab=DECLARATION)
    (pytester.path / "fixtures").mkdir()
    (pytester.path / "fixtures" / "events.jsonl").write_text(EVENTS)
    pytester.makepyfile(SEES_THE_DECLARATION)

    first = run_inner(pytester, monkeypatch, *lab_options(new_lab), "--kafkalab-keep", "--kafkalab-no-ui")

    first.assert_outcomes(passed=1)
    first.stdout.fnmatch_lines([
        f"kafkalab: started the lab {new_lab.project} at * s; left it running *",
        "kafkalab: declared: 2 topics created, 2 records seeded.",
    ])
    # The next session attaches, and seeds nothing again.
    again = run_inner(pytester, monkeypatch, *lab_options(new_lab))
    again.assert_outcomes(passed=1)
    again.stdout.fnmatch_lines([f"kafkalab: attached to the lab {new_lab.project} at *",
                                "kafkalab: declared: nothing to do."])
    seen = records(pytester)
    assert seen == [{"orders": 3, "events": 1, "fresh": True, "records": 2}] * 2, json.dumps(seen)


def test_a_declaration_error_fails_the_lab_before_it_starts(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, new_lab: Any, bed: Any,
) -> None:
    path = pytester.makefile(".toml", kafkalab=DECLARATION.replace("partitions = 3", "partitions = 0"))
    pytester.makepyfile("def test_uses_the_lab(kafka_lab):\n    pass\n")

    result = run_inner(pytester, monkeypatch, *lab_options(new_lab), "--kafkalab-no-ui")

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([
        f"Error: {path}, line 2, [[]topics.orders]: partitions = 0 is not a whole number from 1 to 100,000.",
    ])
    assert bed.docker_leftovers(new_lab.project) == []
