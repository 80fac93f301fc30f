"""The Schema Registry as an optional service of the lab (`up --with schema-registry`), on the real
test bed: `up` waits for it and says when it was ready, `status`, `connect` and `doctor` show it, the
lab's record finds it again without the flag, a starting registry is no fault, and its schemas live
in the lab's Kafka: kept by `down`, gone with `down --volumes`. In kraft and in cluster mode."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner, Result
from registry_http import request as http

from kafkalab import Lab
from kafkalab.cli.main import cli

pytestmark = pytest.mark.e2e
IMAGES = {k: v for k, v in os.environ.items() if k.startswith("KAFKALAB_IMAGE_") or k == "KAFKALAB_PULL"}
SUBJECTS = "/subjects"  # below the registry's URL, which is its Confluent-compatible API
AVRO = json.dumps({"type": "record", "name": "Order", "fields": [{"name": "id", "type": "long"}]})


def lab_env(lab: Lab) -> dict[str, str]:
    """A user's shell for this lab: its project and ports, the bed's images; no mode and no `with`."""
    s = lab.settings
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KAFKALAB_")}
    return {**clean, **IMAGES, "KAFKALAB_PROJECT": s.project, "KAFKALAB_PORT": str(s.port),
            "KAFKALAB_UI_PORT": str(s.ui_port), "KAFKALAB_ZOOKEEPER_PORT": str(s.zookeeper_port),
            "KAFKALAB_SCHEMA_REGISTRY_PORT": str(s.schema_registry_port), "KAFKALAB_TIMEOUT": "240"}


def run(lab: Lab, *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=lab_env(lab))


def status_json(lab: Lab) -> tuple[int, dict[str, Any]]:
    result = run(lab, "status", "--json")
    return result.exit_code, json.loads(result.stdout)


def up_with_registry(lab: Lab, *args: str) -> Result:
    up = run(lab, "up", "--no-ui", *args)
    assert up.exit_code == 0, up.output
    assert "Schema Registry ready in " in up.stderr, up.stderr
    return up


def assert_connect_and_doctor(lab: Lab, url: str) -> None:
    env = run(lab, "connect").stdout
    assert f"SCHEMA_REGISTRY_URL={url}\n" in env, env
    assert "SCHEMA_REGISTRY_INTERNAL_URL=http://schema-registry:8080/apis/ccompat/v7\n" in env, env
    compose = run(lab, "connect", "--format", "compose").stdout
    assert "      SCHEMA_REGISTRY_URL: http://schema-registry:8080/apis/ccompat/v7\n" in compose, compose
    data = json.loads(run(lab, "connect", "--format", "json").stdout)
    assert data["schema_registry"] == {"url": url, "internal_url": "http://schema-registry:8080/apis/ccompat/v7"}
    assert data["env"]["SCHEMA_REGISTRY_URL"] == url

    doctor = run(lab, "doctor", "--json")
    checks = {c["check"]: c for c in json.loads(doctor.stdout)["checks"]}
    assert doctor.exit_code == 0, doctor.stdout
    assert checks["schema-registry"]["result"] == "pass", checks["schema-registry"]
    assert str(lab.settings.schema_registry_port) in checks["ports"]["detail"], checks["ports"]


def test_the_registry_in_kraft_mode(lab_factory: Callable[..., Lab]) -> None:
    lab = lab_factory()
    url = f"http://localhost:{lab.settings.schema_registry_port}/apis/ccompat/v7"
    # A lab without it: no registry, and no row, key or variable of one.
    up = run(lab, "up", "--no-ui")
    assert up.exit_code == 0, up.output
    assert "Schema Registry" not in up.output
    assert Lab(lab.settings).schema_registry_url is None
    code, found = status_json(lab)
    assert (code, found["schema_registry"]) == (0, None)
    assert "SCHEMA_REGISTRY_URL" not in run(lab, "connect").stdout

    # Added to the running lab, not waited for: it is starting, and that is no fault.
    added = run(lab, "up", "--no-ui", "--no-wait", "--with", "schema-registry")
    assert added.exit_code == 0, added.output
    code, found = status_json(lab)
    registry = found["schema_registry"]
    assert registry["state"] in ("starting", "healthy"), registry
    if registry["state"] == "starting":
        assert (code, found["state"], found["problems"]) == (0, "healthy", []), found
        doctor = json.loads(run(lab, "doctor", "--json").stdout)
        check = next(c for c in doctor["checks"] if c["check"] == "schema-registry")
        assert check["result"] in ("not checked", "pass"), check

    # `up` again, without the flag: the record has it, and up waits for it.
    up_with_registry(lab)
    code, found = status_json(lab)
    assert code == 0, found
    assert found["schema_registry"] == {
        **found["schema_registry"], "url": url, "internal_url": "http://schema-registry:8080/apis/ccompat/v7", "state": "healthy",
    }
    assert found["ui"] is None  # the ui key as it was: kafka-ui is not started
    assert "schema-registry" in {s["service"] for s in found["services"]}
    text = run(lab, "status").stdout
    assert "Schema Registry" in text and url in text and "answers" in text, text
    assert Lab(lab.settings).schema_registry_url == url

    assert_connect_and_doctor(lab, url)

    # Its schemas live in the lab's Kafka: kept by `down`, gone with `down --volumes`.
    status, body = http(url + SUBJECTS + "/orders-value/versions", "POST", {"schema": AVRO})
    assert status == 200 and isinstance(body["id"], int), (status, body)
    down = run(lab, "down")
    assert down.exit_code == 0, down.output
    up_with_registry(lab)  # found again by its record: no flag
    assert http(url + SUBJECTS) == (200, ["orders-value"])
    down = run(lab, "down", "--volumes", "--yes")
    assert down.exit_code == 0, down.output
    up_with_registry(lab, "--with", "schema-registry")
    assert http(url + SUBJECTS) == (200, [])


def test_the_registry_in_cluster_mode_uses_every_broker(lab_factory: Callable[..., Lab]) -> None:
    lab = lab_factory()
    url = f"http://localhost:{lab.settings.schema_registry_port}/apis/ccompat/v7"
    up_with_registry(lab, "--mode", "cluster", "--with", "schema-registry")
    code, found = status_json(lab)
    assert (code, found["mode"], found["schema_registry"]["state"]) == (0, "cluster", "healthy"), found
    env = subprocess.run(
        ["docker", "inspect", "--format", "{{json .Config.Env}}", f"{lab.settings.project}-schema-registry-1"],
        capture_output=True, text=True, check=True,
    ).stdout
    assert "APICURIO_KAFKASQL_BOOTSTRAP_SERVERS=kafka:9092,kafka-2:9092,kafka-3:9092" in json.loads(env)
    status, body = http(url + SUBJECTS + "/orders-value/versions", "POST", {"schema": AVRO})
    assert status == 200, (status, body)
    assert http(url + SUBJECTS) == (200, ["orders-value"])
    assert json.loads(run(lab, "connect", "--format", "json").stdout)["env"]["SCHEMA_REGISTRY_URL"] == url
    doctor = run(lab, "doctor", "--json")
    assert doctor.exit_code == 0, doctor.stdout
