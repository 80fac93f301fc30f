"""Avro, JSON Schema and Protobuf records of `produce` and `consume`, through confluent-kafka's own
serializers and deserializers (Confluent's wire format: magic byte, schema id, Protobuf's message
indexes, then the payload); none of it is written here.

    encode = Encoder(target, "orders", "value", "avro", schema_file=Path("order.avsc"))
    encode({"id": 1})                      # b"\\x00\\x00\\x00\\x00\\x01\\x02", the schema registered as orders-value
    decode = Decoder(target, "auto")
    decode(b"\\x00\\x00\\x00\\x00\\x01\\x02", "orders", "value")   # (True, {"id": 1})

Protobuf needs a message class: a .proto is compiled at run time with grpcio-tools (the extra
kafkalab[protobuf]); a schema from the registry is the serialized FileDescriptorProto that
confluent-kafka's serializer registers, or .proto text, compiled the same way. The message is the
file's first (Confluent's serializers' default).

May import: kafkalab.errors, kafkalab.kafka.contexts, kafkalab.schemas.registry; confluent_kafka,
fastavro, jsonschema, google.protobuf and grpc_tools inside functions only.
"""

from __future__ import annotations

import base64
import contextlib
import json
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

from kafkalab.errors import InvalidSchema, KafkalabError
from kafkalab.kafka.contexts import RegistryTarget
from kafkalab.schemas.registry import Registry, SchemaType, read_schema, registry_errors, registry_type

RecordFormat = Literal["avro", "json-schema", "protobuf"]
RECORD_FORMATS: tuple[RecordFormat, ...] = ("avro", "json-schema", "protobuf")
SCHEMA_TYPE: dict[str, SchemaType] = {"avro": "avro", "json-schema": "json", "protobuf": "protobuf"}
Field = Literal["key", "value"]
PROTOBUF_INSTALL = "pip install 'kafkalab[protobuf]'"


class NotEncodable(ValueError):
    """A value that does not match the schema: the message names the field where it can."""


def _protobuf_missing(exc: ImportError) -> KafkalabError:
    return KafkalabError(
        f"Protobuf records need the protobuf extra, which is not installed ({exc.name} is missing).",
        f"Install it: {PROTOBUF_INSTALL}",
    )


def _context(topic: str, field: Field) -> Any:
    from confluent_kafka.serialization import MessageField, SerializationContext

    return SerializationContext(topic, MessageField.KEY if field == "key" else MessageField.VALUE)


class Encoder:
    """Encodes the key or the value of a topic's records: a schema file registered under TOPIC-key or
    TOPIC-value (the TopicNameStrategy), or a subject's latest version."""

    def __init__(
        self, target: RegistryTarget, topic: str, field: Field, fmt: RecordFormat, *,
        schema_file: Path | None = None, subject: str | None = None,
    ) -> None:
        if (schema_file is None) == (subject is None):
            raise ValueError("give schema_file or subject")
        self.target = target
        self.registry = Registry(target)
        self.type = SCHEMA_TYPE[fmt]
        self.context = _context(topic, field)
        self.field = field
        self.subject = subject or f"{topic}-{field}"
        # A schema file's text, registered with the first value that fits it: input refused creates nothing.
        # (Protobuf's serializer registers its schema itself, after the value has parsed.)
        self.unregistered: str | None = None
        if self.type == "protobuf":
            self._protobuf(schema_file)
            return
        if schema_file is not None:
            text = self.unregistered = read_schema(schema_file)
            conf = {"auto.register.schemas": False, "use.latest.version": False}
        else:
            latest = self.registry.get(self.subject)
            if latest.type != self.type:
                raise InvalidSchema(f"Subject {self.subject}'s latest version is {latest.type}, not {self.type}.",
                                    f"Give --{field}-format {'json-schema' if latest.type == 'json' else latest.type}.")
            text = latest.schema
            conf = {"auto.register.schemas": False, "use.latest.version": True}
        self.schema_text = text
        with registry_errors(target, self.subject), _schema_errors(self.subject):
            if self.type == "avro":
                from confluent_kafka.schema_registry.avro import AvroSerializer
                from fastavro import parse_schema

                self.named: dict[str, Any] = {}  # the schema's named types, by full name
                self.avro = parse_schema(json.loads(text), named_schemas=self.named)
                self.serializer = AvroSerializer(self.registry.client, text, conf=conf)
            else:
                from confluent_kafka.schema_registry.json_schema import JSONSerializer

                self.serializer = JSONSerializer(text, self.registry.client, conf=conf)

    def _protobuf(self, schema_file: Path | None) -> None:
        try:
            from confluent_kafka.schema_registry.protobuf import ProtobufSerializer
        except ImportError as exc:
            raise _protobuf_missing(exc) from None
        if schema_file is not None:
            self.message = compile_proto(read_schema(schema_file), schema_file.name)
            # The serializer registers the file's descriptor itself (auto.register.schemas), as
            # confluent-kafka's producers do: the same schema, so consumers find it as they expect.
            conf = {"auto.register.schemas": True, "use.deprecated.format": False}
        else:
            # Not use.latest.version: it asks for the schema as format=serialized, which Apicurio 3.3.3's
            # ccompat API fails (HTTP 500). The serializer looks its schema up in the subject instead.
            self.message = message_class(self.registry.get(self.subject).schema)
            conf = {"auto.register.schemas": False, "use.latest.version": False, "use.deprecated.format": False}
        self.serializer = ProtobufSerializer(self.message, self.registry.client, conf)

    def __call__(self, obj: Any) -> bytes:
        """The record's bytes in Confluent's wire format; NotEncodable when obj does not match the schema."""
        try:
            return self._encode(obj)
        except NotEncodable as exc:
            raise NotEncodable(f"the {self.field} does not match the schema of subject {self.subject}: {exc}") from None

    def _encode(self, obj: Any) -> bytes:
        from confluent_kafka.serialization import SerializationError

        if self.type == "avro":
            self._check_avro(obj)
        elif self.type == "json" and self.unregistered is not None:  # later values: the serializer checks them
            why = self._json_error(obj)
            if why is not None:
                raise NotEncodable(why)
        if self.unregistered is not None:  # incompatible: refused before any line is sent
            self.registry.register(self.subject, self.unregistered, self.type)
            self.unregistered = None
        if self.type == "protobuf":
            from google.protobuf import json_format

            try:
                obj = json_format.ParseDict(obj, self.message())
            except (json_format.ParseError, TypeError, AttributeError) as exc:
                raise NotEncodable(str(exc)) from None
        try:
            with registry_errors(self.target, self.subject):
                data = self.serializer(obj, self.context)
        except SerializationError as exc:
            raise NotEncodable(self._why(obj, exc)) from None
        except (ValueError, TypeError, AttributeError) as exc:  # fastavro's own, before the serializer wraps
            raise NotEncodable(self._why(obj, exc)) from None
        return bytes(data)

    def _why(self, obj: Any, exc: BaseException) -> str:
        """What is wrong with obj, naming the field: JSON Schema's error keeps only the message, so the
        value is validated again here to find where."""
        return (self._json_error(obj) if self.type == "json" else None) or str(exc)

    def _json_error(self, obj: Any) -> str | None:
        import jsonschema

        schema = json.loads(self.schema_text)
        validator = jsonschema.validators.validator_for(schema)(schema)
        error = jsonschema.exceptions.best_match(validator.iter_errors(obj))
        if error is None:
            return None
        where = "/".join(map(str, error.absolute_path))
        return f"field {where!r}: {error.message}" if where else error.message

    def _check_avro(self, obj: Any) -> None:
        """NotEncodable unless obj is exactly of the schema: confluent-kafka's serializer hands values to
        fastavro unchecked, which sends 1.5 for an int as 1, true as 1, and drops a field it does not know."""
        from fastavro.validation import ValidationError, validate

        why = avro_extra(obj, self.avro, self.named)
        if why is None:
            try:
                validate(obj, self.avro, raise_errors=True, strict=True)
            except ValidationError as exc:
                why = _avro_error(exc.errors[0]) if exc.errors else str(exc)
        if why is not None:
            raise NotEncodable(why)


def _avro_error(error: Any) -> str:
    """fastavro's ValidationErrorData as one line: the field (its record's name, then its own), the value."""
    schema = error.schema
    expected = schema if isinstance(schema, str) else (
        schema.get("name") or schema.get("type") if isinstance(schema, dict) else " or ".join(map(str, schema)))
    value = json.dumps(error.datum, default=str)
    value = value if len(value) <= 60 else value[:57] + "..."
    if not error.field:
        return f"{value} is not {expected}"
    record, _, name = error.field.rpartition(".")
    where = f"field {name} (of {record})" if record else f"field {name}"
    return f"{where}: {value} is not {expected}"


def avro_extra(obj: Any, schema: Any, named: dict[str, Any], path: str = "") -> str | None:
    """What fastavro's validation lets through in a JSON value of a (parsed) Avro schema: a record's field
    the schema does not have, or one it needs (no default) that is missing, at any depth; None if none."""
    schema = named.get(schema, schema) if isinstance(schema, str) else schema
    if isinstance(schema, list):  # a union: fine when one of the branches of obj's shape is
        found = [avro_extra(obj, branch, named, path) for branch in schema if _shaped(obj, branch, named)]
        return None if not found or None in found else found[0]
    kind = schema.get("type") if isinstance(schema, dict) else None
    if isinstance(kind, (str, list)) and kind not in _AVRO_KINDS:
        return avro_extra(obj, kind, named, path)  # {"type": "a.Name"}, {"type": [...]}
    if kind in ("record", "error") and isinstance(obj, dict):
        fields = {f["name"]: f for f in schema["fields"]}
        for name in obj:
            if name not in fields:
                return f"field {path + name} is not in the schema (its record has {', '.join(fields) or 'none'})"
        for name, field in fields.items():
            if name not in obj and "default" not in field:
                return f"field {path + name} is missing (it has no default)"
            if name in obj and (why := avro_extra(obj[name], field["type"], named, f"{path}{name}.")):
                return why
    elif kind == "array" and isinstance(obj, list):
        return next((w for i, item in enumerate(obj) if (w := avro_extra(item, schema["items"], named, f"{path}{i}."))),
                    None)
    elif kind == "map" and isinstance(obj, dict):
        return next((w for k, v in obj.items() if (w := avro_extra(v, schema["values"], named, f"{path}{k}."))), None)
    return None


_AVRO_KINDS = ("record", "error", "array", "map", "enum", "fixed")


def _shaped(obj: Any, schema: Any, named: dict[str, Any]) -> bool:
    """A union's branch that obj's JSON shape may be: a record or a map for an object, an array for a list."""
    schema = named.get(schema, schema) if isinstance(schema, str) else schema
    kind = schema.get("type") if isinstance(schema, dict) else None
    return (kind in ("record", "error", "map") and isinstance(obj, dict)) or (kind == "array" and isinstance(obj, list))


@contextlib.contextmanager
def _schema_errors(subject: str) -> Iterator[None]:
    """A schema that the serializer cannot parse: InvalidSchema."""
    try:
        yield
    except KafkalabError:
        raise
    except Exception as exc:  # fastavro's SchemaParseException, jsonschema's SchemaError, a JSON error
        raise InvalidSchema(f"The schema of subject {subject} does not parse: {exc}.") from None


def compile_proto(text: str, name: str = "schema.proto", indexes: list[int] | None = None) -> Any:
    """The first message class of a .proto (or the one of Protobuf's message indexes), compiled at run
    time with grpcio-tools' protoc."""
    try:
        from google.protobuf import descriptor_pb2, descriptor_pool
        from grpc_tools import protoc
    except ImportError as exc:
        raise _protobuf_missing(exc) from None
    import importlib.resources

    name = name if name.endswith(".proto") else name + ".proto"
    with tempfile.TemporaryDirectory(prefix="kafkalab-proto-") as tmp:
        Path(tmp, name).write_text(text, encoding="utf-8")
        out = Path(tmp, "set.pb")
        includes = str(importlib.resources.files("grpc_tools") / "_proto")  # google/protobuf/*.proto
        code = protoc.main(["protoc", f"-I{tmp}", f"-I{includes}", f"--descriptor_set_out={out}",
                            "--include_imports", name])
        if code != 0 or not out.exists():
            raise InvalidSchema(f"The Protobuf schema {name} does not compile (protoc exited {code}; "
                                "its errors are above).")
        files = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file
    pool = descriptor_pool.DescriptorPool()
    for proto in files:
        pool.Add(proto)
    return _first_message(pool, files[-1].name, indexes)


def _first_message(pool: Any, file_name: str, indexes: list[int] | None = None) -> Any:
    from google.protobuf import message_factory

    descriptor = pool.FindFileByName(file_name)
    if not descriptor.message_types_by_name:
        raise InvalidSchema(f"The Protobuf schema {file_name} has no message.")
    message = list(descriptor.message_types_by_name.values())[(indexes or [0])[0]]
    for index in (indexes or [0])[1:]:
        message = message.nested_types[index]
    return message_factory.GetMessageClass(message)


def message_class(schema: str, indexes: list[int] | None = None) -> Any:
    """The message class of a registry's Protobuf schema: a serialized FileDescriptorProto in base64
    (what confluent-kafka registers), or .proto text."""
    try:
        from google.protobuf import descriptor_pb2, descriptor_pool
        from google.protobuf.message import DecodeError
    except ImportError as exc:
        raise _protobuf_missing(exc) from None
    try:
        proto = descriptor_pb2.FileDescriptorProto.FromString(base64.b64decode(schema, validate=True))
        if not proto.message_type:
            raise ValueError("no message")
    except (ValueError, DecodeError):  # .proto text
        return compile_proto(schema, indexes=indexes)
    pool = descriptor_pool.DescriptorPool()
    from google.protobuf import any_pb2, timestamp_pb2  # the well-known types a schema most often imports

    for known in (any_pb2, timestamp_pb2):
        pool.AddSerializedFile(known.DESCRIPTOR.serialized_pb)
    proto.name = proto.name or "schema.proto"
    pool.Add(proto)
    return _first_message(pool, proto.name, indexes)


class Decoder:
    """Decodes keys or values in Confluent's wire format through the registry, whatever the writer's
    schema type; (False, bytes) for data that is not in the wire format."""

    def __init__(self, target: RegistryTarget, fmt: RecordFormat | Literal["auto"]) -> None:
        self.target = target
        self.fmt = fmt
        self.registry = Registry(target)
        self.types: dict[int, SchemaType | None] = {}  # schema id -> its type; None: the registry has no such id
        self.deserializers: dict[Any, Callable[[bytes, Any], Any]] = {}
        self.undecoded: str | None = None  # why the last data not decoded in the wire format did not decode

    def __call__(self, data: bytes | None, topic: str, field: Field) -> tuple[bool, Any]:
        if data is None:
            return True, None
        found = self._schema_id(data)
        if found is None:
            self.undecoded = None
            return False, data
        schema_id, indexes = found
        schema_type = self._type(schema_id)
        if schema_type is None:
            self.undecoded = None
            return False, data
        deserialize = self._deserializer(schema_type, schema_id, indexes)
        try:
            with registry_errors(self.target):
                return True, deserialize(data, _context(topic, field))
        except KafkalabError:  # the registry's: unreachable, refused
            raise
        except Exception as exc:
            # Bytes that look like the wire format but are not data of that schema (SerializationError,
            # fastavro's IndexError or EOFError, jsonschema's ValidationError, Protobuf's DecodeError,
            # whichever the deserializer lets through): as they are, with a note.
            self.undecoded = f"does not decode with schema id {schema_id} ({type(exc).__name__}: {exc})"
            return False, data

    @staticmethod
    def _schema_id(data: bytes) -> tuple[int, list[int]] | None:
        """The schema id (and Protobuf's message indexes, when they parse) of wire-format data; None if not."""
        import io

        from confluent_kafka.schema_registry.common.serde import SchemaId

        if len(data) < 5:
            return None
        try:
            found = SchemaId("AVRO")
            found.from_bytes(io.BytesIO(data))
        except Exception:  # not the magic byte: not in the wire format
            return None
        if found.id is None:
            return None
        indexes = [0]
        try:
            proto = SchemaId("PROTOBUF")
            proto.from_bytes(io.BytesIO(data))
            indexes = list(proto.message_indexes or [0])
        except Exception:  # not Protobuf's indexes: Avro or JSON Schema data
            pass
        return found.id, indexes

    def _type(self, schema_id: int) -> SchemaType | None:
        if schema_id not in self.types:
            from confluent_kafka.schema_registry import SchemaRegistryError

            try:
                with registry_errors(self.target):
                    try:
                        schema = self.registry.client.get_schema(schema_id)
                    except SchemaRegistryError as exc:
                        if exc.http_status_code != 404:
                            raise
                        schema = None
            except KafkalabError:
                raise
            self.types[schema_id] = None if schema is None else registry_type(schema.schema_type)
        return self.types[schema_id]

    def _deserializer(self, schema_type: SchemaType, schema_id: int, indexes: list[int]) -> Callable[[bytes, Any], Any]:
        key: Any = schema_type if schema_type != "protobuf" else (schema_id, tuple(indexes))
        if key not in self.deserializers:
            client = self.registry.client
            if schema_type == "avro":
                from confluent_kafka.schema_registry.avro import AvroDeserializer

                self.deserializers[key] = AvroDeserializer(client)
            elif schema_type == "json":
                from confluent_kafka.schema_registry.json_schema import JSONDeserializer

                self.deserializers[key] = JSONDeserializer(None, schema_registry_client=client)
            else:
                try:
                    from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer
                    from google.protobuf import json_format
                except ImportError as exc:
                    raise _protobuf_missing(exc) from None
                with registry_errors(self.target):
                    raw = client.get_schema(schema_id).schema_str
                message = message_class(raw, indexes)
                # No registry client: with one, the deserializer asks for the writer's schema as
                # format=serialized, which Apicurio 3.3.3's ccompat API fails (HTTP 500). Given the
                # message class, it reads the wire format (id, message indexes) and parses the rest.
                inner = ProtobufDeserializer(message, {"use.deprecated.format": False}, None)

                def as_dict(data: bytes, ctx: Any, inner: Any = inner) -> Any:
                    return json_format.MessageToDict(inner(data, ctx), preserving_proto_field_name=True)

                self.deserializers[key] = as_dict
        return self.deserializers[key]


def plain(value: Any) -> Any:
    """A decoded value as JSON can hold it: bytes as {"base64": ...}, anything else (a date, a Decimal) as text."""
    if isinstance(value, bytes):
        return {"base64": base64.b64encode(value).decode("ascii")}
    return str(value)


def to_json(value: Any) -> str:
    return json.dumps(value, default=plain, separators=(",", ":"), ensure_ascii=False)



def schema_renderer(
    fmt: Literal["value", "kv", "json"], key_separator: bytes, decode: Decoder, *, keys: bool, values: bool,
    on_note: Callable[[str], None],
) -> Callable[[Any], bytes]:
    """consume's renderer (kafkalab.kafka.records.renderer's shapes) for messages whose keys and/or values
    are decoded: a decoded one as its JSON text (in --format json, as a JSON object); one not in the wire
    format as it is, with a note (the first only) through on_note."""
    from kafkalab.kafka.records import json_record, text_or_base64

    noted: list[bool] = []

    def field(message: Any, name: Field, data: bytes | None) -> tuple[bool, Any]:
        decoded, found = decode(data, message.topic(), name)
        if not decoded and not noted:
            noted.append(True)
            why = decode.undecoded or ("is not in Confluent's wire format (or its schema id is not in the "
                                       "registry)")
            on_note(f"Note: the {name} at {message.topic()} partition {message.partition()} offset "
                    f"{message.offset()} {why}: it is printed as it is (later ones are not noted).")
        return decoded, found

    def as_bytes(decoded: bool, found: Any) -> bytes:
        if decoded:
            return b"" if found is None else to_json(found).encode()
        return found or b""

    def one(message: Any) -> bytes:
        key = field(message, "key", message.key()) if keys else (False, message.key())
        value = field(message, "value", message.value()) if values else (False, message.value())
        if fmt == "value":
            return as_bytes(*value) + b"\n"
        if fmt == "kv":
            return as_bytes(*key) + key_separator + as_bytes(*value) + b"\n"
        record = json_record(message)
        for name, (decoded, found) in (("key", key), ("value", value)):
            record[name] = found if decoded else text_or_base64(found)
        return (to_json(record) + "\n").encode()

    def render(messages: Any) -> bytes:
        return b"".join([one(m) for m in messages])

    return render
