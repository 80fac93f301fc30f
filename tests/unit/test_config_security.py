"""Config files and secrets (issue 17, section 6): a found file cannot make kafkalab load code or run
commands, the user's own file is a source of settings and contexts, and secrets never print."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from kafkalab import errors
from kafkalab.cli import render
from kafkalab.cli.main import cli
from kafkalab.kafka.contexts import CODE_SETTINGS, MASK, load_contexts, masked
from kafkalab.settings import resolve, user_config_path

KAFKALAB = Path(sys.executable).parent / "kafkalab"


def kl(*args: str, env: dict[str, str] | None = None) -> Result:
    render.reset()
    return CliRunner(env=env).invoke(cli, list(args), prog_name="kafkalab")


@pytest.fixture
def listening() -> Iterator[str]:
    """An address that takes TCP connections (kafkalab's probe passes; librdkafka makes its client)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield f"127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def own_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """XDG_CONFIG_HOME of the test: the user's own file is own_dir/kafkalab/config.toml."""
    home = tmp_path / "xdg"
    (home / "kafkalab").mkdir(parents=True)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    return home


def context(name: str, bootstrap: str, client: dict[str, str]) -> str:
    lines = [f'[contexts.{name}]', f'bootstrap_server = "{bootstrap}"', f"[contexts.{name}.client]"]
    return "\n".join([*lines, *(f'"{k}" = "{v}"' for k, v in client.items())]) + "\n"


# --- settings that load code or run commands ------------------------------------------------------

@pytest.mark.parametrize("key", sorted(CODE_SETTINGS))
@pytest.mark.parametrize("file_name", ["kafkalab.toml", "pyproject.toml"])
def test_a_found_file_cannot_set_what_loads_code(tmp_path: Path, file_name: str, key: str) -> None:
    project = tmp_path / "cloned"
    project.mkdir()
    table = context("evil", "localhost:9094", {key: "x"})
    if file_name == "pyproject.toml":
        table = table.replace("[contexts.", "[tool.kafkalab.contexts.")
    (project / file_name).write_text(table)
    with pytest.raises(errors.ConfigError) as caught:
        load_contexts(project)
    assert caught.value.exit_code == 3
    assert caught.value.message == (
        f"{project / file_name}: context evil sets {key}, which {CODE_SETTINGS[key]}: kafkalab takes it only "
        f"from -X or from your own file {user_config_path()}, never from a file found in a directory."
    )


@pytest.mark.parametrize("key", ["PLUGIN.LIBRARY.PATHS", "plugin_library_paths", " sasl.kerberos.kinit.cmd"])
def test_every_spelling_of_a_code_setting_is_refused(tmp_path: Path, key: str) -> None:
    (tmp_path / "kafkalab.toml").write_text(context("evil", "localhost:9094", {key: "x"}))
    with pytest.raises(errors.ConfigError, match=r"which (loads shared|is a shell)"):
        load_contexts(tmp_path)


def test_the_users_own_file_may_set_them_and_the_project_wins_by_name(tmp_path: Path, own_dir: Path) -> None:
    (own_dir / "kafkalab" / "config.toml").write_text(
        context("kerberos", "k:1", {"sasl.kerberos.kinit.cmd": "kinit -R"})
        + context("orders", "mine:1", {"sasl.username": "me"})
    )
    (tmp_path / "kafkalab.toml").write_text(context("orders", "team:1", {"sasl.username": "team"}))
    contexts = load_contexts(tmp_path)
    assert sorted(contexts) == ["kerberos", "orders"]
    assert contexts["kerberos"].client == {"sasl.kerberos.kinit.cmd": "kinit -R"}
    assert contexts["kerberos"].source == own_dir / "kafkalab" / "config.toml"
    assert (contexts["orders"].bootstrap_server, contexts["orders"].source) == ("team:1", tmp_path / "kafkalab.toml")


def test_the_users_own_file_is_a_source_below_the_project_file(tmp_path: Path, own_dir: Path) -> None:
    own = own_dir / "kafkalab" / "config.toml"
    own.write_text('port = 19095\nui_port = 18081\ncluster_name = "mine"\n')
    (tmp_path / "kafkalab.toml").write_text("ui_port = 18082\n")
    found = resolve(env={"KAFKALAB_CLUSTER_NAME": "env"}, cwd=tmp_path)
    assert (found.port, found.sources["port"]) == (19095, str(own))
    assert (found.ui_port, found.sources["ui_port"]) == (18082, str(tmp_path / "kafkalab.toml"))
    assert (found.cluster_name, found.sources["cluster_name"]) == ("env", "env KAFKALAB_CLUSTER_NAME")
    assert resolve({"port": "19096"}, env={}, cwd=tmp_path).port == 19096


def test_the_users_file_follows_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert user_config_path() == tmp_path / "xdg" / "kafkalab" / "config.toml"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert user_config_path() == tmp_path / ".config" / "kafkalab" / "config.toml"
    # A relative XDG_CONFIG_HOME is invalid (the XDG spec): it would be a found folder.
    monkeypatch.setenv("XDG_CONFIG_HOME", "conf")
    assert user_config_path() == tmp_path / ".config" / "kafkalab" / "config.toml"


def test_config_shows_the_users_file_as_a_source(
    tmp_path: Path, own_dir: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    own = own_dir / "kafkalab" / "config.toml"
    own.write_text("port = 19095\n" + context("mine", "k:1", {"plugin.library.paths": "/opt/lib/monitoring"}))
    monkeypatch.chdir(tmp_path)
    result = kl("config", "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["port"] == {"value": "19095", "source": str(own)}
    assert shown["contexts"]["mine"]["source"] == str(own)
    assert shown["contexts"]["mine"]["client"] == {"plugin.library.paths": "/opt/lib/monitoring"}
    table = kl("config", env={"COLUMNS": "300"})
    assert "│ port " in table.stdout and str(own) in table.stdout


def test_config_refuses_a_found_file_that_would_load_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "kafkalab.toml").write_text(context("evil", "k:1", {"plugin.library.paths": "./x.so"}))
    monkeypatch.chdir(tmp_path)
    result = kl("config")
    assert result.exit_code == 3
    assert result.stderr.startswith(f"Error: {tmp_path / 'kafkalab.toml'}: context evil sets plugin.library.paths")
    assert result.stderr.endswith(
        f"Hint: Remove plugin.library.paths from {tmp_path / 'kafkalab.toml'}. If you trust it, give it with "
        f"-X plugin.library.paths=..., or define the context in {user_config_path()}.\n"
    )


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKALAB_", "_KAFKALAB"))}
    return subprocess.run([str(KAFKALAB), *args], cwd=cwd, env={**clean, **env},
                          capture_output=True, text=True, timeout=60, check=False)


COMPLETE_TOPIC = {"_KAFKALAB_COMPLETE": "bash_complete", "COMP_WORDS": "kafkalab topic describe ", "COMP_CWORD": "3"}


def test_a_cloned_repositorys_plugin_never_loads(
    tmp_path: Path, marker_plugin: tuple[Path, Path], listening: str,
) -> None:
    """The attack of issue 17: a repository's kafkalab.toml selects a context that loads a library.
    Neither a command nor a Tab press loads it; the same context in the user's own file does."""
    library, marker = marker_plugin
    repo = tmp_path / "cloned"
    repo.mkdir()
    (repo / "kafkalab.toml").write_text(
        'context = "evil"\n' + context("evil", listening, {"plugin.library.paths": str(library)})
    )
    xdg = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    done = run(["topic", "list"], repo, xdg)
    assert done.returncode == 3, done.stderr
    assert f"{repo / 'kafkalab.toml'}: context evil sets plugin.library.paths, which loads shared" in done.stderr
    assert not marker.exists()
    completed = run([], repo, {**xdg, **COMPLETE_TOPIC})
    assert (completed.returncode, completed.stdout.strip()) == (0, "")
    assert not marker.exists()

    # The control: from the user's own file librdkafka does load it (then refuses it: it is no plugin).
    (tmp_path / "xdg" / "kafkalab").mkdir(parents=True)
    (tmp_path / "xdg" / "kafkalab" / "config.toml").write_text((repo / "kafkalab.toml").read_text())
    (repo / "kafkalab.toml").unlink()
    completed = run([], repo, {**xdg, **COMPLETE_TOPIC})  # but never from Tab
    assert (completed.returncode, completed.stdout.strip()) == (0, "")
    assert not marker.exists()
    done = run(["topic", "list"], repo, xdg)
    assert done.returncode == 3, done.stderr
    assert "librdkafka refused the client settings" in done.stderr
    assert marker.read_text() == "ran"


def test_completion_never_uses_code_settings_from_x(
    tmp_path: Path, marker_plugin: tuple[Path, Path], listening: str,
) -> None:
    library, marker = marker_plugin
    words = f"kafkalab topic describe -b {listening} -X plugin.library.paths={library} "
    completed = run([], tmp_path, {**COMPLETE_TOPIC, "COMP_WORDS": words, "COMP_CWORD": "7"})
    assert (completed.returncode, completed.stdout.strip()) == (0, "")
    assert not marker.exists()
    done = run(["topic", "list", "-b", listening, "-X", f"plugin.library.paths={library}"], tmp_path, {})
    assert done.returncode == 3 and marker.exists()  # -X on the command line is the user's word


# --- masking ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("key", [
    "sasl.password", "ssl.key.password", "ssl.key.pem", "ssl.key.location", "ssl.keystore.location",
    "ssl.keystore.password", "ssl.certificate.pem", "sasl.oauthbearer.config", "sasl.oauthbearer.client.secret",
    "sasl.oauthbearer.client.credentials.client.secret", "sasl.oauthbearer.assertion.private.key.pem",
    "sasl.oauthbearer.assertion.private.key.passphrase", "sasl.kerberos.keytab", "SSL.KEY.PEM",
])
def test_secrets_are_masked(key: str) -> None:
    assert masked(key, "-----BEGIN PRIVATE KEY-----") == MASK


@pytest.mark.parametrize("key", ["sasl.username", "security.protocol", "sasl.mechanism", "client.id", "acks"])
def test_other_settings_are_shown(key: str) -> None:
    assert masked(key, "v") == "v"


PEM = "-----BEGIN PRIVATE KEY-----MIIEvQIBADANBg-----END PRIVATE KEY-----"


def test_config_masks_inline_keys_and_the_oauthbearer_config(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "kafkalab.toml").write_text(context("tls", "k:1", {
        "ssl.key.pem": PEM, "sasl.oauthbearer.config": "principal=admin extension_secret=hunter2",
        "security.protocol": "SSL",
    }))
    monkeypatch.chdir(tmp_path)
    table = kl("config", env={"COLUMNS": "300"})
    as_json = kl("config", "--json")
    for result in (table, as_json):
        assert result.exit_code == 0, result.output
        assert "BEGIN PRIVATE KEY" not in result.stdout and "hunter2" not in result.stdout
    assert json.loads(as_json.stdout)["contexts"]["tls"]["client"] == {
        "ssl.key.pem": MASK, "sasl.oauthbearer.config": MASK, "security.protocol": "SSL",
    }


def test_the_refused_settings_error_masks_them(listening: str) -> None:
    result = kl("topic", "list", "-b", listening, "-X", "security.protocol=ssl", "-X", f"ssl.key.pem={PEM}",
                "-X", "sasl.oauthbearer.config=principal=hunter2")
    assert result.exit_code == 3
    assert result.stderr.startswith(
        f"Error: librdkafka refused the client settings (security.protocol=ssl, ssl.key.pem={MASK}, "
        f"sasl.oauthbearer.config={MASK}): "
    )
    assert "BEGIN PRIVATE KEY" not in result.output and "hunter2" not in result.output


@pytest.mark.parametrize("setting, error", [
    ("ssl.ca.location=/nonexistent", "Error: ssl.ca.location /nonexistent: no such file."),
    ("ssl.certificate.location=", "Error: ssl.certificate.location is empty: it names no file."),
    ("ssl.key.location=/nonexistent/client.key", "Error: ssl.key.location /nonexistent/client.key: no such file."),
])
def test_a_file_setting_naming_no_file_is_said_so_before_librdkafka(listening: str, setting: str, error: str) -> None:
    result = kl("topic", "list", "-b", listening, "-X", "security.protocol=ssl", "-X", setting)
    assert result.exit_code == 3, result.output
    assert result.stderr == (f"{error}\nHint: Give the path of a file that exists; `kafkalab connect` names the lab's "
                             "files (its CA, and the client's certificate and key for mtls).\n")


def test_check_files_passes_files_that_exist_and_the_system_cas(tmp_path: Path) -> None:
    from kafkalab.kafka.clients import check_files

    ca = tmp_path / "ca.pem"
    ca.write_text("")
    check_files({"ssl.ca.location": str(ca), "ssl.crl.location": str(tmp_path), "linger.ms": 5})
    check_files({"ssl.ca.location": "probe", "ssl.key.password": ""})
    with pytest.raises(errors.ConfigError, match=r"^ssl.engine.location /none: no such file\.$"):
        check_files({"ssl.engine.location": "/none"})
