"""The CLI without Docker: error mapping, help texts, the --help import budget, rendering."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from kafkalab import errors
from kafkalab.cli.main import cli
from kafkalab.docker.models import Container
from kafkalab.kafka.cluster import ClusterInfo
from kafkalab.lab import state
from kafkalab.lab.lab import Lab
from kafkalab.lab.status import LabStatus, UiStatus

ROOT = Path(__file__).resolve().parents[2]

# Every error class with an exit code of its own: the table itself, so that a new class is tested too.
ALL_ERRORS = [getattr(errors, name) for name in errors.EXIT_CODES]


@pytest.mark.parametrize("error_type", ALL_ERRORS, ids=lambda t: t.__name__)
def test_every_error_is_two_lines_and_its_exit_code(
    error_type: type[errors.KafkalabError], monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fail(self: Lab) -> LabStatus:
        raise error_type("Something went wrong.")

    monkeypatch.setattr(Lab, "status", fail)
    result = CliRunner().invoke(cli, ["status"])
    assert result.stderr == f"Error: Something went wrong.\nHint: {error_type.hint}\n"
    assert result.stdout == ""
    assert result.exit_code == error_type.exit_code == errors.EXIT_CODES[error_type.__name__]


def test_exit_codes_are_distinct_and_all_documented() -> None:
    # A user denied the socket is a daemon the CLI can't reach, as the issue has it: 5, like DaemonDown.
    assert errors.DockerSocketDenied.exit_code == errors.DaemonDown.exit_code
    kinds = {name: code for name, code in errors.EXIT_CODES.items() if name != "DockerSocketDenied"}
    codes = [*kinds.values(), errors.STATUS_NOT_RUNNING, errors.STATUS_DEGRADED]
    assert len(codes) == len(set(codes))
    documented = (ROOT / "docs" / "errors.md").read_text()
    for name, code in errors.EXIT_CODES.items():
        assert f"| {code} | `{name}` |" in documented, name


def test_readiness_timeout_prints_the_log_tail_first(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(self: Lab) -> LabStatus:
        raise errors.ReadinessTimeout("Not ready.", log_tail="line 1\nline 2\n")

    monkeypatch.setattr(Lab, "status", fail)
    result = CliRunner().invoke(cli, ["status"])
    assert result.stderr == (
        f"Last 2 log lines:\nline 1\nline 2\nError: Not ready.\nHint: {errors.ReadinessTimeout.hint}\n"
    )


def test_unexpected_exceptions_have_no_traceback_without_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(self: Lab) -> LabStatus:
        raise RuntimeError("boom")

    monkeypatch.setattr(Lab, "status", boom)
    result = CliRunner().invoke(cli, ["status"])
    assert result.exit_code == 1
    assert result.stderr == "Error: Unexpected RuntimeError: boom\nHint: Run again with --debug and report the traceback.\n"
    debug = CliRunner().invoke(cli, ["--debug", "status"])
    assert "Traceback (most recent call last)" in debug.stderr
    assert debug.stderr.endswith("Error: Unexpected RuntimeError: boom\nHint: Run again with --debug and report the traceback.\n")


def test_bad_setting_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKALAB_PORT", "nine")
    result = CliRunner().invoke(cli, ["config"])
    assert result.exit_code == 3
    assert result.stderr.splitlines()[0] == "Error: Bad value for port (env KAFKALAB_PORT): 'nine' is not a port number."


def test_config_json_shows_value_and_source(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:

    monkeypatch.setattr(state, "_found", [tmp_path])  # no record of this machine's lab named kafkalab
    monkeypatch.setenv("KAFKALAB_UI_PORT", "18081")
    result = CliRunner().invoke(cli, ["--port", "19999", "config", "--json"])
    data = json.loads(result.stdout)
    assert data["port"] == {"value": "19999", "source": "flag"}
    assert data["ui_port"] == {"value": "18081", "source": "env KAFKALAB_UI_PORT"}
    assert data["mode"] == {"value": "kraft", "source": "default"} or data["mode"]["source"].startswith("env")


def test_config_finds_the_projects_pyproject_from_a_subdirectory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The environment would win over the file: clear what this test reads.
    monkeypatch.delenv("KAFKALAB_PROJECT", raising=False)
    monkeypatch.delenv("KAFKALAB_PORT", raising=False)
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "orders-svc"\n\n[tool.kafkalab]\nproject = "orders-svc"\n')
    (tmp_path / "src" / "orders").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "src" / "orders")
    result = CliRunner().invoke(cli, ["config", "--json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["project"] == {"value": "orders-svc", "source": str(pyproject)}

    pyproject.write_text("[tool.kafkalab]\nport = true\n")
    result = CliRunner().invoke(cli, ["config", "--json"])
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr.splitlines()[0] == f"Error: Bad value for port ({pyproject}): True is not a port number."


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in sorted(group.commands.items()):
        found.append((prefix + name, command))
        if isinstance(command, click.Group):
            found += _commands(command, prefix + name + " ")
    return found


def _hand_written_docs() -> str:
    """What people wrote about the commands: the README and docs/, less the generated docs/commands.md."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    return "\n".join(page.read_text() for page in pages if page.name != "commands.md")


@pytest.mark.parametrize(("name", "command"), _commands(cli), ids=lambda v: v if isinstance(v, str) else "")
def test_every_command_has_help_an_example_and_a_mention_in_the_docs(name: str, command: click.Command) -> None:
    assert command.short_help, name
    assert command.help and "kafkalab " in command.help, f"{name}: the docstring needs an example"
    assert f"## kafkalab {name}\n" in (ROOT / "docs" / "commands.md").read_text(), \
        f"docs/commands.md has no section for `kafkalab {name}`: run `make docs`"
    assert f"kafkalab {name}" in _hand_written_docs(), f"neither the README nor docs/ mention `kafkalab {name}`"


def test_help_loads_neither_python_on_whales_nor_confluent_kafka() -> None:
    code = (
        "import sys\nfrom kafkalab.cli.main import cli\n"
        "try:\n    cli(['--help'], prog_name='kafkalab')\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('python_on_whales', 'confluent_kafka', 'pydantic', 'rich') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[-1] == "HEAVY []"


def _status(state: str) -> LabStatus:
    kafka = Container("kafka", "lab-kafka-1", "running", "Up 5 seconds", ("9092/tcp", "127.0.0.1:9094->9094/tcp"), "k:1")
    info = ClusterInfo("localhost:9094", "abc", 1, ((1, "localhost:9094"),), 2, 4)
    ui = UiStatus("http://localhost:8080", state == "healthy", "HTTP 200")
    return LabStatus("lab", "kraft", state, (kafka,), info, None, ui)  # type: ignore[arg-type]


def test_status_renders_a_table_and_exit_codes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Lab, "status", lambda self: _status("healthy"))
    result = CliRunner().invoke(cli, ["status"])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == "Lab lab (kraft): healthy"
    assert "│ kafka   │ running │ Up 5 seconds │ 127.0.0.1:9094 │" in result.stdout
    assert "9092" not in result.stdout  # unpublished ports are noise
    assert "│ cluster id │ abc" in result.stdout
    assert result.stdout.rstrip().endswith("UI: http://localhost:8080 answers")
    monkeypatch.setattr(Lab, "status", lambda self: _status("degraded"))
    assert CliRunner().invoke(cli, ["status"]).exit_code == errors.STATUS_DEGRADED


def test_status_json_is_plain_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Lab, "status", lambda self: _status("healthy"))
    data = json.loads(CliRunner().invoke(cli, ["status", "--json"]).stdout)
    assert data["state"] == "healthy"
    assert data["broker"]["broker_count"] == 1
    assert data["services"][0]["ports"] == ["9092/tcp", "127.0.0.1:9094->9094/tcp"]
    assert data["ui"] == {"url": "http://localhost:8080", "healthy": True, "detail": "HTTP 200", "starting": False,
                          "answered": False, "starting_for": None, "state": "healthy"}


def test_a_starting_ui_is_shown_as_starting_and_for_how_long(monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    status = _status("healthy")
    ui = UiStatus("http://localhost:8080", False, "no answer (ConnectionRefusedError)", starting=True,
                  starting_for=4.2)
    monkeypatch.setattr(Lab, "status", lambda self: dataclasses.replace(status, ui=ui))
    shown = CliRunner().invoke(cli, ["status"])
    assert shown.exit_code == 0
    assert "UI: http://localhost:8080 starting for 4 s (`kafkalab up --wait-ui` waits" in shown.stdout
    assert "✘" not in shown.stdout
    data = json.loads(CliRunner().invoke(cli, ["status", "--json"]).stdout)
    assert (data["ui"]["state"], data["ui"]["starting"], data["ui"]["starting_for"]) == ("starting", True, 4.2)


def test_a_narrow_terminal_cuts_no_address(monkeypatch: pytest.MonkeyPatch) -> None:
    from kafkalab.cli import render

    cluster = ClusterInfo("localhost:9094,localhost:9095,localhost:9096", "a2Fma2FsYWItbG9jYWwtMQ", 1,
                          ((1, "localhost:9094"),), 2, 4)
    monkeypatch.setattr(Lab, "status", lambda self: LabStatus(
        "lab", "kraft", "healthy", _status("healthy").containers, cluster, None, None))
    render.reset()  # the consoles read COLUMNS when they are made
    try:
        narrow = CliRunner().invoke(cli, ["status"], env={"COLUMNS": "40"})
    finally:
        render.reset()
    assert narrow.exit_code == 0
    assert "…" not in narrow.stdout
    assert "  published on: 127.0.0.1:9094" in narrow.stdout.splitlines()
    assert "bootstrap: localhost:9094,localhost:9095,localhost:9096" in narrow.stdout.splitlines()
    assert "cluster id: a2Fma2FsYWItbG9jYWwtMQ" in narrow.stdout.splitlines()
    assert "service kafka" in narrow.stdout.splitlines()  # each row of a table too wide, folded into lines


def test_compose_v1_only_is_named(tmp_path: Path) -> None:
    # A stand-in `docker` (a failure that cannot be caused for real here, where Compose v2 is installed):
    # the daemon answers, but `docker compose` is the old v1.
    fake = tmp_path / "docker"
    fake.write_text(
        "#!/bin/sh\n"
        'case "$1 $2" in\n'
        '  "compose version") echo "1.29.2";;\n'
        "  ps*|volume*) ;;\n"
        '  *) echo "unexpected: $*" >&2; exit 1;;\n'
        "esac\n"
    )
    fake.chmod(0o755)
    result = CliRunner().invoke(cli, ["up"], env={"PATH": str(tmp_path), "KAFKALAB_PROJECT": "v1test"})
    assert result.exit_code == 6
    assert result.stderr.splitlines()[-2:] == [
        "Error: Docker Compose v2 was not found: `docker compose version` reports 1.29.2.",
        f"Hint: {errors.ComposeV1Only.hint}",
    ]


def test_a_compose_that_fails_otherwise_is_not_called_v1(tmp_path: Path) -> None:
    # A stand-in again: the plugin is there but broken (here: it cannot be executed), which is not v1.
    fake = tmp_path / "docker"
    fake.write_text(
        "#!/bin/sh\n"
        'case "$1 $2" in\n'
        '  "compose version") echo "fork/exec /usr/libexec/docker/cli-plugins/docker-compose: permission denied" >&2;'
        " exit 1;;\n"
        "  ps*|volume*) ;;\n"
        '  *) echo "unexpected: $*" >&2; exit 1;;\n'
        "esac\n"
    )
    fake.chmod(0o755)
    result = CliRunner().invoke(cli, ["up"], env={"PATH": str(tmp_path), "KAFKALAB_PROJECT": "v1test"})
    assert result.exit_code == 9
    assert result.stderr.splitlines()[-2:] == [
        "Error: `docker compose version` failed: fork/exec /usr/libexec/docker/cli-plugins/docker-compose: "
        "permission denied",
        f"Hint: {errors.ComposeError.hint}",
    ]


@pytest.fixture
def terminal_err() -> Iterator[io.StringIO]:
    """render's stderr console as a terminal that writes into a string."""
    from rich.console import Console

    from kafkalab.cli import render

    buffer = io.StringIO()
    render.reset()
    render._consoles["err"] = Console(file=buffer, force_terminal=True, width=80)
    yield buffer
    render.reset()


def test_a_step_quicker_than_the_spinners_delay_stays_quiet(terminal_err: io.StringIO) -> None:
    from kafkalab.cli import render

    with render.progress("Checking Docker", delay=30) as spinner:
        spinner.show("Still checking", now=False)
        assert not spinner._now.is_set(), "show(now=False) must leave the delay running"
    assert terminal_err.getvalue() == ""


def test_show_now_puts_the_spinner_on_screen_before_its_delay(terminal_err: io.StringIO) -> None:
    from kafkalab.cli import render

    with render.progress("Checking Docker", delay=30) as spinner:
        spinner.show("Starting containers")
        deadline = time.monotonic() + 10
        while "Starting containers" not in terminal_err.getvalue() and time.monotonic() < deadline:
            time.sleep(0.02)  # polling the console's output for the first frame
    assert "Starting containers" in terminal_err.getvalue()
    assert "Checking Docker" not in terminal_err.getvalue()


@pytest.mark.parametrize(("hint", "under_pytest"), [
    (errors.PortInUse.hint,
     "Free the port, or choose another with --kafkalab-port / --kafkalab-ui-port (or KAFKALAB_PORT / KAFKALAB_UI_PORT)."),
    ("Stop that container, or choose another port with --zookeeper-port.",
     "Stop that container, or choose another port with --kafkalab-zookeeper-port."),
    (errors.ReadinessTimeout.hint,
     "Read the broker log above; raise KAFKALAB_TIMEOUT if the machine is slow; `kafkalab logs kafka` shows all of it."),
    (errors.ImageMissing.hint, "Build or load the image locally, or allow pulling with KAFKALAB_PULL=missing."),
    # A command to run keeps the CLI's options; an option of the plugin's stays as it is.
    ("Use --mode cluster, or `kafkalab down --mode cluster` it first.",
     "Use --kafkalab-mode cluster, or `kafkalab down --mode cluster` it first."),
    ("Use its port (--kafkalab-port 1 or KAFKALAB_PORT), or --project-name.",
     "Use its port (--kafkalab-port 1 or KAFKALAB_PORT), or --kafkalab-project."),
])
def test_hints_under_pytest_name_the_plugins_options(hint: str, under_pytest: str) -> None:
    from kafkalab.pytest_plugin import _describe

    assert _describe(errors.KafkalabError("Failed.", hint)).splitlines()[-1] == f"Hint: {under_pytest}"


def test_the_global_flags_are_one_table(pytestconfig: pytest.Config, monkeypatch: pytest.MonkeyPatch) -> None:
    """settings.GLOBAL_FLAGS is the one list: the root group has an option for each, the pytest plugin
    one for each that names a lab (zookeeper_port too), and the Kafka commands' brokers follow them."""
    from kafkalab import pytest_plugin
    from kafkalab.settings import GLOBAL_FLAGS, PULL_POLICIES

    assert {p.name for p in cli.params} - {"version", "verbose", "debug", "help"} == set(GLOBAL_FLAGS)
    monkeypatch.setattr(pytestconfig.option, "kafkalab_zookeeper_port", 2999)
    monkeypatch.setattr(pytestconfig.option, "kafkalab_port", 19999)
    settings = pytest_plugin._settings(pytestconfig)
    assert (settings.zookeeper_port, settings.sources["zookeeper_port"]) == (2999, "option --kafkalab-zookeeper-port")
    assert settings.port == 19999
    for name in GLOBAL_FLAGS:
        if name not in ("context", "schema_registry", "connect_url"):  # a cluster, a registry, a Connect: no lab
            pytestconfig.getoption(f"kafkalab_{name}")  # ValueError when the plugin lacks the option
    choices = {p.name: p.type for p in cli.commands["up"].params}["pull"]
    assert isinstance(choices, click.Choice) and tuple(choices.choices) == PULL_POLICIES


def test_the_command_modules_import_neither_main_nor_each_other() -> None:
    """main.py adds the commands; a command module imports app, options, complete and render only."""
    import ast

    commands = ("lab", "topic", "records", "group", "schema", "connector", "completion")
    shared = {"kafkalab.cli.app", "kafkalab.cli.options", "kafkalab.cli.complete", "kafkalab.cli.render"}
    root = Path(__file__).parents[2] / "kafkalab" / "cli"
    for name in (*commands, "app", "options", "complete", "render"):
        imported = set()
        for node in ast.walk(ast.parse((root / f"{name}.py").read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("kafkalab.cli"):
                imported |= {f"{node.module}.{a.name}" if node.module == "kafkalab.cli" else node.module
                             for a in node.names}
        assert "kafkalab.cli.main" not in imported, name
        assert imported <= shared, (name, imported - shared)
