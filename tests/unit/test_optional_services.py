"""The optional services' mechanism, without Docker: the `with` setting (flags, environment, config
file, record), the table's ports and their collisions, the lab's connection variables, and the
status of a registry that starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from kafkalab.errors import ConfigError
from kafkalab.lab import state
from kafkalab.lab.connection import connection
from kafkalab.lab.modes import MODES, OPTIONAL
from kafkalab.lab.status import LabStatus, ServiceStatus
from kafkalab.settings import RECORDED, Settings, resolve


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(state, "_found", [tmp_path])
    return tmp_path


def test_with_comes_from_a_repeated_or_comma_separated_flag_the_environment_and_the_file(tmp_path: Path) -> None:
    assert resolve({"with_": ("schema-registry", "schema-registry")}, env={}, cwd=tmp_path).with_ == ("schema-registry",)
    assert resolve({"with_": " schema-registry ,"}, env={}, cwd=tmp_path).with_ == ("schema-registry",)
    found = resolve({}, env={"KAFKALAB_WITH": "schema-registry"}, cwd=tmp_path)
    assert (found.with_, found.sources["with_"]) == (("schema-registry",), "env KAFKALAB_WITH")
    (tmp_path / "kafkalab.toml").write_text('with = ["schema-registry"]\n')
    found = resolve({}, env={}, cwd=tmp_path)
    assert (found.with_, found.sources["with_"]) == (("schema-registry",), str(tmp_path / "kafkalab.toml"))
    assert ("with", "schema-registry", str(tmp_path / "kafkalab.toml")) in found.as_rows()
    assert resolve({"with_": ""}, env={}, cwd=tmp_path).with_ == ()  # '' is none, on purpose


def test_an_unknown_service_names_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve({"with_": ("schema-registry,kafka-connect",)}, env={}, cwd=tmp_path)
    assert caught.value.exit_code == 3
    assert caught.value.message == ("Bad value for with (flag): ('schema-registry,kafka-connect',) names no optional "
                                    "service 'kafka-connect': the known ones are schema-registry, connect.")
    (tmp_path / "kafkalab.toml").write_text("with = 3\n")
    with pytest.raises(ConfigError, match="is not a list of service names"):
        resolve({}, env={}, cwd=tmp_path)


def test_the_record_finds_the_labs_services_and_port_again(state_dir: Path) -> None:
    assert {"with_", "schema_registry_port"} <= set(RECORDED)
    started = Settings(project="orders", with_=("schema-registry",), schema_registry_port=18081)
    state.write("orders", {**started.compose_env(), "KAFKALAB_MODE": "kraft", "KAFKALAB_WITH": "schema-registry"})
    found = resolve({"project": "orders"}, env={}, cwd=state_dir).with_record()
    assert (found.with_, found.schema_registry_port) == (("schema-registry",), 18081)
    assert found.schema_registry_url == "http://localhost:18081/apis/ccompat/v7"
    # Given on purpose, it wins over the record: '' starts the lab without it.
    assert resolve({"project": "orders", "with_": ""}, env={}, cwd=state_dir).with_record().with_ == ()


@pytest.mark.parametrize("mode", sorted(MODES))
def test_every_mode_takes_the_registry_after_its_own_services(mode: str) -> None:
    s = Settings(mode=mode, with_=("schema-registry",))  # type: ignore[arg-type]
    assert s.spec.service_names == (*MODES[mode].service_names, "schema-registry")
    assert s.host_ports["schema-registry"] == 8081
    assert s.compose_env()["KAFKALAB_INTERNAL_BOOTSTRAP"] == MODES[mode].internal_bootstrap
    assert "schema-registry" not in Settings(mode=mode).host_ports  # type: ignore[arg-type]


def test_the_registrys_port_may_not_be_another_services() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings(with_=("schema-registry",), ui_port=8081).check_ports()
    assert caught.value.message == "Port 8081 would be both kafka-ui's (ui_port) and schema-registry's " \
                                   "(schema_registry_port) in kraft mode."
    with pytest.raises(ConfigError, match="schema-registry's"):  # a cluster's brokers: port, +1, +2
        Settings(mode="cluster", port=9094, schema_registry_port=9096, with_=("schema-registry",)).check_ports()
    Settings(ui_port=8081).check_ports()  # without the registry, its port is nobody's


def test_connect_has_the_registrys_url_on_both_sides(state_dir: Path) -> None:
    found = connection(Settings(project="orders", schema_registry_port=18081, with_=("schema-registry",)))
    env = found.env()
    assert env["SCHEMA_REGISTRY_URL"] == "http://localhost:18081/apis/ccompat/v7"
    assert env["SCHEMA_REGISTRY_INTERNAL_URL"] == "http://schema-registry:8080/apis/ccompat/v7"
    assert "SCHEMA_REGISTRY_URL=http://localhost:18081/apis/ccompat/v7\n" in found.env_text()
    assert "      SCHEMA_REGISTRY_URL: http://schema-registry:8080/apis/ccompat/v7\n" in found.compose_text()
    assert found.to_dict()["schema_registry"] == {"url": "http://localhost:18081/apis/ccompat/v7",
                                                  "internal_url": "http://schema-registry:8080/apis/ccompat/v7"}
    assert "SCHEMA_REGISTRY_URL" not in connection(Settings(project="orders")).env()


def test_status_json_keeps_ui_as_it_was_and_adds_schema_registry() -> None:
    ui = ServiceStatus("http://localhost:8080", True, "HTTP 200")
    registry = ServiceStatus("http://localhost:8081/apis/ccompat/v7", False, "no answer (ConnectionRefusedError)", starting=True,
                             starting_for=3.0, service="schema-registry",
                             internal_url=OPTIONAL["schema-registry"].internal_url)
    data = LabStatus("orders", "kraft", "healthy", (), None, None, ui, optional=(registry,)).to_dict()
    assert data["ui"] == {"url": "http://localhost:8080", "healthy": True, "detail": "HTTP 200", "starting": False,
                          "answered": False, "starting_for": None, "state": "healthy"}
    assert data["schema_registry"] == {
        "url": "http://localhost:8081/apis/ccompat/v7", "internal_url": "http://schema-registry:8080/apis/ccompat/v7", "healthy": False,
        "detail": "no answer (ConnectionRefusedError)", "starting": True, "answered": False, "starting_for": 3.0,
        "state": "starting",
    }
    assert LabStatus("orders", "kraft", "healthy", (), None, None, None).to_dict()["schema_registry"] is None
