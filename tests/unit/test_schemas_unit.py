"""The Schema Registry's answers as kafkalab's errors (kafkalab.schemas.registry), the registry a command
uses (contexts.resolve_registry) and its masked credentials, with no Docker: a refusal is a tiny HTTP
server of the test's own on 127.0.0.1 that answers every request 401; and the serdes' checks, without a
registry: an Avro value refused before its schema is registered, wire-format data that does not decode."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner

from kafkalab.cli import render
from kafkalab.cli.main import cli
from kafkalab.errors import (
    AuthenticationFailed,
    InvalidSchema,
    KafkalabError,
    RegistryUnreachable,
    SchemaIncompatible,
    SchemaNotFound,
)
from kafkalab.kafka.contexts import RegistryTarget, resolve_registry
from kafkalab.schemas.registry import registry_error, type_of

ELSEWHERE = RegistryTarget("http://127.0.0.1:1/apis/ccompat/v7", None, lab=False)


@pytest.mark.parametrize(("status", "code", "error"), [
    (401, 40101, AuthenticationFailed), (403, 40301, AuthenticationFailed), (404, 40401, SchemaNotFound),
    (404, 40402, SchemaNotFound), (404, -1, RegistryUnreachable), (409, 409, SchemaIncompatible),
    (422, 42201, InvalidSchema), (422, 42202, SchemaNotFound), (500, 50001, KafkalabError),
])
def test_each_answer_is_one_error(status: int, code: int, error: type[KafkalabError]) -> None:
    found = registry_error(ELSEWHERE, status, code, "it said so", "orders-value", 3)
    assert type(found) is error
    assert found.exit_code == {AuthenticationFailed: 16, SchemaNotFound: 25, RegistryUnreachable: 24,
                               SchemaIncompatible: 26, InvalidSchema: 27, KafkalabError: 1}[error]


def test_the_type_follows_from_the_file_name() -> None:
    assert [type_of(Path(f"s{s}"), None) for s in (".avsc", ".json", ".proto")] == ["avro", "json", "protobuf"]
    assert type_of(Path("s.txt"), "protobuf") == "protobuf"
    with pytest.raises(InvalidSchema, match="does not follow from its name") as refused:
        type_of(Path("s.txt"), None)
    assert "--type avro" in refused.value.hint


@pytest.fixture
def refusing_registry() -> Iterator[str]:
    """An HTTP server on 127.0.0.1 that answers every request 401, as a registry refusing the login."""
    seen: list[str | None] = []

    class Refuse(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # http.server's name
            seen.append(self.headers.get("Authorization"))
            body = json.dumps({"error_code": 40101, "message": "Unauthorized"}).encode()
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
    assert seen and all(a is not None and a.startswith("Basic ") for a in seen), "no basic auth was sent"


def test_a_registry_that_refuses_the_credentials_is_exit_16(
    refusing_registry: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "kafkalab.toml").write_text(
        f'[contexts.sr]\nschema_registry = "{refusing_registry}"\nschema_registry_auth = "me:${{SR_SECRET}}"\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SR_SECRET", "wrong-password")
    render.reset()
    result = CliRunner().invoke(cli, ["--context", "sr", "schema", "list"], prog_name="kafkalab")
    assert result.exit_code == 16, result.output
    assert f"The Schema Registry at {refusing_registry} refused the credentials (HTTP 401" in result.stderr
    assert "schema_registry_auth" in result.stderr

    render.reset()
    shown = CliRunner().invoke(cli, ["config", "--json"], prog_name="kafkalab")
    context = json.loads(shown.stdout)["contexts"]["sr"]
    assert context["schema_registry_auth"] == "me:********" and "wrong-password" not in shown.stdout


def test_the_flag_wins_over_the_context_and_the_lab_is_last(tmp_path: Path) -> None:
    (tmp_path / "kafkalab.toml").write_text(
        '[contexts.sr]\nschema_registry = "http://registry.example:8081/"\nschema_registry_auth = "u:${P}"\n'
    )
    env = {"P": "pw"}
    assert resolve_registry({"context": "sr"}, cwd=tmp_path, env=env) == \
        RegistryTarget("http://registry.example:8081", "u:pw", lab=False)
    assert resolve_registry({"context": "sr", "schema_registry": "http://other:1"}, cwd=tmp_path, env=env) == \
        RegistryTarget("http://other:1", None, lab=False)
    lab = resolve_registry({"project": "kltest-no-such-lab"}, cwd=tmp_path, env={})
    assert lab == RegistryTarget("http://localhost:8081/apis/ccompat/v7", None, lab=True)


def test_a_registry_url_must_be_http() -> None:
    render.reset()
    result = CliRunner().invoke(cli, ["--schema-registry", "localhost:8081", "schema", "list"], prog_name="kafkalab")
    assert result.exit_code == 3, result.output
    assert "is not an http:// or https:// URL" in result.stderr


class _Found:
    schema_id, guid, version = 1, None, 1


class _Client:
    def lookup_schema(self, *_a: Any, **_k: Any) -> _Found:
        return _Found()

    def get_associations_by_resource_name(self, *_a: Any, **_k: Any) -> list[Any]:
        return []

    def get_schema(self, *_a: Any, **_k: Any) -> Any:
        from confluent_kafka.schema_registry import Schema

        return Schema(json.dumps(ORDER), "AVRO")


class _Registry:
    """The registry an Encoder talks to, without HTTP: registered lists what was registered."""

    registered: ClassVar[list[str]] = []

    def __init__(self, _target: Any) -> None:
        self.client = _Client()

    def register(self, subject: str, *_a: Any) -> None:
        self.registered.append(subject)


ORDER = {"type": "record", "name": "O", "namespace": "n", "fields": [
    {"name": "id", "type": "int"}, {"name": "total", "type": "int", "default": 0},
    {"name": "lines", "type": {"type": "array", "items": {"type": "record", "name": "L", "fields": [
        {"name": "sku", "type": "string"}]}}, "default": []},
    {"name": "next", "type": ["null", "L"], "default": None},
]}
TARGET = RegistryTarget("http://127.0.0.1:1", None, lab=False)


@pytest.fixture
def avro_encoder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    from kafkalab.schemas import serdes

    monkeypatch.setattr(serdes, "Registry", _Registry)
    monkeypatch.setattr(_Registry, "registered", [])
    schema = tmp_path / "o.avsc"
    schema.write_text(json.dumps(ORDER))
    return serdes.Encoder(TARGET, "t", "value", "avro", schema_file=schema)


@pytest.mark.parametrize(("value", "why"), [
    ({"id": 1.5}, "field id (of n.O): 1.5 is not int"),
    ({"id": 2**40}, "field id (of n.O): 1099511627776 is not int"),
    ({"id": True}, "field id (of n.O): true is not int"),
    ({"id": 7, "totl": 3}, "field totl is not in the schema (its record has id, total, lines, next)"),
    ({"total": 3}, "field id is missing (it has no default)"),
    ({"id": 1, "lines": [{"sku": "a"}, {"sku": "b", "qty": 2}]}, "field lines.1.qty is not in the schema (its record has sku)"),
    ({"id": 1, "next": {"sku": "a", "qty": 2}}, "field next.qty is not in the schema (its record has sku)"),
    (5, "5 is not n.O"),
])
def test_an_avro_value_that_does_not_match_the_schema_is_refused_before_its_schema_is_registered(
    avro_encoder: Any, value: Any, why: str,
) -> None:
    from kafkalab.schemas.serdes import NotEncodable

    with pytest.raises(NotEncodable) as refused:
        encoded = avro_encoder(value)
        pytest.fail(f"{value!r} was encoded as {encoded[5:].hex()}")
    assert str(refused.value) == f"the value does not match the schema of subject t-value: {why}"
    assert _Registry.registered == []


def test_an_avro_value_that_matches_registers_its_schema_once(avro_encoder: Any) -> None:
    assert avro_encoder({"id": 1}) == b"\x00\x00\x00\x00\x01\x02\x00\x00\x00"
    assert avro_encoder({"id": 2, "lines": [{"sku": "a"}], "next": {"sku": "b"}})[5:] == b"\x04\x00\x02\x02a\x00\x02\x02b"
    assert _Registry.registered == ["t-value"]


def test_a_wire_format_value_that_does_not_decode_is_printed_as_it_is_with_a_note() -> None:
    from kafkalab.schemas.serdes import Decoder, schema_renderer

    decode = Decoder(TARGET, "auto")
    decode.registry.client = _Client()
    data = b"\x00\x00\x00\x00\x01" + b"\xff\xff"  # magic byte, schema id 1, then no Avro of that schema
    assert decode(data, "orders", "value") == (False, data)
    assert decode(b"\x00\x00\x00\x00\x01\x02\x00\x00\x00", "orders", "value") == (
        True, {"id": 1, "total": 0, "lines": [], "next": None})

    class Message:
        def topic(self) -> str:
            return "orders"

        def partition(self) -> int:
            return 0

        def offset(self) -> int:
            return 7

        def key(self) -> None:
            return None

        def value(self) -> bytes:
            return data

    notes: list[str] = []
    render = schema_renderer("value", b"\t", decode, keys=False, values=True, on_note=notes.append)
    assert render([Message(), Message()]) == data + b"\n" + data + b"\n"
    assert len(notes) == 1 and notes[0].startswith(
        "Note: the value at orders partition 0 offset 7 does not decode with schema id 1 (")
    assert notes[0].endswith("): it is printed as it is (later ones are not noted).")
