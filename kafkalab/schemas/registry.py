"""A Schema Registry: confluent-kafka's SchemaRegistryClient for a RegistryTarget (its URL, and basic
auth "user:password"), what the `kafkalab schema` commands ask of it, and its errors as kafkalab's, ONCE
(registry_errors): no registry there (RegistryUnreachable), 401/403 (AuthenticationFailed, exit 16 as
for Kafka), no such subject or version (SchemaNotFound), an incompatible schema (SchemaIncompatible), a
schema it cannot parse (InvalidSchema).

    from kafkalab.kafka.contexts import RegistryTarget
    from kafkalab.schemas import registry
    found = registry.Registry(RegistryTarget("http://localhost:8081/apis/ccompat/v7", None, lab=False))
    found.register("orders-value", open("order.avsc").read(), "avro")

May import: kafkalab.errors, kafkalab.kafka.contexts; confluent_kafka.schema_registry inside functions only.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from kafkalab.errors import (
    AuthenticationFailed,
    InvalidSchema,
    KafkalabError,
    RegistryUnreachable,
    SchemaIncompatible,
    SchemaNotFound,
)
from kafkalab.kafka.contexts import CCOMPAT_PATH, RegistryTarget

SchemaType = Literal["avro", "json", "protobuf"]
SCHEMA_TYPES: tuple[SchemaType, ...] = ("avro", "json", "protobuf")
# The registry's names of the types (schemaType; none is AVRO), and back.
REGISTRY_TYPE: dict[SchemaType, str] = {"avro": "AVRO", "json": "JSON", "protobuf": "PROTOBUF"}
TYPE_OF_FILE: dict[str, SchemaType] = {".avsc": "avro", ".json": "json", ".proto": "protobuf"}
TIMEOUT = 10  # seconds one request to the registry may take
RETRIES = 1  # confluent-kafka retries refused connections and 5xx itself: once, so that "none there" is quick


def type_of(path: Path, given: str | None) -> SchemaType:
    """The type of a schema file: --type when given, else its suffix (.avsc, .json, .proto)."""
    if given is not None:
        return given  # type: ignore[return-value]  # click.Choice(SCHEMA_TYPES) checked it
    if path.suffix.lower() in TYPE_OF_FILE:
        return TYPE_OF_FILE[path.suffix.lower()]
    raise InvalidSchema(
        f"The type of schema file {path} does not follow from its name (.avsc, .json or .proto).",
        "Give it with --type avro, --type json or --type protobuf.",
    )


def read_schema(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidSchema(f"Cannot read schema file {path}: {exc}.") from None


def registry_type(name: str | None) -> SchemaType:
    """kafkalab's name of a registry's schemaType (none is Avro)."""
    return {v: k for k, v in REGISTRY_TYPE.items()}.get((name or "AVRO").upper(), "avro")


@dataclasses.dataclass(frozen=True)
class SubjectSummary:
    subject: str
    version: int
    type: SchemaType
    id: int


@dataclasses.dataclass(frozen=True)
class SchemaVersion:
    subject: str
    version: int
    id: int
    type: SchemaType
    schema: str


@dataclasses.dataclass(frozen=True)
class Check:
    """`schema check`: compatible with the subject's latest version, or the registry's reasons why not."""

    subject: str
    compatible: bool
    reasons: tuple[str, ...]


def make_client(target: RegistryTarget) -> Any:
    """confluent-kafka's SchemaRegistryClient for the target."""
    from confluent_kafka.schema_registry import SchemaRegistryClient

    conf: dict[str, Any] = {"url": target.url, "timeout": TIMEOUT, "max.retries": RETRIES}
    if target.auth is not None:
        conf["basic.auth.user.info"] = target.auth if ":" in target.auth else target.auth + ":"
    return SchemaRegistryClient(conf)


@contextlib.contextmanager
def registry_errors(
    target: RegistryTarget, subject: str | None = None, version: int | str | None = None,
) -> Iterator[None]:
    """The registry's errors (and a registry that is not there) as kafkalab's: the one place they are mapped."""
    from confluent_kafka.schema_registry import SchemaRegistryError
    from confluent_kafka.schema_registry.common._httpx_compat import httpx

    try:
        yield
    except SchemaRegistryError as exc:
        message = str(exc.error_message).rstrip(".")
        raise registry_error(target, exc.http_status_code, exc.error_code, message, subject, version) from None
    except httpx.HTTPError as exc:
        raise _unreachable(target, f"{type(exc).__name__}: {exc}") from None


def registry_error(
    target: RegistryTarget, status: int, code: int | None, message: str, subject: str | None = None,
    version: int | str | None = None,
) -> KafkalabError:
    """The kafkalab error of a registry's answer: HTTP status, the registry's error_code and message."""
    what = f"subject {subject}" if subject is not None else "it"
    if status in (401, 403):
        return AuthenticationFailed(
            f"The Schema Registry at {target.url} refused the credentials (HTTP {status}: {message}).",
            "Check schema_registry_auth (\"user:password\") of the context; `kafkalab config` shows it, masked."
            if target.auth is not None else
            "It wants a login: give schema_registry_auth = \"user:${PASSWORD}\" in a context's table.",
        )
    if status == 404 and code == 40402 and version is not None:
        return SchemaNotFound(f"Subject {subject} has no version {version} at {target.url}.",
                              f"`kafkalab schema get {subject}` shows its latest version.")
    if status == 404 and code in (40401, 40402, 40403, 40404, 40405, 40406):
        return SchemaNotFound(f"The Schema Registry at {target.url} has no {what}: {message}.")
    if status == 404:  # no registry's error code: a web server, but no registry's API at this path
        return _unreachable(target, f"HTTP 404 at {target.url}/subjects, with no registry's error")
    if status == 409:
        return SchemaIncompatible(f"The schema is not compatible with {what} at {target.url}: {message}.")
    if status == 422 and code == 42202:
        return SchemaNotFound(f"{version!r} is no version of {what}: {message}.")
    if status == 422:
        return InvalidSchema(f"The Schema Registry at {target.url} refused the schema of {what}: {message}.")
    return KafkalabError(f"The Schema Registry at {target.url} answered HTTP {status}: {message}.")


def _unreachable(target: RegistryTarget, why: str) -> RegistryUnreachable:
    hint = RegistryUnreachable.hint if target.lab else RegistryUnreachable.hint_elsewhere
    if not target.lab and not target.url.endswith(CCOMPAT_PATH):
        hint += f" Apicurio Registry serves the Confluent API under {CCOMPAT_PATH}: give URL{CCOMPAT_PATH}."
    return RegistryUnreachable(f"No Schema Registry answers at {target.url} ({why}).", hint)


class Registry:
    """What `kafkalab schema` asks of a registry; each answer checked (registry_errors)."""

    def __init__(self, target: RegistryTarget) -> None:
        self.target = target
        self.client = make_client(target)

    def subjects(self) -> list[SubjectSummary]:
        """Each subject with its latest version, type and id, by name."""
        found = []
        with registry_errors(self.target):
            names = sorted(self.client.get_subjects())
        for name in names:
            latest = self.get(name)
            found.append(SubjectSummary(name, latest.version, latest.type, latest.id))
        return found

    def get(self, subject: str, version: int | str = "latest") -> SchemaVersion:
        with registry_errors(self.target, subject, None if version == "latest" else version):
            if version == "latest":
                found = self.client.get_latest_version(subject)
            else:
                found = self.client.get_version(subject, version)
        schema = found.schema
        return SchemaVersion(subject, found.version, found.schema_id, registry_type(schema.schema_type),
                             schema.schema_str)

    def register(self, subject: str, text: str, schema_type: SchemaType) -> SchemaVersion:
        """Register the schema under the subject (a schema it has already keeps its version); its id and version."""
        from confluent_kafka.schema_registry import Schema

        with registry_errors(self.target, subject):
            found = self.client.register_schema_full_response(subject, Schema(text, REGISTRY_TYPE[schema_type]))
            schema_id = found.schema_id
            version = found.version
            if version is None:  # a registry that answers with the id alone
                version = self.client.lookup_schema(subject, Schema(text, REGISTRY_TYPE[schema_type])).version
        return SchemaVersion(subject, version, schema_id, schema_type, text)

    def lookup(self, subject: str, text: str, schema_type: SchemaType) -> SchemaVersion | None:
        """The version of the subject that holds the schema, any of its versions (POST /subjects/SUBJECT:
        the registry compares the schemas as it parses them); None when none does, or there is no such subject."""
        from confluent_kafka.schema_registry import Schema

        try:
            with registry_errors(self.target, subject):
                found = self.client.lookup_schema(subject, Schema(text, REGISTRY_TYPE[schema_type]))
        except SchemaNotFound:  # 40401 no such subject, 40403 no such schema under it
            return None
        return SchemaVersion(subject, found.version, found.schema_id, schema_type, text)

    def check(self, subject: str, text: str, schema_type: SchemaType) -> Check:
        """Whether the schema is compatible with the subject's latest version, with the registry's reasons.

        verbose=true asks for the reasons (Confluent's and Apicurio's ccompat both give them); the client's
        test_compatibility keeps only the yes or no, so the request is made through its REST client.
        """
        from confluent_kafka.schema_registry import Schema

        path = f"compatibility/subjects/{quote(subject, safe='')}/versions/latest?verbose=true"
        with registry_errors(self.target, subject, "latest"):
            answer = self.client._rest_client.post(path, body=Schema(text, REGISTRY_TYPE[schema_type]).to_dict())
        reasons = answer.get("messages") or [] if isinstance(answer, dict) else []
        compatible = bool(answer.get("is_compatible")) if isinstance(answer, dict) else False
        return Check(subject, compatible, tuple(str(r) for r in reasons))

    def delete(self, subject: str, version: int | None = None) -> list[int]:
        """Delete a version of the subject, or the whole subject; the versions deleted."""
        with registry_errors(self.target, subject, version):
            if version is not None:
                return [self.client.delete_version(subject, version)]
            return list(self.client.delete_subject(subject))
