"""Settings resolve from flags, then KAFKALAB_* environment, then the config file, then defaults."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kafkalab.errors import ConfigError
from kafkalab.settings import Settings, resolve


def test_defaults_with_nothing_set(tmp_path: Path) -> None:
    s = resolve({}, env={}, cwd=tmp_path)
    assert (s.mode, s.project, s.port, s.ui_port, s.pull) == ("kraft", "kafkalab", 9094, 8080, "missing")
    assert s.image_kafka == "apache/kafka:4.4.0"
    assert s.bootstrap_servers == "localhost:9094"
    assert s.sources == {}
    assert ("port", "9094", "default") in s.as_rows()


def test_flag_beats_env_beats_pyproject_beats_default(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.kafkalab]\nport = 1111\nui-port = 2222\nmode = "zookeeper"\n')
    env = {"KAFKALAB_PORT": "3333", "KAFKALAB_UI_PORT": "4444"}
    s = resolve({"port": 5555, "project": None}, env=env, cwd=tmp_path)
    assert (s.port, s.ui_port, s.mode, s.project) == (5555, 4444, "zookeeper", "kafkalab")
    assert s.sources == {"port": "flag", "ui_port": "env KAFKALAB_UI_PORT", "mode": str(tmp_path / "pyproject.toml")}


def test_pyproject_without_table_falls_back_to_kafkalab_toml(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "svc"\n')
    (tmp_path / "kafkalab.toml").write_text('cluster_name = "orders"\n')
    s = resolve({}, env={}, cwd=tmp_path)
    assert s.cluster_name == "orders"
    assert s.sources["cluster_name"] == str(tmp_path / "kafkalab.toml")


def test_the_nearest_file_at_or_above_cwd_is_used(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.kafkalab]\nproject = "orders-svc"\n')
    nested = tmp_path / "src" / "orders"
    nested.mkdir(parents=True)
    s = resolve({}, env={}, cwd=nested)
    assert s.project == "orders-svc"
    assert s.sources == {"project": str(tmp_path / "pyproject.toml")}
    # A nearer file wins, and only it is read: the top one's project is not merged in.
    (tmp_path / "src" / "kafkalab.toml").write_text("port = 19094\n")
    s = resolve({}, env={}, cwd=nested)
    assert (s.project, s.port) == ("kafkalab", 19094)
    assert s.sources == {"port": str(tmp_path / "src" / "kafkalab.toml")}


def test_a_relative_cwd_is_searched_up_to_the_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "kafkalab.toml").write_text("port = 19094\n")
    (tmp_path / "a" / "b").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "a")
    s = resolve({}, env={}, cwd=Path("b"))
    assert (s.port, s.sources["port"]) == (19094, str(tmp_path / "kafkalab.toml"))


def test_a_pyproject_without_the_table_is_skipped_on_the_way_up(tmp_path: Path) -> None:
    (tmp_path / "kafkalab.toml").write_text('cluster_name = "top"\n')
    service = tmp_path / "svc"
    service.mkdir()
    (service / "pyproject.toml").write_text('[project]\nname = "svc"\n[tool.ruff]\nline-length = 99\n')
    s = resolve({}, env={}, cwd=service)
    assert (s.cluster_name, s.sources["cluster_name"]) == ("top", str(tmp_path / "kafkalab.toml"))


def test_pyproject_wins_over_kafkalab_toml_in_one_directory(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.kafkalab]\ncluster_name = "from-pyproject"\n')
    (tmp_path / "kafkalab.toml").write_text('cluster_name = "from-kafkalab-toml"\nport = 19094\n')
    s = resolve({}, env={}, cwd=tmp_path)
    assert (s.cluster_name, s.port) == ("from-pyproject", 9094)
    assert s.sources == {"cluster_name": str(tmp_path / "pyproject.toml")}


def test_an_empty_kafkalab_toml_still_stops_the_search(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.kafkalab]\nport = 1111\n')
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "kafkalab.toml").write_text("")
    assert resolve({}, env={}, cwd=tmp_path / "sub").port == 9094


def test_empty_env_value_counts_as_unset(tmp_path: Path) -> None:
    assert resolve({}, env={"KAFKALAB_PORT": ""}, cwd=tmp_path).port == 9094


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"KAFKALAB_PORT": "abc"}, "Bad value for port (env KAFKALAB_PORT): 'abc' is not a port number."),
        ({"KAFKALAB_UI_PORT": "70000"}, "Bad value for ui_port (env KAFKALAB_UI_PORT): '70000' is not between 1 and 65535."),
        ({"KAFKALAB_MODE": "kraftt"}, "Bad value for mode (env KAFKALAB_MODE): 'kraftt' is not one of kraft, zookeeper, cluster."),
        ({"KAFKALAB_PULL": "sometimes"}, "Bad value for pull (env KAFKALAB_PULL): 'sometimes' is not one of missing, never, always."),
        ({"KAFKALAB_PROJECT": "My Lab"}, "Bad value for project (env KAFKALAB_PROJECT): 'My Lab' is not a compose project name (lowercase letters, digits, '-' and '_')."),
        ({"KAFKALAB_TIMEOUT": "-1"}, "Bad value for timeout (env KAFKALAB_TIMEOUT): '-1' is not above 0."),
    ],
)
def test_bad_values_are_config_errors(tmp_path: Path, env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve({}, env=env, cwd=tmp_path)
    assert caught.value.message == message


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("port = true", "Bad value for port ({path}): True is not a port number."),
        ("port = 29094.9", "Bad value for port ({path}): 29094.9 is not a port number."),
        ("port = 29094.0", "Bad value for port ({path}): 29094.0 is not a port number."),
        ('port = "29094"', "Bad value for port ({path}): '29094' is a string, not a port number."),
        ("ui-port = 0", "Bad value for ui_port ({path}): 0 is not between 1 and 65535."),
        ("zookeeper_port = [2181]", "Bad value for zookeeper_port ({path}): [2181] is not a port number."),
        ("timeout = true", "Bad value for timeout ({path}): True is not a number of seconds."),
        ('timeout = "30"', "Bad value for timeout ({path}): '30' is a string, not a number of seconds."),
        ("timeout = nan", "Bad value for timeout ({path}): nan is not a number of seconds."),
        ("timeout = 0", "Bad value for timeout ({path}): 0 is not above 0."),
        ('start_window = "30"', "Bad value for start_window ({path}): '30' is a string, not a number of seconds."),
        ("project = 5", "Bad value for project ({path}): 5 is not a string."),
        ("mode = true", "Bad value for mode ({path}): True is not a string."),
    ],
)
def test_wrong_types_in_the_file_are_config_errors(tmp_path: Path, toml: str, message: str) -> None:
    (tmp_path / "kafkalab.toml").write_text(toml + "\n")
    with pytest.raises(ConfigError) as caught:
        resolve({}, env={}, cwd=tmp_path)
    assert caught.value.exit_code == 3
    assert caught.value.message == message.format(path=tmp_path / "kafkalab.toml")


@pytest.mark.parametrize(
    ("name", "value", "why"),
    [
        ("port", "abc", "is not a port number"),
        ("port", "29094.0", "is not a port number"),
        ("port", " 9094", "is not a port number"),
        ("port", "-1", "is not a port number"),
        ("port", "9_094", "is not a port number"),
        ("zookeeper_port", "٢١٨١", "is not a port number"),  # Arabic-Indic digits
        ("timeout", "true", "is not a number of seconds"),
        ("timeout", "inf", "is not a number of seconds"),
        ("timeout", "0", "is not above 0"),
        ("start_window", "2m", "is not a number of seconds"),
        ("start_window", "-5", "is not above 0"),
    ],
)
def test_wrong_text_in_the_environment_is_a_config_error(tmp_path: Path, name: str, value: str, why: str) -> None:
    var = "KAFKALAB_" + name.upper()
    with pytest.raises(ConfigError) as caught:
        resolve({}, env={var: value}, cwd=tmp_path)
    assert caught.value.exit_code == 3
    assert caught.value.message == f"Bad value for {name} (env {var}): {value!r} {why}."


def test_good_values_of_every_type_still_resolve(tmp_path: Path) -> None:
    (tmp_path / "kafkalab.toml").write_text("port = 29094\nui_port = 18080\ntimeout = 30\n")
    s = resolve({}, env={}, cwd=tmp_path)
    assert (s.port, s.ui_port, s.timeout) == (29094, 18080, 30.0)
    assert isinstance(s.timeout, float)
    (tmp_path / "kafkalab.toml").write_text("timeout = 2.5\n")
    assert resolve({}, env={}, cwd=tmp_path).timeout == 2.5
    env = {"KAFKALAB_PORT": "19094", "KAFKALAB_ZOOKEEPER_PORT": "12181", "KAFKALAB_TIMEOUT": "1.5"}
    s = resolve({"ui_port": 18081}, env=env, cwd=tmp_path)
    assert (s.port, s.zookeeper_port, s.ui_port, s.timeout) == (19094, 12181, 18081, 1.5)
    assert resolve({"port": "19095"}, env={}, cwd=tmp_path).port == 19095  # a flag given as text


def test_bad_toml_and_unknown_keys_are_config_errors(tmp_path: Path) -> None:
    path = tmp_path / "kafkalab.toml"
    path.write_text("port = \n")
    with pytest.raises(ConfigError, match=f"^{re.escape(str(path))} is not valid TOML"):
        resolve({}, env={}, cwd=tmp_path)
    path.write_text("prot = 1\n")
    with pytest.raises(ConfigError) as caught:
        resolve({}, env={}, cwd=tmp_path)
    assert caught.value.message == f"{path}: unknown setting 'prot'."
    path.write_text("[topicz.events]\npartitions = 1\n")
    with pytest.raises(ConfigError) as caught:
        resolve({}, env={}, cwd=tmp_path)
    assert caught.value.message == f"{path}: unknown table 'topicz'."
    assert caught.value.hint.endswith(", zookeeper_port; tables: contexts, topics, schemas, connectors, users.")
    (tmp_path / "pyproject.toml").write_text("[tool]\nkafkalab = 5\n")
    with pytest.raises(ConfigError) as caught:
        resolve({}, env={}, cwd=tmp_path)
    assert caught.value.message == f"{tmp_path / 'pyproject.toml'}: the kafkalab settings must be a table."


def test_compose_env_names_match_what_the_compose_files_read() -> None:
    env = Settings(port=1234, image_ui="x/ui:1").compose_env()
    assert env["KAFKALAB_PORT"] == "1234"
    assert env["KAFKALAB_IMAGE_UI"] == "x/ui:1"
    compose_text = "".join(p.read_text() for p in (Path(__file__).parents[2] / "compose").rglob("*.yaml"))
    for name in env:
        if name != "KAFKALAB_PROJECT":
            assert "${" + name in compose_text, name


def test_replace_validates_and_marks_the_source() -> None:
    s = Settings().replace(port=19094, project=None)
    assert (s.port, s.sources) == (19094, {"port": "argument"})
    with pytest.raises(ConfigError):
        Settings().replace(port=0)


def test_replace_takes_python_numbers_but_not_bools() -> None:
    s = Settings().replace(port=19094, ui_port=18080, timeout=5.0)
    assert (s.port, s.ui_port, s.timeout) == (19094, 18080, 5.0)
    assert Settings().replace(timeout=5).timeout == 5.0
    for changes in ({"port": True}, {"port": 19094.0}, {"timeout": True}, {"timeout": False}):
        with pytest.raises(ConfigError) as caught:
            Settings().replace(**changes)
        assert caught.value.exit_code == 3
        assert caught.value.message.startswith(f"Bad value for {next(iter(changes))} (argument): ")


def test_ui_dynamic_config_is_off_by_default_and_a_boolean(tmp_path: Path) -> None:
    assert Settings().ui_dynamic_config is False
    assert Settings().compose_env()["KAFKALAB_UI_DYNAMIC_CONFIG"] == "false"
    assert ("ui_dynamic_config", "false", "default") in Settings().as_rows()
    on = resolve({}, env={"KAFKALAB_UI_DYNAMIC_CONFIG": "true"}, cwd=tmp_path)
    assert (on.ui_dynamic_config, on.compose_env()["KAFKALAB_UI_DYNAMIC_CONFIG"]) == (True, "true")
    assert resolve({}, env={"KAFKALAB_UI_DYNAMIC_CONFIG": "0"}, cwd=tmp_path).ui_dynamic_config is False
    (tmp_path / "kafkalab.toml").write_text("ui-dynamic-config = true\n")
    assert resolve({}, env={}, cwd=tmp_path).ui_dynamic_config is True
    with pytest.raises(ConfigError, match=r"^Bad value for ui_dynamic_config \(env KAFKALAB_UI_DYNAMIC_CONFIG\): "
                                          r"'maybe' is not true or false\.$"):
        resolve({}, env={"KAFKALAB_UI_DYNAMIC_CONFIG": "maybe"}, cwd=tmp_path)
    (tmp_path / "kafkalab.toml").write_text('ui_dynamic_config = "true"\n')
    with pytest.raises(ConfigError, match=r"'true' is a string, not true or false\.$"):
        resolve({}, env={}, cwd=tmp_path)


def test_start_window_defaults_to_120_s_and_comes_from_env_or_file(tmp_path: Path) -> None:
    assert resolve({}, env={}, cwd=tmp_path).start_window == 120.0
    assert resolve({}, env={"KAFKALAB_START_WINDOW": "30"}, cwd=tmp_path).start_window == 30.0
    (tmp_path / "kafkalab.toml").write_text("start-window = 45\n")
    found = resolve({}, env={}, cwd=tmp_path)
    assert (found.start_window, found.sources["start_window"]) == (45.0, str(tmp_path / "kafkalab.toml"))


# --- the brokers' JVM settings -------------------------------------------------------------------


@pytest.mark.parametrize(("mode", "heap", "cluster_id"), [
    ("kraft", "-Xmx384M -Xms384M", "a2Fma2FsYWItbG9jYWwtMQ"),
    ("zookeeper", "-Xmx384M -Xms384M", ""),
    ("cluster", "-Xmx256M -Xms256M", "a2Fma2FsYWItY2x1c3Rlcg"),
])
def test_the_jvm_settings_default_by_mode_and_reach_the_compose_files(
    mode: str, heap: str, cluster_id: str, tmp_path: Path,
) -> None:
    s = resolve({"mode": mode}, env={}, cwd=tmp_path)
    env = s.compose_env()
    assert (env["KAFKALAB_KAFKA_HEAP"], env["KAFKALAB_CLUSTER_ID"]) == (heap, cluster_id)
    assert env["KAFKALAB_KAFKA_JVM_OPTS"] == "-XX:+UseSerialGC -XX:TieredStopAtLevel=1"
    assert env["KAFKALAB_KAFKA_JMX_OPTS"].startswith("-Dcom.sun.management.jmxremote.authenticate=false")
    rows = {name: (value, source) for name, value, source in s.as_rows()}
    assert rows["kafka_heap"] == (heap, "default")  # `kafkalab config` shows what the brokers get
    assert rows["cluster_id"] == (cluster_id, "default")


def test_the_jvm_settings_resolve_as_every_setting_does(tmp_path: Path) -> None:
    (tmp_path / "kafkalab.toml").write_text('kafka-heap = "-Xmx1G"\ncluster_id = "abc"\n')
    s = resolve({}, env={"KAFKALAB_KAFKA_JVM_OPTS": "-XX:+UseG1GC"}, cwd=tmp_path)
    assert (s.kafka_heap, s.cluster_id, s.kafka_jvm_opts) == ("-Xmx1G", "abc", "-XX:+UseG1GC")
    assert s.sources["kafka_jvm_opts"] == "env KAFKALAB_KAFKA_JVM_OPTS"
    assert s.compose_env()["KAFKALAB_KAFKA_HEAP"] == "-Xmx1G"


def test_an_empty_jvm_or_jmx_variable_means_the_images_default_and_an_empty_heap_the_labs(tmp_path: Path) -> None:
    env = {"KAFKALAB_KAFKA_JVM_OPTS": "", "KAFKALAB_KAFKA_JMX_OPTS": "", "KAFKALAB_KAFKA_HEAP": "",
           "KAFKALAB_CLUSTER_ID": ""}
    found = resolve({}, env=env, cwd=tmp_path).compose_env()
    assert (found["KAFKALAB_KAFKA_JVM_OPTS"], found["KAFKALAB_KAFKA_JMX_OPTS"]) == ("", "")
    assert (found["KAFKALAB_KAFKA_HEAP"], found["KAFKALAB_CLUSTER_ID"]) == ("-Xmx384M -Xms384M", "a2Fma2FsYWItbG9jYWwtMQ")


def test_the_derived_broker_ports_come_from_the_mode_table() -> None:
    from kafkalab.lab.modes import MODES as MODE_TABLE

    s = Settings(mode="cluster", port=19094)
    env = s.compose_env()
    for service in MODE_TABLE["cluster"].services:
        if service.port_offset:
            assert env[f"KAFKALAB_PORT_{service.port_offset + 1}"] == str(service.host_port(s))
    assert (env["KAFKALAB_PORT_2"], env["KAFKALAB_PORT_3"]) == ("19095", "19096")
