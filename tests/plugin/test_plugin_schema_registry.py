"""The pytest plugin's fixtures schema_registry_url and schema_registry_client, run as a user runs
them: inner pytest sessions in subprocesses (pytester) against the real test bed. With
--kafkalab-with schema-registry a test registers and fetches a schema; without the registry the
fixture's error says so, and how to start one.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from test_pytest_plugin import lab_env, records, run_inner

from kafkalab import Lab

pytestmark = pytest.mark.e2e
pytest_plugins = ["pytester"]

ORDER = {"type": "record", "name": "Order", "namespace": "dev.kafkalab.plugin",
         "fields": [{"name": "id", "type": "long"}]}
# A user's test: it registers ORDER in the lab's registry and fetches it back, by id and as the latest.
USES_THE_REGISTRY = """
import json, os
from pathlib import Path

from confluent_kafka.schema_registry import Schema

ORDER = json.dumps(THE_ORDER)


def test_registers_and_fetches(schema_registry_url, schema_registry_client, kafka_lab):
    schema_id = schema_registry_client.register_schema("orders-value", Schema(ORDER, "AVRO"))
    latest = schema_registry_client.get_latest_version("orders-value")
    by_id = schema_registry_client.get_schema(schema_id)
    with Path(os.environ["KAFKALAB_PLUGIN_RECORD"]).open("a") as f:
        f.write(json.dumps({"url": schema_registry_url, "project": kafka_lab.settings.project, "id": schema_id,
                            "version": latest.version, "latest_id": latest.schema_id,
                            "schema": json.loads(by_id.schema_str), "type": by_id.schema_type}) + "\\n")
""".replace("THE_ORDER", json.dumps(ORDER))

USES_THE_URL = '''
def test_needs_a_registry(schema_registry_url):
    pass
'''


def test_with_the_registry_a_test_registers_and_fetches_a_schema(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, new_lab: Any, bed: Any,
) -> None:
    for name, value in {**lab_env(new_lab), "KAFKALAB_SCHEMA_REGISTRY_PORT": str(new_lab.schema_registry_port),
                        "KAFKALAB_TIMEOUT": "240"}.items():
        monkeypatch.setenv(name, value)
    pytester.makepyfile(USES_THE_REGISTRY)

    result = run_inner(pytester, monkeypatch, "--kafkalab-with", "schema-registry", "--kafkalab-no-ui")

    result.assert_outcomes(passed=1)
    (found,) = records(pytester)
    assert found == {
        **found, "url": f"http://localhost:{new_lab.schema_registry_port}/apis/ccompat/v7",
        "project": new_lab.project, "version": 1, "latest_id": found["id"], "type": "AVRO",
    }
    assert found["schema"] == ORDER
    result.stdout.fnmatch_lines([f"kafkalab: started the lab {new_lab.project} at * s, and stopped it."])
    assert bed.docker_leftovers(new_lab.project) == []


def test_without_the_registry_the_fixture_says_so(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, shared_lab: Lab,
) -> None:
    for name, value in lab_env(shared_lab.settings).items():
        monkeypatch.setenv(name, value)
    pytester.makepyfile(USES_THE_URL)

    result = run_inner(pytester, monkeypatch)

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([
        f"Error: The lab {shared_lab.settings.project} runs without a Schema Registry.",
        "Hint: Start the session's lab with one: --kafkalab-with schema-registry*",
    ])
    assert "Traceback" not in result.stdout.str()
    assert shared_lab.status().healthy  # attached, and left as it was
