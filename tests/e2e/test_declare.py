"""e2e: the lab as code (issue 20). A project folder with a kafkalab.toml that declares topics, seed
records and a schema; `up` makes them, configures them and seeds them, once; `apply --dry-run`
changes nothing, `apply` grows partitions and changes configs, a shrink is refused with nothing
applied; `apply` goes where the Kafka commands go (-b, --schema-registry); `export` then `apply` on a
fresh lab gives the same topics (also through -b), and an export with schemas writes the `with` that
`up` needs to run their registry; schemas need the lab's registry, and say so before anything starts
when it does not run. `apply --dry-run` exits as `apply` would (29, 13), changing nothing. Configs written otherwise than Kafka writes them back, a topic
without partitions and a schema an older version holds settle: nothing to do.

Every CLI run is in the project's folder (the declaration is the found config file), in a user's
shell for the lab (kafka_cli.lab_env).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from kafka_cli import describe, kl, lab_env

pytestmark = pytest.mark.e2e

ORDER = {"type": "record", "name": "Order", "namespace": "dev.kafkalab.e2e", "fields": [{"name": "id", "type": "long"}]}
ORDER_2 = {**ORDER, "fields": [*ORDER["fields"], {"name": "note", "type": ["null", "string"], "default": None}]}
DECLARATION = """\
with = ["schema-registry"]

[topics.orders]
partitions = 3
config = { "cleanup.policy" = "compact", "retention.ms" = 604800000 }

[topics.events]
partitions = 2
seed = "fixtures/events.jsonl"

[schemas."orders-value"]
file = "schemas/order.avsc"
"""
EVENTS = [
    {"key": "order-1", "value": {"type": "created"}, "partition": 0},
    {"key": "order-1", "value": "paid", "headers": {"source": "seed"}, "partition": 0},
    {"key": None, "value": "heartbeat", "partition": 1},
]


def project(folder: Path, declaration: str = DECLARATION) -> None:
    (folder / "fixtures").mkdir(exist_ok=True)
    (folder / "schemas").mkdir(exist_ok=True)
    (folder / "fixtures" / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in EVENTS))
    (folder / "schemas" / "order.avsc").write_text(json.dumps(ORDER))
    (folder / "kafkalab.toml").write_text(declaration)


def on(lab: Any, *args: str) -> Result:
    """`kafkalab ARGS` in the project's folder, in a user's shell for the lab (its registry's port too)."""
    return kl(*args, env=lab_env(lab, KAFKALAB_SCHEMA_REGISTRY_PORT=str(lab.settings.schema_registry_port)))


def records(lab: Any, topic: str) -> list[dict[str, Any]]:
    result = on(lab, "consume", topic, "--from-beginning", "--format", "json")
    assert result.exit_code == 0, result.output
    return sorted((json.loads(line) for line in result.stdout.splitlines()), key=lambda r: (r["partition"], r["offset"]))


def state(lab: Any, *topics: str) -> dict[str, Any]:
    """What the topics are: partitions, replicas and configs, and their end offsets."""
    found = {}
    for name in topics:
        d = describe(lab.settings.lab_bootstrap, name)
        found[name] = {"partitions": len(d["partitions"]), "replicas": [p["replicas"] for p in d["partitions"]],
                       "configs": d["configs"], "ends": [p["end_offset"] for p in d["partitions"]]}
    return found


def subjects(lab: Any) -> dict[str, int]:
    result = on(lab, "schema", "list", "--json")
    assert result.exit_code == 0, result.output
    return {s["subject"]: s["version"] for s in json.loads(result.stdout)}


def test_up_makes_configures_and_seeds_once_and_apply_changes_the_rest(
    lab_factory: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    project(tmp_path)
    monkeypatch.chdir(tmp_path)
    lab = lab_factory()
    made = up_makes_configures_and_seeds(lab)
    up_again_seeds_nothing(lab, made)
    up_leaves_what_differs(lab, tmp_path, made)
    grown = apply_grows_and_configures(lab, tmp_path, made)
    apply_goes_where_the_kafka_commands_go(lab)
    a_shrink_is_refused(lab, tmp_path, grown)
    a_step_the_broker_refuses_applies_nothing(lab, tmp_path, grown)
    kafkas_own_forms_and_an_older_schema_settle(lab, tmp_path, grown)
    an_export_with_schemas_starts_its_registry(lab, tmp_path / "exported", monkeypatch)


def up_makes_configures_and_seeds(lab: Any) -> dict[str, Any]:
    """`up` makes, configures and seeds, and registers the schema: one line says so."""
    up = on(lab, "up", "--no-ui")
    assert up.exit_code == 0, up.output
    assert "Declared: 2 topics created, 3 records seeded, 1 schema registered.\n" in up.stderr
    made = state(lab, "orders", "events")
    assert made["orders"]["partitions"] == 3 and made["events"]["partitions"] == 2
    assert made["orders"]["configs"] == {"cleanup.policy": "compact", "retention.ms": "604800000"}
    assert made["events"]["configs"] == {}
    assert made["orders"]["replicas"] == [[1], [1], [1]]  # the kraft mode's replication
    seeded = records(lab, "events")
    assert [(r["partition"], r["key"], r["value"], r["headers"]) for r in seeded] == [
        (0, "order-1", '{"type": "created"}', []), (0, "order-1", "paid", [["source", "seed"]]),
        (1, None, "heartbeat", []),
    ]
    assert subjects(lab) == {"orders-value": 1}
    return made


def up_again_seeds_nothing(lab: Any, made: dict[str, Any]) -> None:
    """A second `up`, and `down` + `up`, seed nothing again."""
    again = on(lab, "up", "--no-ui")
    assert again.exit_code == 0, again.output
    assert "Declared: nothing to do.\n" in again.stderr
    assert on(lab, "down").exit_code == 0
    after_down = on(lab, "up", "--no-ui")
    assert after_down.exit_code == 0, after_down.output
    assert "Declared: nothing to do.\n" in after_down.stderr
    assert state(lab, "orders", "events") == made
    assert len(records(lab, "events")) == 3


def up_leaves_what_differs(lab: Any, folder: Path, made: dict[str, Any]) -> None:
    """A changed declaration: `up` leaves the topic alone and says that apply would change it; it
    registers the new version of the schema; `apply --dry-run` prints the plan and changes nothing."""
    (folder / "kafkalab.toml").write_text(DECLARATION.replace("partitions = 3", "partitions = 5").replace(
        '"retention.ms" = 604800000', '"retention.ms" = 3600000, "max.message.bytes" = "2000000"'))
    (folder / "schemas" / "order.avsc").write_text(json.dumps(ORDER_2))
    noted = on(lab, "up", "--no-ui")
    assert noted.exit_code == 0, noted.output
    assert "The topic orders differs from its declaration (add partitions to topic orders: 3 -> 5; " in noted.stderr
    assert "`kafkalab apply` shows the plan." in noted.stderr
    assert "Declared: 1 schema registered.\n" in noted.stderr  # a new version is made by up as by apply
    assert subjects(lab) == {"orders-value": 2}
    assert state(lab, "orders", "events") == made

    dry = on(lab, "apply", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert dry.stdout == (
        f"Plan for {lab.settings.lab_bootstrap} (3 steps):\n"
        "  ~ add partitions to topic orders: 3 -> 5\n"
        "  ~ set config max.message.bytes of topic orders: the broker's default -> 2000000\n"
        "  ~ set config retention.ms of topic orders: 604800000 -> 3600000\n"
    )
    assert "Dry run: nothing was changed." in dry.stderr
    as_json = on(lab, "apply", "--dry-run", "--json")
    assert as_json.exit_code == 0, as_json.output
    plan = json.loads(as_json.stdout)
    assert [(s["action"], s["name"]) for s in plan["steps"]] == [
        ("add-partitions", "orders"), ("set-config", "orders"), ("set-config", "orders")]
    assert (plan["refused"], plan["applied"], plan["dry_run"]) == ([], [], True)
    assert state(lab, "orders", "events") == made


def apply_grows_and_configures(lab: Any, folder: Path, made: dict[str, Any]) -> dict[str, Any]:
    """`apply` grows partitions and changes configs (one set, one reset as no longer declared); then
    there is nothing to do."""
    (folder / "kafkalab.toml").write_text(DECLARATION.replace("partitions = 3", "partitions = 5").replace(
        '"cleanup.policy" = "compact", "retention.ms" = 604800000', '"retention.ms" = 3600000'))
    applied = on(lab, "apply")
    assert applied.exit_code == 0, applied.output
    assert "Applied: 1 topic grown, 1 config set, 1 config reset.\n" in applied.stderr
    grown = state(lab, "orders", "events")
    assert grown["orders"]["partitions"] == 5
    assert grown["orders"]["configs"] == {"retention.ms": "3600000"}
    assert grown["events"] == made["events"]
    done = on(lab, "apply")
    assert done.exit_code == 0, done.output
    assert "Nothing to do: " in done.stderr
    return grown


def apply_goes_where_the_kafka_commands_go(lab: Any) -> None:
    """-b and --schema-registry, as on any cluster: the same plan (nothing to do); with -b and no
    registry given, the declared schema is an error naming the need, before anything is asked."""
    bootstrap, registry = lab.settings.lab_bootstrap, lab.schema_registry_url
    elsewhere = kl("--schema-registry", registry, "apply", "-b", bootstrap, "--json")
    assert elsewhere.exit_code == 0, elsewhere.output
    assert json.loads(elsewhere.stdout)["steps"] == []
    no_registry = kl("apply", "-b", bootstrap, "--dry-run")
    assert no_registry.exit_code == 3, no_registry.output
    assert f"schemas are declared, and no Schema Registry is given for {bootstrap}." in no_registry.stderr


def a_shrink_is_refused(lab: Any, folder: Path, grown: dict[str, Any]) -> None:
    """A shrink is refused, and nothing of the plan is applied (the config change with it neither)."""
    (folder / "kafkalab.toml").write_text(DECLARATION.replace("partitions = 3", "partitions = 4").replace(
        '"cleanup.policy" = "compact", "retention.ms" = 604800000', '"retention.ms" = 60000'))
    refused = on(lab, "apply")
    assert refused.exit_code == 29, refused.output
    assert refused.stdout == (
        f"Plan for {lab.settings.lab_bootstrap} (1 step, 1 refused):\n"
        "  ~ set config retention.ms of topic orders: 3600000 -> 60000\n"
        "  ! refused: topic orders: 4 partitions declared, and it has 5: Kafka cannot remove partitions\n"
    )
    assert refused.stderr.startswith("Error: The plan is refused, nothing of it was applied: topic orders: ")
    assert state(lab, "orders", "events") == grown
    refused_json = on(lab, "apply", "--json")
    assert refused_json.exit_code == 29
    assert json.loads(refused_json.stdout)["refused"] == [{
        "kind": "topic", "name": "orders", "why": "4 partitions declared, and it has 5: Kafka cannot remove partitions"}]
    dry = on(lab, "apply", "--dry-run")  # exits as apply would, with its error
    assert (dry.exit_code, dry.stdout, dry.stderr) == (29, refused.stdout, refused.stderr)
    dry_json = on(lab, "apply", "--dry-run", "--json")
    assert (dry_json.exit_code, dry_json.stderr) == (29, refused.stderr)
    assert json.loads(dry_json.stdout) == {**json.loads(refused_json.stdout), "dry_run": True}
    assert state(lab, "orders", "events") == grown


def test_export_then_apply_on_a_fresh_lab_gives_the_same_topics(
    lab_factory: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    source, fresh = tmp_path / "source", tmp_path / "fresh"
    source.mkdir()
    fresh.mkdir()
    project(source, DECLARATION.replace('with = ["schema-registry"]', ""))
    monkeypatch.chdir(source)
    lab = lab_factory()

    # Schemas, and a lab that runs no registry: an error naming the need, before anything starts.
    refused = on(lab, "up", "--no-ui")
    assert refused.exit_code == 3, refused.output
    assert refused.stderr == (
        f"Error: {source / 'kafkalab.toml'}, line 11, [schemas.orders-value]: schemas are declared, and the lab "
        f"{lab.settings.project} runs no Schema Registry.\n"
        "Hint: Start the lab with `kafkalab up --with schema-registry` (or `with = [\"schema-registry\"]` in the "
        "config file), or give a registry with --schema-registry URL.\n"
    )
    assert lab.compose.containers() == []

    # The same without the schema; and a topic made by hand, with configs of its own.
    (source / "kafkalab.toml").write_text(DECLARATION.split("[schemas.", maxsplit=1)[0].replace('with = ["schema-registry"]', ""))
    assert on(lab, "up", "--no-ui").exit_code == 0
    assert on(lab, "topic", "create", "audit.log", "-p", "4", "--config", "segment.bytes=1048576").exit_code == 0
    exported = on(lab, "export")
    assert exported.exit_code == 0, exported.output
    as_json = on(lab, "export", "--format", "json")
    assert json.loads(as_json.stdout) == {"topics": {
        "audit.log": {"partitions": 4, "replication_factor": 1, "config": {"segment.bytes": "1048576"}},
        "events": {"partitions": 2, "replication_factor": 1},
        "orders": {"partitions": 3, "replication_factor": 1,
                   "config": {"cleanup.policy": "compact", "retention.ms": "604800000"}},
    }, "schemas": {}, "connectors": {}}
    before = state(lab, "audit.log", "events", "orders")

    # A fresh lab (its data deleted), then `apply` of the export, through -b as on any cluster.
    assert on(lab, "down", "--volumes", "--yes").exit_code == 0
    (fresh / "kafkalab.toml").write_text(exported.stdout)
    monkeypatch.chdir(fresh)
    up = on(lab, "up", "--no-ui")
    assert up.exit_code == 0, up.output
    assert "Declared: 3 topics created.\n" in up.stderr  # the export's file is a declaration too
    assert on(lab, "down", "--volumes", "--yes").exit_code == 0
    (fresh / "kafkalab.toml").write_text("")
    assert on(lab, "up", "--no-ui").exit_code == 0
    (fresh / "kafkalab.toml").write_text(exported.stdout)
    applied = on(lab, "apply", "-b", lab.settings.lab_bootstrap)
    assert applied.exit_code == 0, applied.output
    assert "Applied: 3 topics created.\n" in applied.stderr
    after = state(lab, "audit.log", "events", "orders")
    assert {k: {**v, "ends": None} for k, v in after.items()} == {k: {**v, "ends": None} for k, v in before.items()}
    again = on(lab, "export")
    assert again.stdout == exported.stdout


def a_step_the_broker_refuses_applies_nothing(lab: Any, folder: Path, grown: dict[str, Any]) -> None:
    """Every step is validated by the broker first: a config it does not know stops the plan, and
    the partitions declared with it are not added either."""
    (folder / "kafkalab.toml").write_text(DECLARATION.replace("partitions = 3", "partitions = 6").replace(
        '"cleanup.policy" = "compact", "retention.ms" = 604800000', '"retention.ms" = 3600000, "no.such.config" = 1'))
    refused = on(lab, "apply")
    assert refused.exit_code == 13, refused.output
    assert refused.stderr.startswith("Error: Could not set config no.such.config of topic orders: ")
    assert "Nothing of the plan was applied." in refused.stderr
    assert refused.stderr.endswith(f"Hint: Fix the declaration at {folder / 'kafkalab.toml'}, line 5, [topics.orders]; "
                                   "docs/declare.md shows every key.\n")  # where the refused value is written
    dry = on(lab, "apply", "--dry-run")  # the broker's validation too, changing nothing
    assert (dry.exit_code, dry.stderr) == (13, refused.stderr)
    assert state(lab, "orders", "events") == grown


FORMS = """\
with = ["schema-registry"]

[topics.orders]                 # no partitions: the 5 it has are not compared
config = { "retention.ms" = 3600000 }

[topics.forms.config]           # unquoted dotted keys, and values Kafka writes back otherwise
cleanup.policy = "compact, delete"
min.cleanable.dirty.ratio = 1
unclean.leader.election.enable = "True"

[schemas."orders-value"]        # its version 1, and version 2 is the latest
file = "schemas/order.avsc"
"""


def kafkas_own_forms_and_an_older_schema_settle(lab: Any, folder: Path, grown: dict[str, Any]) -> None:
    """Configs as Kafka does not write them back (a list with a space, a fraction as a whole number, a
    boolean capitalised), a topic without partitions, and the schema of version 1 where version 2 is
    the latest: `apply` creates the topic, then there is nothing to do, for `apply` as for `up`. The
    registry's lookup (Apicurio's ccompat API) finds an older version, and finds nothing (no error) for
    a schema or a subject it lacks."""
    from kafkalab.kafka.contexts import RegistryTarget
    from kafkalab.schemas.registry import Registry

    (folder / "kafkalab.toml").write_text(FORMS)
    (folder / "schemas" / "order.avsc").write_text(json.dumps(ORDER))
    applied = on(lab, "apply")
    assert applied.exit_code == 0, applied.output
    assert applied.stdout == f"Plan for {lab.settings.lab_bootstrap} (1 step):\n  + create topic forms (1 partition, " \
        "replication 1, 3 configs)\n"
    assert "Applied: 1 topic created.\n" in applied.stderr
    assert state(lab, "forms")["forms"]["configs"] == {
        "cleanup.policy": "compact,delete", "min.cleanable.dirty.ratio": "1.0", "unclean.leader.election.enable": "true"}
    again = on(lab, "apply")
    assert again.exit_code == 0, again.output
    assert "Nothing to do: " in again.stderr
    up = on(lab, "up", "--no-ui")
    assert up.exit_code == 0, up.output
    assert "Declared: nothing to do.\n" in up.stderr
    assert subjects(lab) == {"orders-value": 2}
    assert state(lab, "orders")["orders"] == grown["orders"]

    registry = Registry(RegistryTarget(lab.schema_registry_url, None, lab=True))
    found = registry.lookup("orders-value", json.dumps(ORDER), "avro")
    assert found is not None and found.version == 1
    assert registry.lookup("orders-value", json.dumps(ORDER).replace("Order", "Other"), "avro") is None
    assert registry.lookup("no-such-subject", json.dumps(ORDER), "avro") is None


def an_export_with_schemas_starts_its_registry(lab: Any, fresh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`export` of a lab with schemas writes the `with` setting they need: after `down --volumes` (the
    lab's record gone), `up` with the exported file runs the registry and registers them."""
    exported = on(lab, "export")
    assert exported.exit_code == 0, exported.output
    assert exported.stdout.startswith('with = ["schema-registry"]\n\n[topics.'), exported.stdout
    assert json.loads(on(lab, "export", "--format", "json").stdout)["with"] == ["schema-registry"]
    assert on(lab, "down", "--volumes", "--yes").exit_code == 0
    fresh.mkdir()
    (fresh / "kafkalab.toml").write_text(exported.stdout)
    monkeypatch.chdir(fresh)
    up = on(lab, "up", "--no-ui")
    assert up.exit_code == 0, up.output
    assert "Declared: 3 topics created, 1 schema registered.\n" in up.stderr
