"""e2e: schemas through the lab's own Schema Registry (`up --with schema-registry`), as a user of the
lab has them: `kafkalab schema` and produce / consume --value-format with no --schema-registry and no
-b (the lab's record finds the registry's port and the broker's), and a Node.js client, kafkajs with
@kafkajs/confluent-schema-registry (tests/node, `make node`), reading what kafkalab wrote in Avro.

Every CLI run is given the lab's project name alone (KAFKALAB_PROJECT), as in a project's folder.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import registry_http
from click.testing import Result
from kafka_cli import fresh, kl

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = ROOT / "tests" / "node"
NODE_TIMEOUT = 90  # seconds: read-avro.js gives up after 60 by itself

# Types that JSON, Python's Avro encoder and avsc (kafkajs' decoder) all carry exactly.
AVRO = {
    "type": "record", "name": "Order", "namespace": "dev.kafkalab.e2e",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "name", "type": "string"},
        {"name": "price", "type": "double"},
        {"name": "paid", "type": "boolean"},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
    ],
}
RECORDS = [
    {"id": 1, "name": "first", "price": 9.5, "paid": True, "tags": []},
    {"id": -2, "name": "zweite Bestellung ü €", "price": 0.25, "paid": False, "tags": ["a", "b"]},
    # avsc reads an Avro long as a JS number, and throws on one beyond ±(2**53 - 2): its largest.
    {"id": 2**53 - 2, "name": "", "price": -1.0, "paid": True, "tags": ["λ"]},
]


def started(lab_factory: Callable[..., Any]) -> Any:
    """A lab with the Schema Registry (free ports, the registry's too: lab_settings), ready."""
    lab = lab_factory(with_=["schema-registry"])
    lab.up(ui=False)
    assert lab.schema_registry_url == f"http://localhost:{lab.settings.schema_registry_port}/apis/ccompat/v7"
    return lab


def on(lab: Any, *args: str, input: str | None = None) -> Result:
    """`kafkalab ARGS` with the lab's project name alone: no registry URL, no brokers, no ports."""
    return kl(*args, input=input, env={"KAFKALAB_PROJECT": lab.settings.project})


def schema_file(tmp_path: Path, schema: dict[str, Any], name: str = "order.avsc") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(schema))
    return path


def test_kafkajs_reads_what_kafkalab_wrote_in_avro(lab_factory: Callable[..., Any], tmp_path: Path) -> None:
    node = shutil.which("node")
    assert node, "the e2e tests need Node.js (node) on PATH"
    assert (NODE_DIR / "node_modules" / "kafkajs").is_dir(), "the Node.js clients are not installed: `make node`"
    lab = started(lab_factory)
    topic = fresh("orders")
    assert on(lab, "topic", "create", topic, "--partitions", "1").exit_code == 0  # one partition: one order

    lines = "".join(json.dumps(record) + "\n" for record in RECORDS)
    result = on(lab, "produce", topic, "--value-format", "avro", "--value-schema", str(schema_file(tmp_path, AVRO)),
                input=lines)
    assert result.exit_code == 0, result.output

    read = subprocess.run(
        [node, str(NODE_DIR / "read-avro.js"), lab.settings.lab_bootstrap, lab.schema_registry_url, topic,
         str(len(RECORDS))],
        capture_output=True, text=True, timeout=NODE_TIMEOUT, check=False,
    )
    assert read.returncode == 0, read.stderr
    assert [json.loads(line) for line in read.stdout.splitlines()] == RECORDS, read.stdout


def test_read_avro_fails_on_what_is_not_in_the_wire_format(
    shared_lab: Any, tmp_path: Path,
) -> None:
    """The script exits non-zero rather than print something: the test above can fail."""
    node = shutil.which("node")
    assert node, "the e2e tests need Node.js (node) on PATH"
    bootstrap, topic = shared_lab.settings.lab_bootstrap, fresh("plain")
    assert kl("produce", topic, "-b", bootstrap, input='{"id": 1}\n').exit_code == 0
    # No registry is asked: the first byte already is not Confluent's magic byte.
    read = subprocess.run(
        [node, str(NODE_DIR / "read-avro.js"), bootstrap, "http://127.0.0.1:9/apis/ccompat/v7", topic, "1", "30"],
        capture_output=True, text=True, timeout=NODE_TIMEOUT, check=False,
    )
    assert read.returncode == 1, (read.stdout, read.stderr)
    assert read.stdout == ""
    assert "read-avro: " in read.stderr


def test_schema_commands_and_records_on_the_labs_registry(
    lab_factory: Callable[..., Any], tmp_path: Path,
) -> None:
    lab = started(lab_factory)
    subject = fresh("cmd") + "-value"
    avsc = schema_file(tmp_path, AVRO)

    result = on(lab, "schema", "register", subject, "--file", str(avsc))
    assert result.exit_code == 0, result.output
    assert f"Registered {avsc} under {subject}: id " in result.stderr and ", version 1." in result.stderr

    listed = json.loads(on(lab, "schema", "list", "--json").stdout)
    assert [(s["subject"], s["version"], s["type"]) for s in listed] == [(subject, 1, "avro")], listed
    got = json.loads(on(lab, "schema", "get", subject, "--json").stdout)
    assert (json.loads(got["schema"]), got["version"], got["id"]) == (AVRO, 1, listed[0]["id"])

    # Apicurio's default rule is NONE (anything goes): BACKWARD, so that check has something to refuse.

    registry_http.app_client(lab.schema_registry_url).set_compatibility(subject, "BACKWARD")
    added = {**AVRO, "fields": [*AVRO["fields"], {"name": "note", "type": "string", "default": ""}]}
    result = on(lab, "schema", "check", subject, "--file", str(schema_file(tmp_path, added, "v2.avsc")))
    assert result.exit_code == 0, result.output
    assert "is compatible with the latest version" in result.stderr
    changed = {**AVRO, "fields": [{"name": "id", "type": "string"}]}
    result = on(lab, "schema", "check", subject, "--file", str(schema_file(tmp_path, changed, "bad.avsc")))
    assert result.exit_code == 26, result.output
    assert f"is not compatible with the latest version of {subject}" in result.stderr

    result = on(lab, "schema", "delete", subject, "--yes")
    assert result.exit_code == 0, result.output
    assert f"Deleted subject {subject} (1 version: 1)." in result.stderr
    assert json.loads(on(lab, "schema", "list", "--json").stdout) == []

    # Records: produce registers the schema under TOPIC-value, consume decodes with it.
    topic = fresh("orders")
    assert on(lab, "topic", "create", topic, "--partitions", "1").exit_code == 0  # one partition: one order
    lines = "".join(json.dumps(record) + "\n" for record in RECORDS)
    result = on(lab, "produce", topic, "--value-format", "avro", "--value-schema", str(avsc), input=lines)
    assert result.exit_code == 0, result.output
    assert [s["subject"] for s in json.loads(on(lab, "schema", "list", "--json").stdout)] == [f"{topic}-value"]
    result = on(lab, "consume", topic, "--from-beginning", "--value-format", "avro", "--format", "json")
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["value"] for line in result.stdout.splitlines()] == RECORDS
