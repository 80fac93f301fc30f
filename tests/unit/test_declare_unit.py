"""The declaration of the lab as code, without Kafka: finding lines in TOML, parsing and checking
[topics.NAME] and [schemas."SUBJECT"], the plan of a topic (its configs in Kafka's normal form), the
plan of schemas (a registry faked), carrying a plan out (refused whole), up's one line, and export's
TOML read back as it was written."""

from __future__ import annotations

import dataclasses
import json
import tomllib
from pathlib import Path
from typing import Any, ClassVar

import pytest

from kafkalab.declare import plan, schemas
from kafkalab.declare.base import Cluster, Counted, Refusal, Step, Where
from kafkalab.declare.locate import locate, split_key
from kafkalab.declare.schemas import DeclaredSchema, RegisterSchema, SchemaKind, same_schema
from kafkalab.declare.topics import (
    AddPartitions,
    CreateTopic,
    DeclaredTopic,
    Existing,
    ResetConfig,
    SetConfig,
    plan_topic,
)
from kafkalab.errors import EXIT_CODES, ConfigError, KafkaRequestError, PlanRefused, SchemaNotFound
from kafkalab.kafka.contexts import RegistryTarget
from kafkalab.schemas.registry import SchemaVersion
from kafkalab.settings import DECLARED_TABLES, resolve

EXAMPLE = """\
# the lab of the orders service
port = 9094

[topics.orders]
partitions = 3
replication_factor = 1          # default: the mode's
config = { "cleanup.policy" = "compact", "retention.ms" = 604800000 }

[topics.events]
partitions = 2
seed = "fixtures/events.jsonl"

[topics."orders.eu"]

[schemas."orders-value"]
file = "schemas/order.avsc"
"""
EVENTS = '{"key": "a", "value": "one"}\n\n{"value": {"n": 1}, "partition": 1, "headers": {"h": "v"}}\n'


def write(folder: Path, text: str = EXAMPLE, events: str = EVENTS, name: str = "kafkalab.toml") -> Path:
    (folder / "fixtures").mkdir(exist_ok=True)
    (folder / "schemas").mkdir(exist_ok=True)
    (folder / "fixtures" / "events.jsonl").write_text(events)
    (folder / "schemas" / "order.avsc").write_text('{"type": "record", "name": "Order", "fields": []}')
    path = folder / name
    path.write_text(text)
    return path


def error_of(folder: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        plan.load(folder)
    assert caught.value.exit_code == 3
    return caught.value.message


# --- lines --------------------------------------------------------------------------------------


def test_locate_finds_headers_keys_and_inline_tables() -> None:
    text = EXAMPLE + '\n[topics]\nlogs = { partitions = 1 }\n"a.b".partitions = 2\n'
    assert locate(text, ("topics", "orders")) == 4
    assert locate(text, ("topics", "orders", "config")) == 7
    assert locate(text, ("topics", "orders.eu")) == 13
    assert locate(text, ("schemas", "orders-value", "file")) == 16
    assert locate(text, ("topics", "logs")) == 19
    assert locate(text, ("topics", "logs", "partitions")) == 19  # in its inline table: that line
    assert locate(text, ("topics", "a.b", "partitions")) == 20
    assert locate(text, ("topics", "nowhere")) is None
    assert locate('[tool.kafkalab.topics."x"]\n', ("tool", "kafkalab", "topics", "x")) == 1
    assert split_key("topics . 'a.b' . \"c\\\"d\"") == ("topics", "a.b", 'c"d')


# --- parsing ------------------------------------------------------------------------------------


def test_the_example_declaration_parses(tmp_path: Path) -> None:
    write(tmp_path)
    found = plan.load(tmp_path)
    orders, events, eu = found.objects["topics"]
    assert (orders.name, orders.partitions, orders.replication) == ("orders", 3, 1)
    assert orders.config == {"cleanup.policy": "compact", "retention.ms": "604800000"}  # TOML's number as text
    assert (events.partitions, events.replication, events.seed) == (2, None, "fixtures/events.jsonl")
    assert events.records == ((b"one", b"a", None, None, []), (b'{"n": 1}', None, 1, None, [("h", b"v")]))
    assert (eu.name, eu.partitions, eu.config) == ("orders.eu", None, {})  # not written: not compared
    (schema,) = found.objects["schemas"]
    assert (schema.name, schema.type) == ("orders-value", "avro")
    assert found.count() == "3 topics, 1 schema"
    # The declaration does not trouble the settings, which share the file.
    assert resolve({}, env={}, cwd=tmp_path).port == 9094


def test_no_file_and_no_tables_declare_nothing(tmp_path: Path) -> None:
    assert plan.load(tmp_path).empty
    (tmp_path / "kafkalab.toml").write_text("port = 9094\n")
    assert plan.load(tmp_path).empty


def test_an_unknown_key_names_the_file_the_table_and_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, EXAMPLE.replace("partitions = 2", "partitons = 2"))
    assert error_of(tmp_path) == f"{path}, line 10, [topics.events]: unknown key 'partitons'."


def test_pyproject_tables_are_found_with_their_lines(tmp_path: Path) -> None:
    path = write(tmp_path, '[project]\nname = "svc"\n\n[tool.kafkalab.topics.orders]\npartitions = 0\n',
                 name="pyproject.toml")
    assert error_of(tmp_path) == f"{path}, line 5, [topics.orders]: partitions = 0 is not a whole number from 1 to 100,000."


@pytest.mark.parametrize(("table", "expected"), [
    ('[topics.a]\npartitions = "3"\n', "line 2, [topics.a]: partitions = \"3\" is not a whole number"),
    ("[topics.a]\nreplication_factor = true\n", "line 2, [topics.a]: replication_factor = true is not a whole"),
    ('[topics.a]\nconfig = "x"\n', "line 2, [topics.a]: config must be a table"),
    ("[topics.a]\nconfig = { x = [1] }\n", "line 2, [topics.a]: config x = [1] is no config value"),
    ('[topics."a b"]\n', "line 1, [topics.\"a b\"]: 'a b' is no topic name"),
    ("topics = 3\n", "line 1, [topics]: topics must be a table of [topics.NAME] tables."),
    ("[topics]\na = 3\n", "line 2, [topics.a]: a topic's declaration must be a table"),
    ('[topics.a]\nseed = "missing.jsonl"\n', "line 2, [topics.a]: seed file "),
    ('[schemas.s]\nfile = "schemas/order.avsc"\nschema = "{}"\n', "line 1, [schemas.s]: give either file"),
    ('[schemas.s]\nfile = "nothing.avsc"\n', "line 2, [schemas.s]: schema file "),
    ('[schemas.s]\nfile = "order.txt"\n', "line 2, [schemas.s]: the type of schema file order.txt does not"),
    ('[schemas.s]\nschema = "{}"\ntype = "xml"\n', "line 3, [schemas.s]: type = \"xml\" is none of"),
])
def test_bad_values_are_errors_with_their_line(tmp_path: Path, table: str, expected: str) -> None:
    path = write(tmp_path, table)
    assert error_of(tmp_path).startswith(f"{path}, {expected}")


@pytest.mark.parametrize(("events", "expected"), [
    ('{"key": "a"}\n', 'line 1 of seed file {seed} is not a record: it has no "value"'),
    ('\n{"value": "v"}\nnot json\n', "line 3 of seed file {seed} is not a record: it is not JSON"),
    ('{"value": "v", "partition": 2}\n', "line 1 of seed file {seed} is for partition 2, and the topic has 2 (0 to 1)."),
])
def test_a_seed_file_that_does_not_parse_is_an_error(tmp_path: Path, events: str, expected: str) -> None:
    path = write(tmp_path, events=events)
    seed = tmp_path / "fixtures" / "events.jsonl"
    assert error_of(tmp_path).startswith(f"{path}, line 11, [topics.events]: " + expected.format(seed=seed))


def test_config_tables_take_unquoted_dotted_keys(tmp_path: Path) -> None:
    # TOML reads `cleanup.policy = "compact"` as {"cleanup": {"policy": "compact"}}: the keys are joined again.
    write(tmp_path, '[topics.a.config]\ncleanup.policy = "compact"\n"retention.ms" = 1000\nsegment.bytes = 1048576\n'
                    '[topics.b]\nconfig = { min.insync.replicas = 1 }\n')
    a, b = plan.load(tmp_path).objects["topics"]
    assert a.config == {"cleanup.policy": "compact", "retention.ms": "1000", "segment.bytes": "1048576"}
    assert b.config == {"min.insync.replicas": "1"}


@pytest.mark.parametrize(("table", "expected"), [
    ('[topics.a.config]\n"cleanup.policy" = "compact"\ncleanup.policy = "delete"\n',
     "[topics.a]: config 'cleanup.policy' is written twice (quoted and as a dotted key)."),
    ("[topics.a.config]\nretention = {}\n", "[topics.a]: config retention = {} is no config value"),
])
def test_a_config_key_written_twice_or_an_empty_table_is_an_error(tmp_path: Path, table: str, expected: str) -> None:
    path = write(tmp_path, table)
    assert error_of(tmp_path).startswith(f"{path}, line ") and expected in error_of(tmp_path)


def test_an_inline_schema_and_its_type(tmp_path: Path) -> None:
    write(tmp_path, '[schemas."a"]\nschema = \'{"type": "string"}\'\n[schemas."b"]\nschema = "{}"\ntype = "json"\n')
    a, b = plan.load(tmp_path).objects["schemas"]
    assert (a.text, a.type, b.type) == ('{"type": "string"}', "avro", "json")


# --- the plan -----------------------------------------------------------------------------------


def topic(**changes: Any) -> DeclaredTopic:
    where = Where(Path("kafkalab.toml"), ("topics", "orders"))
    return dataclasses.replace(DeclaredTopic("orders", where, 3, None, {"retention.ms": "1000"}), **changes)


def test_a_missing_topic_is_created_with_the_clusters_replication_unless_declared() -> None:
    (step,), refused = plan_topic(topic(), None, 3)
    assert step == CreateTopic("topic", "orders", 3, 3, {"retention.ms": "1000"}, ())
    assert refused == []
    (step,), _ = plan_topic(topic(replication=1), None, 3)
    assert isinstance(step, CreateTopic) and step.replication == 1
    assert step.describe() == "create topic orders (3 partitions, replication 1, 1 config)"


def test_an_existing_topic_grows_and_has_its_configs_set_and_reset() -> None:
    have = Existing(2, 1, {"retention.ms": "5", "cleanup.policy": "compact"})
    steps, refused = plan_topic(topic(), have, 1)
    assert steps == [AddPartitions("topic", "orders", 2, 3), SetConfig("topic", "orders", "retention.ms", "5", "1000"),
                     ResetConfig("topic", "orders", "cleanup.policy", "compact")]
    assert refused == []
    assert plan_topic(topic(), Existing(3, 1, {"retention.ms": "1000"}), 1) == ([], [])


def test_a_shrink_and_a_replication_change_are_refused() -> None:
    steps, refused = plan_topic(topic(partitions=2, replication=3), Existing(4, 1, {"retention.ms": "1000"}), 1)
    assert steps == []
    assert [r.why for r in refused] == [
        "2 partitions declared, and it has 4: Kafka cannot remove partitions",
        "replication factor 3 declared, and it has 1: kafkalab does not reassign replicas",
    ]
    # Not declared: whatever the topic has is fine.
    assert plan_topic(topic(), Existing(3, 2, {"retention.ms": "1000"}), 3) == ([], [])


@pytest.mark.parametrize(("key", "written", "broker_says"), [  # written: as TOML
    ("cleanup.policy", '"compact, delete"', "compact,delete"),  # a LIST: Kafka joins its items with ","
    ("min.cleanable.dirty.ratio", "1", "1.0"),  # a DOUBLE: Java's Double.toString
    ("min.cleanable.dirty.ratio", "1e-4", "1.0E-4"),
    ("unclean.leader.election.enable", '"True"', "true"),  # a BOOLEAN
    ("unclean.leader.election.enable", "false", "false"),
    ("retention.ms", '" 604800000 "', "604800000"),  # every value is trimmed
    ("retention.ms", "9007199254740993", "9007199254740993"),  # a LONG beyond a float's precision
])
def test_a_config_kafka_describes_in_its_normal_form_is_no_difference(
        tmp_path: Path, key: str, written: str, broker_says: str) -> None:
    write(tmp_path, f'[topics.orders]\nconfig = {{ "{key}" = {written} }}\n')
    (declared,) = plan.load(tmp_path).objects["topics"]
    assert plan_topic(declared, Existing(1, 1, {key: broker_says}), 1) == ([], [])


@pytest.mark.parametrize(("written", "broker_says"), [
    ("compact", "compact,delete"), ("delete,compact", "compact,delete"), ("0.5", "0.55"),
    ("9007199254740993", "9007199254740992"), ("yes", "true"), ("LZ4", "lz4"),
])
def test_a_config_that_differs_in_kafkas_normal_form_is_set(written: str, broker_says: str) -> None:
    steps, _ = plan_topic(topic(config={"x": written}), Existing(3, 1, {"x": broker_says}), 1)
    assert steps == [SetConfig("topic", "orders", "x", broker_says, written)]


def test_unwritten_partitions_are_not_compared_and_a_new_topic_has_one(tmp_path: Path) -> None:
    unwritten = topic(partitions=None)
    assert plan_topic(unwritten, Existing(6, 1, {"retention.ms": "1000"}), 1) == ([], [])
    (step,), _ = plan_topic(unwritten, None, 1)
    assert isinstance(step, CreateTopic) and step.partitions == 1
    assert step.describe() == "create topic orders (1 partition, replication 1, 1 config)"
    # Seeds are produced only into a topic the plan creates: with 1 partition, when not written.
    write(tmp_path, '[topics.events]\nseed = "fixtures/events.jsonl"\n', events='{"value": "v", "partition": 1}\n')
    assert "is for partition 1, and the topic has 1 (0 to 0)." in error_of(tmp_path)


@dataclasses.dataclass
class FakeRegistry:
    """A registry's subjects, as lists of versions' texts (version 1 first), as SchemaKind.plan asks them."""

    subjects: dict[str, list[str]]
    looked_up: list[str] = dataclasses.field(default_factory=list)

    def __call__(self, _target: Any) -> FakeRegistry:
        return self

    def get(self, subject: str) -> Any:
        if subject not in self.subjects:
            raise SchemaNotFound(f"no subject {subject}")
        versions = self.subjects[subject]
        return SchemaVersion(subject, len(versions), 1, "avro", versions[-1])

    def lookup(self, subject: str, text: str, _type: str) -> Any:
        self.looked_up.append(subject)
        versions = self.subjects.get(subject, [])
        return SchemaVersion(subject, versions.index(text) + 1, 1, "avro", text) if text in versions else None


def test_a_schema_an_older_version_holds_is_not_registered_again(monkeypatch: pytest.MonkeyPatch) -> None:
    v1, v2, v3 = '{"type": "string"}', '["null", "string"]', '["null", "string", "int"]'
    fake = FakeRegistry({"old": [v1, v2], "latest": [v1, v2], "new": [v1, v2]})
    monkeypatch.setattr(schemas, "Registry", fake)
    where = Where(Path("kafkalab.toml"), ("schemas", "s"))
    declared = [DeclaredSchema("old", where, v1, "avro"), DeclaredSchema("latest", where, v2 + "\n", "avro"),
                DeclaredSchema("new", where, v3, "avro"), DeclaredSchema("none", where, v1, "avro")]
    steps, refused = SchemaKind().plan(declared, Cluster("x:1", registry=RegistryTarget("http://r", None, lab=True)))
    assert [s.describe() for s in steps] == ["register schema new (avro, a new version after version 2)",
                                             "register schema none (avro, a new subject)"]
    assert refused == []
    assert fake.looked_up == ["old", "new"]  # the latest, whatever its spacing, needs no lookup


@dataclasses.dataclass(frozen=True)
class Recorded(Step):
    action: ClassVar[str] = "record"
    on_up: ClassVar[bool] = True
    kind: str
    name: str
    done: list[str]
    counted: tuple[Counted, ...] = ()

    def describe(self) -> str:
        return f"record {self.name}"

    def carry_out(self, cluster: Cluster) -> list[Counted]:
        self.done.append(self.name)
        return list(self.counted)


@dataclasses.dataclass(frozen=True)
class Growing(Recorded):
    on_up: ClassVar[bool] = False


def test_a_refused_plan_carries_out_no_step() -> None:
    done: list[str] = []
    found = plan.Plan(plan.Declaration(None, {}), (Recorded("topic", "a", done),),
                      (Refusal("topic", "b", "it cannot"),))
    with pytest.raises(PlanRefused) as caught:
        plan.apply(found, Cluster("localhost:1"))
    assert done == []
    assert caught.value.exit_code == 29 == EXIT_CODES["PlanRefused"]
    assert caught.value.message == "The plan is refused, nothing of it was applied: topic b: it cannot."


@dataclasses.dataclass(frozen=True)
class Invalid(Recorded):
    def validate(self, cluster: Cluster) -> None:
        raise KafkaRequestError(f"Could not do {self.name}: no.")


def test_a_step_the_cluster_would_refuse_stops_the_plan_before_any_change() -> None:
    done: list[str] = []
    found = plan.Plan(plan.Declaration(None, {}), (Recorded("topic", "a", done), Invalid("topic", "b", done)), ())
    with pytest.raises(KafkaRequestError) as caught:
        plan.apply(found, Cluster("localhost:1"))
    assert done == []
    assert caught.value.message == "Could not do b: no. Nothing of the plan was applied."
    assert caught.value.hint == KafkaRequestError.hint  # no declaration: the error's own hint


def test_a_value_the_broker_refuses_names_the_declarations_line(tmp_path: Path) -> None:
    """apply's and --dry-run's validate(): a step the broker refuses hints at where the declaration
    writes it (the config's line, the table's for the others); refusals first, as PlanRefused."""
    path = write(tmp_path, EXAMPLE.replace('"retention.ms" = 604800000', '"retention.ms" = "abc"'))
    declaration = plan.load(tmp_path)

    @dataclasses.dataclass(frozen=True)
    class Refused(SetConfig):
        def validate(self, cluster: Cluster) -> None:
            raise KafkaRequestError(f"Could not set config {self.key} of topic {self.name}: Invalid value abc.")

    found = plan.Plan(declaration, (Refused("topic", "orders", "retention.ms", None, "abc"),), ())
    with pytest.raises(KafkaRequestError) as caught:
        plan.validate(found, Cluster("localhost:1"))
    assert caught.value.hint == (f"Fix the declaration at {path}, line 7, [topics.orders]; docs/declare.md shows "
                                 "every key.")
    with pytest.raises(PlanRefused):
        plan.validate(dataclasses.replace(found, refused=(Refusal("topic", "orders", "it shrinks"),)), Cluster("x:1"))
    assert plan.validate(dataclasses.replace(found, steps=()), Cluster("x:1")) == []
    where = declaration.objects["topics"][1].where
    assert (where.at(), where.at("partitions"), where.at("config", "x")) == (
        f"{path}, line 9, [topics.events]", f"{path}, line 10, [topics.events]", f"{path}, line 9, [topics.events]")


def test_values_in_errors_are_written_as_toml_writes_them() -> None:
    from datetime import date

    from kafkalab.declare.locate import toml_value

    assert [toml_value(v) for v in (True, False, 3, 1.5, "a'b", [1, "x"], {"a b": 1}, {}, date(2024, 5, 1))] == [
        "true", "false", "3", "1.5", '"a\'b"', '[1, "x"]', '{ "a b" = 1 }', "{}", "2024-05-01"]


def test_a_seed_files_bad_timestamp_ends_with_one_period(tmp_path: Path) -> None:
    write(tmp_path, events='{"value": "v", "timestamp": "bad"}\n')
    message = error_of(tmp_path)
    assert message.endswith("without an offset).") and not message.endswith(".."), message


def test_a_new_subjects_schema_must_be_json() -> None:
    from kafkalab.errors import InvalidSchema

    cluster = Cluster("x:1", registry=RegistryTarget("http://r", None, lab=True))
    with pytest.raises(InvalidSchema) as caught:
        RegisterSchema("schema", "s", "{bad", "avro", None).validate(cluster)
    assert caught.value.message.startswith("The schema of s is not JSON: ") and caught.value.exit_code == 27
    RegisterSchema("schema", "s", '{"type": "string"}', "avro", None).validate(cluster)
    RegisterSchema("schema", "s", "syntax = {bad", "protobuf", None).validate(cluster)  # left to the registry


def test_a_with_setting_that_leaves_the_registry_out_says_the_lab_would_run_none() -> None:
    from kafkalab.declare.base import lab_cluster
    from kafkalab.settings import RECORD_SOURCE, Settings

    assert lab_cluster(Settings(project="x")).missing_registry == "the lab x runs no Schema Registry"
    recorded = Settings(project="x", sources={"with_": RECORD_SOURCE})
    assert lab_cluster(recorded).missing_connect == "the lab x runs no Kafka Connect"
    given = lab_cluster(Settings(project="x", sources={"with_": "/p/kafkalab.toml"}))
    assert given.missing_registry == ("the lab x would run no Schema Registry: the with setting of "
                                      "/p/kafkalab.toml leaves it out")
    flag = lab_cluster(Settings(project="x", sources={"with_": "flag"}))
    assert flag.missing_connect == "the lab x would run no Kafka Connect: --with leaves it out"


def test_up_makes_what_is_missing_and_notes_what_differs() -> None:
    done: list[str] = []
    counted = (Counted(1, "topic", "created"), Counted(5, "record", "seeded"))
    found = plan.Plan(plan.Declaration(None, {}), (
        Recorded("topic", "a", done, counted), Growing("topic", "b", done), Recorded("topic", "c", done, counted[:1]),
        Recorded("schema", "s", done, (Counted(1, "schema", "registered"),)),
    ), (Refusal("topic", "d", "it shrinks"),))
    applied = plan.apply(found, Cluster("localhost:1"), only_up=True)
    assert done == ["a", "c", "s"]
    assert applied.summary() == "2 topics created, 5 records seeded, 1 schema registered"
    assert applied.notes() == [
        "The topic b differs from its declaration (record b): left as it is; `kafkalab apply` shows the plan.",
        "The topic d differs from its declaration (it shrinks): left as it is; `kafkalab apply` shows the plan.",
    ]
    assert plan.apply(plan.Plan(plan.Declaration(None, {}), (), ()), Cluster("x:1")).summary() == "nothing to do"


def test_schemas_need_a_registry_before_anything_starts(tmp_path: Path) -> None:
    path = write(tmp_path)
    declaration = plan.load(tmp_path)
    with pytest.raises(ConfigError) as caught:
        plan.check(declaration, Cluster("localhost:1", 1, None, "the lab x runs no Schema Registry"))
    assert caught.value.message == (f"{path}, line 15, [schemas.orders-value]: schemas are declared, and the lab x "
                                    "runs no Schema Registry.")
    assert "`kafkalab up --with schema-registry`" in caught.value.hint


def test_a_schema_is_the_same_whatever_its_spacing() -> None:
    assert same_schema('{"type": "string"}', '{"type":"string"}\n', "avro")
    assert not same_schema('{"type": "string"}', '{"type": "int"}', "json")
    assert not same_schema("syntax = 'proto3';", 'syntax = "proto3";', "protobuf")
    step = RegisterSchema("schema", "s", "{}", "avro", 2)
    assert step.describe() == "register schema s (avro, a new version after version 2)"
    assert step.to_dict()["action"] == "register-schema"
    assert SchemaKind().plan([], Cluster("x:1")) == ([], [])
    assert DeclaredSchema("s", Where(Path("f"), ("schemas", "s")), "{}", "avro").type == "avro"


# --- export -------------------------------------------------------------------------------------


def test_export_toml_reads_back_as_written_and_parses_as_a_declaration(tmp_path: Path) -> None:
    tables = {
        "topics": {"orders": {"partitions": 3, "replication_factor": 1,
                              "config": {"cleanup.policy": "compact", "min.insync.replicas": "1"}},
                   "orders.eu": {"partitions": 1, "replication_factor": 1}},
        "schemas": {"orders-value": {"schema": '{"type": "record",\n "name": "O\\u00e9\x7f", "fields": []}',
                                     "type": "avro"}},
    }
    text = plan.to_toml(tables)
    assert tomllib.loads(text) == {"with": ["schema-registry"], **tables}  # what up needs for the schemas
    assert text.startswith('with = ["schema-registry"]\n\n[topics.orders]\npartitions = 3\nreplication_factor = 1\n'
                           'config = { "cleanup.policy" = "compact", "min.insync.replicas" = "1" }\n')
    assert json.loads(plan.to_json(tables)) == {"with": ["schema-registry"], **tables}
    (tmp_path / "kafkalab.toml").write_text(text)
    found = plan.load(tmp_path)
    assert [t.name for t in found.objects["topics"]] == ["orders", "orders.eu"]
    assert found.objects["schemas"][0].text == tables["schemas"]["orders-value"]["schema"]
    settings = resolve({"project": "x"}, env={}, cwd=tmp_path)  # a new lab (no record): the file's with
    assert settings.with_ == ("schema-registry",)
    plan.check(found, plan.lab_cluster(settings))  # up takes it: no exit 3
    assert tomllib.loads(plan.to_toml({"topics": {}, "schemas": {}})) == {}
    only_topics = {"topics": tables["topics"], "schemas": {}, "connectors": {}}
    assert "with" not in tomllib.loads(plan.to_toml(only_topics)) and "with" not in json.loads(plan.to_json(only_topics))


def test_every_declared_table_has_its_kind() -> None:
    assert tuple(kind.table for kind in plan.KINDS) == DECLARED_TABLES == ("topics", "schemas", "connectors")


def test_your_own_file_declares_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    own = tmp_path / "config" / "kafkalab" / "config.toml"
    own.parent.mkdir(parents=True)
    own.write_text("[topics.orders]\npartitions = 3\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    with pytest.raises(ConfigError) as caught:
        resolve({}, env={}, cwd=tmp_path)
    assert caught.value.message == f"{own}: [topics] declares a project's lab, and this is your own file."
