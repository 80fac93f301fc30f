"""e2e: `kafkalab schema` and Avro / JSON Schema / Protobuf records in produce and consume (issue 19),
against a Schema Registry this module runs itself (the bed's Apicurio Registry, in memory, on a free
port of 127.0.0.1, removed in a finally) and the shared lab's Kafka.

For each format kafkalab's records are read by confluent-kafka's own deserializer, and confluent-kafka's
serializer's records by kafkalab.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import registry_http
from kafka_cli import fresh, kl

pytestmark = pytest.mark.e2e

CCOMPAT = "/apis/ccompat/v7"
START_TIMEOUT = 120  # seconds from `docker run` to the registry's first 200 (10-40 s on the loaded bed)

AVRO = {"type": "record", "name": "Order", "namespace": "dev.kafkalab.e2e",
        "fields": [{"name": "id", "type": "long"}, {"name": "name", "type": "string"}]}
JSON_SCHEMA = {"$schema": "http://json-schema.org/draft-07/schema#", "title": "Order", "type": "object",
               "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}, "required": ["id", "name"]}
PROTO = 'syntax = "proto3";\npackage dev.kafkalab.e2e;\nmessage Order { int64 id = 1; string name = 2; }\n'
FILES = {"avro": ("order.avsc", json.dumps(AVRO)), "json-schema": ("order.json", json.dumps(JSON_SCHEMA)),
         "protobuf": ("order.proto", PROTO)}


def _answers(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url + "/subjects", timeout=5) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="module")
def registry_url() -> Iterator[str]:
    """A Schema Registry of this module's own: the bed's image, in memory, on a free host port."""
    name = f"kltest-registry-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    image = os.environ["KAFKALAB_IMAGE_SCHEMA_REGISTRY"]
    try:
        subprocess.run(["docker", "run", "-d", "--rm", "--pull", "never", "--name", name, "-p", "127.0.0.1::8080",
                        image], check=True, capture_output=True, timeout=120)
        port = subprocess.run(["docker", "port", name, "8080"], check=True, capture_output=True, text=True,
                              timeout=30).stdout.split()[0].rsplit(":", 1)[1]
        url = f"http://127.0.0.1:{port}{CCOMPAT}"
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers(url):
            assert time.monotonic() < deadline, f"the registry did not answer {url}/subjects in {START_TIMEOUT} s"
            time.sleep(0.5)
        yield url
    finally:
        subprocess.run(["docker", "rm", "-f", "-v", name], capture_output=True, timeout=60, check=False)


def _file(tmp_path: Path, fmt: str) -> Path:
    name, text = FILES[fmt]
    path = tmp_path / name
    path.write_text(text)
    return path


def _confluent_read(bootstrap: str, topic: str, count: int) -> list[Any]:
    """The raw messages of partition 0 of topic, read from the beginning with confluent-kafka's Consumer."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": fresh("kltest"), "enable.auto.commit": False})
    try:
        consumer.assign([TopicPartition(topic, 0, 0)])
        found: list[Any] = []
        deadline = time.monotonic() + 30
        while len(found) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                found.append(message)
        assert len(found) == count, f"read {len(found)} of {count} messages of {topic}"
        return found
    finally:
        consumer.close()


def _deserializer(fmt: str, client: Any) -> Any:
    from confluent_kafka.schema_registry.avro import AvroDeserializer
    from confluent_kafka.schema_registry.json_schema import JSONDeserializer

    if fmt == "avro":
        return AvroDeserializer(client)
    if fmt == "json-schema":
        return JSONDeserializer(json.dumps(JSON_SCHEMA), schema_registry_client=client)
    from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer
    from google.protobuf import json_format

    from kafkalab.schemas.serdes import compile_proto

    # No registry client: with one, it asks for the writer's schema as format=serialized, which
    # Apicurio 3.3.3's ccompat API answers with HTTP 500 (confluent-kafka's own producers' schemas too).
    inner = ProtobufDeserializer(compile_proto(PROTO, "order.proto"), {"use.deprecated.format": False}, None)
    return lambda data, ctx: json_format.MessageToDict(inner(data, ctx), preserving_proto_field_name=True)


def _serializer(fmt: str, client: Any) -> Any:
    from confluent_kafka.schema_registry.avro import AvroSerializer
    from confluent_kafka.schema_registry.json_schema import JSONSerializer

    if fmt == "avro":
        return AvroSerializer(client, json.dumps(AVRO))
    if fmt == "json-schema":
        return JSONSerializer(json.dumps(JSON_SCHEMA), client)
    from confluent_kafka.schema_registry.protobuf import ProtobufSerializer

    from kafkalab.schemas.serdes import compile_proto

    message = compile_proto(PROTO, "order.proto")
    inner = ProtobufSerializer(message, client, {"use.deprecated.format": False})
    return lambda obj, ctx: inner(message(**obj), ctx)


@pytest.mark.parametrize("fmt", ["avro", "json-schema", "protobuf"])
def test_kafkalab_produces_and_confluent_kafka_reads(
    shared_lab: Any, registry_url: str, tmp_path: Path, fmt: str,
) -> None:
    from confluent_kafka.serialization import MessageField, SerializationContext

    bootstrap, topic = shared_lab.settings.lab_bootstrap, fresh(f"orders-{fmt}")
    lines = '{"id": 1, "name": "first"}\n{"id": 2, "name": "second [x]"}\n'
    result = kl("--schema-registry", registry_url, "produce", topic, "-b", bootstrap, "--value-format", fmt,
                "--value-schema", str(_file(tmp_path, fmt)), input=lines)
    assert result.exit_code == 0, result.output
    assert "Produced 2 messages" in result.stderr

    client = registry_http.app_client(registry_url)
    assert client.get_latest_version(f"{topic}-value").schema.schema_type == \
        {"avro": "AVRO", "json-schema": "JSON", "protobuf": "PROTOBUF"}[fmt]
    deserialize = _deserializer(fmt, client)
    ctx = SerializationContext(topic, MessageField.VALUE)
    values = [deserialize(m.value(), ctx) for m in _confluent_read(bootstrap, topic, 2)]
    ids = [int(v["id"]) for v in values]  # Protobuf's JSON mapping writes an int64 as text
    assert ids == [1, 2]
    assert [v["name"] for v in values] == ["first", "second [x]"]


@pytest.mark.parametrize("fmt", ["avro", "json-schema", "protobuf"])
def test_confluent_kafka_produces_and_kafkalab_reads(shared_lab: Any, registry_url: str, fmt: str) -> None:
    from confluent_kafka import Producer
    from confluent_kafka.serialization import MessageField, SerializationContext

    bootstrap, topic = shared_lab.settings.lab_bootstrap, fresh(f"written-{fmt}")
    serialize = _serializer(fmt, registry_http.app_client(registry_url))
    producer = Producer({"bootstrap.servers": bootstrap})
    producer.produce(topic, serialize({"id": 7, "name": "seven"}, SerializationContext(topic, MessageField.VALUE)),
                     key=b"k1")
    assert producer.flush(30) == 0

    result = kl("--schema-registry", registry_url, "consume", topic, "-b", bootstrap, "--from-beginning",
                "--value-format", fmt, "--format", "json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["key"] == "k1"
    assert int(record["value"]["id"]) == 7 and record["value"]["name"] == "seven"

    result = kl("--schema-registry", registry_url, "consume", topic, "-b", bootstrap, "--from-beginning",
                "--value-format", "auto")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["name"] == "seven"


def test_not_wire_format_is_printed_as_it_is_with_a_note(
    shared_lab: Any, registry_url: str, tmp_path: Path,
) -> None:
    bootstrap, topic = shared_lab.settings.lab_bootstrap, fresh("mixed")
    assert kl("produce", topic, "-b", bootstrap, input="plain text\n").exit_code == 0
    result = kl("--schema-registry", registry_url, "produce", topic, "-b", bootstrap, "--value-format", "avro",
                "--value-schema", str(_file(tmp_path, "avro")), input='{"id": 3, "name": "three"}\n')
    assert result.exit_code == 0, result.output

    result = kl("--schema-registry", registry_url, "consume", topic, "-b", bootstrap, "--from-beginning",
                "--value-format", "auto")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["plain text", '{"id":3,"name":"three"}']
    assert "offset 0 is not in Confluent's wire format" in result.stderr


def test_a_value_that_does_not_match_names_line_and_field(
    shared_lab: Any, registry_url: str, tmp_path: Path,
) -> None:
    bootstrap, topic = shared_lab.settings.lab_bootstrap, fresh("bad")
    lines = '{"id": 1, "name": "ok"}\n{"id": "not a number", "name": "bad"}\n{"id": 3, "name": "never"}\n'
    result = kl("--schema-registry", registry_url, "produce", topic, "-b", bootstrap, "--value-format", "avro",
                "--value-schema", str(_file(tmp_path, "avro")), input=lines)
    assert result.exit_code == 19, result.output
    assert "Line 2: the value does not match the schema of subject " + topic + "-value" in result.stderr
    assert "field id" in result.stderr
    assert "Produced 1 message" in result.stderr

    records = [json.loads(line)["value"] for line in kl(
        "--schema-registry", registry_url, "consume", topic, "-b", bootstrap, "--from-beginning",
        "--value-format", "avro", "--format", "json").stdout.splitlines()]
    assert records == [{"id": 1, "name": "ok"}]

    # JSON Schema names the field too; with --format json the record's "value" is the object.
    topic = fresh("bad-json")
    record = '{"key": "k", "value": {"id": 1, "name": 5}}\n'
    result = kl("--schema-registry", registry_url, "produce", topic, "-b", bootstrap, "--format", "json",
                "--value-format", "json-schema", "--value-schema", str(_file(tmp_path, "json-schema")), input=record)
    assert result.exit_code == 19, result.output
    assert "Line 1: the value does not match the schema" in result.stderr and "field 'name'" in result.stderr


def test_an_avro_value_not_exactly_of_the_schema_is_refused_and_creates_nothing(
    shared_lab: Any, registry_url: str, tmp_path: Path,
) -> None:
    # confluent-kafka's serializer would send 1.5 as 1 and drop a misspelt field: refused, and a refused
    # first value leaves neither the topic (auto-created on the lab) nor the subject behind.
    bootstrap, avsc = shared_lab.settings.lab_bootstrap, str(_file(tmp_path, "avro"))
    for line, field in (('{"id": 1.5, "name": "a"}', "field id"), ('{"id": 1, "name": "a", "nmae": "b"}', "field nmae")):
        topic = fresh("exact")
        result = kl("--schema-registry", registry_url, "produce", topic, "-b", bootstrap, "--value-format", "avro",
                    "--value-schema", avsc, input=line + "\n")
        assert result.exit_code == 19, result.output
        assert f"Line 1: the value does not match the schema of subject {topic}-value: {field}" in result.stderr
        assert kl("topic", "describe", topic, "-b", bootstrap).exit_code == 12, "the topic was created"
        subjects = kl("--schema-registry", registry_url, "schema", "list", "--json")
        assert f"{topic}-value" not in {s["subject"] for s in json.loads(subjects.stdout)}, "the schema was registered"


def test_a_wire_format_value_that_does_not_decode_is_printed_as_it_is_and_a_group_goes_on(
    shared_lab: Any, registry_url: str, tmp_path: Path,
) -> None:
    from confluent_kafka import Producer

    bootstrap, topic, group = shared_lab.settings.lab_bootstrap, fresh("undecodable"), fresh("g")
    avro = ("--schema-registry", registry_url, "produce", topic, "-b", bootstrap, "--value-format", "avro",
            "--value-schema", str(_file(tmp_path, "avro")))
    assert kl(*avro, input='{"id": 1, "name": "one"}\n').exit_code == 0
    schema_id = registry_http.app_client(registry_url).get_latest_version(f"{topic}-value").schema_id
    garbage = b"\x00" + schema_id.to_bytes(4, "big") + b"\xff\xff"  # the wire format's head, then no Order
    producer = Producer({"bootstrap.servers": bootstrap})
    producer.produce(topic, garbage)
    assert producer.flush(30) == 0
    assert kl(*avro, input='{"id": 3, "name": "three"}\n').exit_code == 0

    consume = ("--schema-registry", registry_url, "consume", topic, "-b", bootstrap, "--value-format", "avro",
               "-g", group, "--from-beginning")
    result = kl(*consume)
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes.split(b"\n") == [b'{"id":1,"name":"one"}', garbage, b'{"id":3,"name":"three"}', b""]
    assert f"offset 1 does not decode with schema id {schema_id} (" in result.stderr
    again = kl(*consume)  # the group committed past it
    assert again.exit_code == 0 and again.stdout_bytes == b"", again.output


def test_schema_commands(registry_url: str, tmp_path: Path) -> None:
    subject = fresh("cmd") + "-value"
    avsc = _file(tmp_path, "avro")
    result = kl("--schema-registry", registry_url, "schema", "register", subject, "--file", str(avsc))
    assert result.exit_code == 0, result.output
    assert f"Registered {avsc} under {subject}: id " in result.stderr and ", version 1." in result.stderr

    listed = json.loads(kl("--schema-registry", registry_url, "schema", "list", "--json").stdout)
    mine = [s for s in listed if s["subject"] == subject]
    assert mine and mine[0]["version"] == 1 and mine[0]["type"] == "avro"
    table = kl("--schema-registry", registry_url, "schema", "list")
    assert table.exit_code == 0 and subject in table.stdout

    got = json.loads(kl("--schema-registry", registry_url, "schema", "get", subject, "--json").stdout)
    assert json.loads(got["schema"]) == AVRO and got["version"] == 1 and got["id"] == mine[0]["id"]
    result = kl("--schema-registry", registry_url, "schema", "get", subject, "--version", "9")
    assert result.exit_code == 25, result.output
    assert kl("--schema-registry", registry_url, "schema", "get", "no-such-subject").exit_code == 25

    # A compatible change (a field with a default), then an incompatible one, under BACKWARD.

    registry_http.app_client(registry_url).set_compatibility(subject, "BACKWARD")
    good = tmp_path / "v2.avsc"
    good.write_text(json.dumps({**AVRO, "fields": [*AVRO["fields"], {"name": "note", "type": "string",
                                                                      "default": ""}]}))
    result = kl("--schema-registry", registry_url, "schema", "check", subject, "--file", str(good))
    assert result.exit_code == 0, result.output
    assert "is compatible with the latest version" in result.stderr
    bad = tmp_path / "bad.avsc"
    bad.write_text(json.dumps({**AVRO, "fields": [{"name": "id", "type": "string"}]}))
    result = kl("--schema-registry", registry_url, "schema", "check", subject, "--file", str(bad))
    assert result.exit_code == 26, result.output
    assert "is not compatible with the latest version of " + subject in result.stderr
    result = kl("--schema-registry", registry_url, "schema", "register", subject, "--file", str(bad))
    assert result.exit_code == 26, result.output
    assert "not compatible" in result.stderr and "STRING" in result.stderr  # the registry's reason

    result = kl("--schema-registry", registry_url, "schema", "delete", subject)  # no terminal, no --yes
    assert result.exit_code == 15, result.output
    assert subject in kl("--schema-registry", registry_url, "schema", "list").stdout
    result = kl("--schema-registry", registry_url, "schema", "delete", subject, "--yes")
    assert result.exit_code == 0, result.output
    assert f"Deleted subject {subject} (1 version: 1)." in result.stderr
    assert subject not in kl("--schema-registry", registry_url, "schema", "list").stdout
