"""Issue 17 on the real test bed: names, keys, values and headers print as they are (section 4); a
found config file cannot make kafkalab load code against a broker that answers, nor can Tab; and
kafka-ui's dynamic config is off (section 6)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from kafka_cli import create, fresh, kl

from kafkalab import Lab

pytestmark = pytest.mark.e2e

KAFKALAB = Path(sys.executable).parent / "kafkalab"
GROUPS = ["orders-[eu]", "app[/x]"]


@pytest.fixture(scope="module")
def bootstrap(shared_lab: Lab) -> str:
    return str(shared_lab.bootstrap_servers)


def test_group_names_with_markup_characters(bootstrap: str) -> None:
    topic = fresh("literal")
    create(bootstrap, topic)
    sent = kl("produce", topic, "-b", bootstrap, input="one\ntwo\n")
    assert sent.exit_code == 0, sent.output
    suffix = fresh("")
    groups = [name + suffix for name in GROUPS]  # unique on the shared lab, the brackets kept
    for name in groups:
        read = kl("consume", topic, "--group", name, "--from-beginning", "-n", "1", "-b", bootstrap)
        assert (read.exit_code, read.stdout) == (0, "one\n"), read.output
        assert f"Committed the offsets of group {name}." in read.stderr

    listed = kl("group", "list", "-b", bootstrap, env={"COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output  # was 1: "Unexpected MarkupError" for app[/x]
    for name in groups:
        assert f"│ {name} " in listed.stdout, listed.stdout  # was "orders-" for orders-[eu]
    as_json = kl("group", "list", "--json", "-b", bootstrap)
    assert set(groups) <= {g["group"] for g in json.loads(as_json.stdout)}

    for name in groups:
        shown = kl("group", "describe", name, "-b", bootstrap, env={"COLUMNS": "200"})
        assert shown.exit_code == 0, shown.output
        assert shown.stdout.startswith(f"Group {name}: empty (classic), 0 members, lag 1\n"), shown.stdout
        assert f"│ {topic} " in shown.stdout
        data = json.loads(kl("group", "describe", name, "--json", "-b", bootstrap).stdout)
        assert (data["group"], data["lag"]) == (name, 1)

    missing = kl("group", "describe", f"nope[/x]{suffix}", "-b", bootstrap)
    assert f"nope[/x]{suffix}" in missing.stderr  # the error text keeps the brackets too


def test_keys_values_and_headers_print_as_they_are(bootstrap: str) -> None:
    topic = fresh("literal")
    create(bootstrap, topic)
    lines = "[bold]k|[/x] value [red]\n:thumbs_up:|[/]\n"
    sent = kl("produce", topic, "-K", "|", "-H", "[bold]h=[/x]v", "-b", bootstrap, input=lines)
    assert sent.exit_code == 0, sent.output

    values = kl("consume", topic, "--from-beginning", "-b", bootstrap)
    assert (values.exit_code, values.stdout) == (0, "[/x] value [red]\n[/]\n")
    kv = kl("consume", topic, "--from-beginning", "--format", "kv", "-b", bootstrap)
    assert kv.stdout == "[bold]k\t[/x] value [red]\n:thumbs_up:\t[/]\n"
    records = [json.loads(line) for line in
               kl("consume", topic, "--from-beginning", "--format", "json", "-b", bootstrap).stdout.splitlines()]
    assert [(r["key"], r["value"], r["headers"]) for r in records] == [
        ("[bold]k", "[/x] value [red]", [["[bold]h", "[/x]v"]]),
        (":thumbs_up:", "[/]", [["[bold]h", "[/x]v"]]),
    ]


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKALAB_", "_KAFKALAB"))}
    return subprocess.run([str(KAFKALAB), *args], cwd=cwd, env={**clean, **env},
                          capture_output=True, text=True, timeout=60, check=False)


def test_a_found_file_cannot_load_a_plugin_against_a_broker_that_answers(
    bootstrap: str, tmp_path: Path, marker_plugin: tuple[Path, Path],
) -> None:
    library, marker = marker_plugin
    repo = tmp_path / "cloned"
    repo.mkdir()
    evil = (f'context = "evil"\n[contexts.evil]\nbootstrap_server = "{bootstrap}"\n'
            f'[contexts.evil.client]\n"plugin.library.paths" = "{library}"\n')
    (repo / "kafkalab.toml").write_text(evil)
    xdg = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    listed = run(["topic", "list"], repo, xdg)
    assert listed.returncode == 3, listed.stderr
    assert listed.stderr.startswith(
        f"Error: {repo / 'kafkalab.toml'}: context evil sets plugin.library.paths, which loads shared libraries"
    )
    tab = {"_KAFKALAB_COMPLETE": "bash_complete", "COMP_WORDS": "kafkalab topic describe ", "COMP_CWORD": "3"}
    completed = run([], repo, {**xdg, **tab})
    assert (completed.returncode, completed.stdout.strip()) == (0, "")
    assert not marker.exists()

    # The control: the same context in the user's own file is the user's word, and is loaded.
    (tmp_path / "xdg" / "kafkalab").mkdir(parents=True)
    (tmp_path / "xdg" / "kafkalab" / "config.toml").write_text(evil)
    (repo / "kafkalab.toml").unlink()
    assert run([], repo, {**xdg, **tab}).returncode == 0
    assert not marker.exists()  # never from Tab
    assert run(["topic", "list"], repo, xdg).returncode == 3  # librdkafka: it is no plugin
    assert marker.read_text() == "ran"


def test_kafka_uis_dynamic_config_is_off(lab_factory: Callable[..., Lab]) -> None:
    lab = lab_factory()
    lab.up(wait=False)
    env = subprocess.run(
        ["docker", "inspect", "--format", "{{json .Config.Env}}", f"{lab.settings.project}-kafka-ui-1"],
        capture_output=True, text=True, check=True,
    ).stdout
    assert "DYNAMIC_CONFIG_ENABLED=false" in json.loads(env)
