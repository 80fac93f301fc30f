"""Settings resolve from flags, then KAFKALAB_* environment, then the config file, then defaults."""

from __future__ import annotations

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
    assert s.sources == {"port": "flag", "ui_port": "env KAFKALAB_UI_PORT", "mode": "pyproject.toml"}


def test_pyproject_without_table_falls_back_to_kafkalab_toml(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "svc"\n')
    (tmp_path / "kafkalab.toml").write_text('cluster_name = "orders"\n')
    s = resolve({}, env={}, cwd=tmp_path)
    assert s.cluster_name == "orders"
    assert s.sources["cluster_name"] == "kafkalab.toml"


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


def test_bad_toml_and_unknown_keys_are_config_errors(tmp_path: Path) -> None:
    (tmp_path / "kafkalab.toml").write_text("port = \n")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        resolve({}, env={}, cwd=tmp_path)
    (tmp_path / "kafkalab.toml").write_text("prot = 1\n")
    with pytest.raises(ConfigError, match="unknown setting 'prot'"):
        resolve({}, env={}, cwd=tmp_path)


def test_compose_env_names_match_what_the_compose_files_read() -> None:
    env = Settings(port=1234, image_ui="x/ui:1").compose_env()
    assert env["KAFKALAB_PORT"] == "1234"
    assert env["KAFKALAB_IMAGE_UI"] == "x/ui:1"
    compose_text = "".join(p.read_text() for p in (Path(__file__).parents[2] / "compose").glob("*.yaml"))
    for name in env:
        if name != "KAFKALAB_PROJECT":
            assert "${" + name in compose_text, name


def test_replace_validates_and_marks_the_source() -> None:
    s = Settings().replace(port=19094, project=None)
    assert (s.port, s.sources) == (19094, {"port": "argument"})
    with pytest.raises(ConfigError):
        Settings().replace(port=0)
