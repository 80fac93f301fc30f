"""The documentation and the release habits: docs/commands.md is the commands' own help, every exit
code has its row, every link lands, the README stays a front door, and the version is the changelog's."""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import tempfile
from pathlib import Path
from types import ModuleType

from click.testing import CliRunner

from kafkalab import errors
from kafkalab.cli.main import cli

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", ROOT / "CHANGELOG.md", *sorted(DOCS.glob("*.md"))]


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_generate", DOCS / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_commands_md_is_the_commands_own_help() -> None:
    written = (DOCS / "commands.md").read_text()
    assert written == _generator().render(), "docs/commands.md is stale: run `make docs` and commit it"


def test_commands_md_has_every_option_of_every_command() -> None:
    """The generator walks every command and prints every option it has, hidden ones aside."""
    import click

    written = (DOCS / "commands.md").read_text()

    def walk(command: click.Command, path: str) -> None:
        section = written.split(f"## {path}\n", 1)[1].split("\n## ", 1)[0]
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden:
                assert any(opt in section for opt in param.opts), f"{path}: {param.opts}"
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                walk(sub, f"{path} {name}")

    walk(cli, "kafkalab")


def test_every_exit_code_has_a_row_in_errors_md() -> None:
    rows = {line.split("|")[1].strip() for line in (DOCS / "errors.md").read_text().splitlines()
            if line.startswith("| ")}
    codes = [*errors.EXIT_CODES.values(), *errors.DOCTOR_EXIT_CODES.values(),
             errors.STATUS_NOT_RUNNING, errors.STATUS_DEGRADED]
    missing = sorted({code for code in codes if str(code) not in rows})
    assert not missing, f"exit codes without a row in docs/errors.md: {missing}"


def _anchors(text: str) -> set[str]:
    """GitHub's anchors of a page's headings (those outside code blocks)."""
    found, fenced = set(), False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            found.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return found


def test_every_link_between_the_pages_lands() -> None:
    broken = []
    for page in PAGES:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if re.match(r"[a-z]+://", target):
                continue
            path, _, anchor = target.partition("#")
            landing = (page.parent / path).resolve() if path else page
            if not landing.exists():
                broken.append(f"{page.name}: {target}")
            elif anchor and landing.suffix == ".md" and anchor not in _anchors(landing.read_text()):
                broken.append(f"{page.name}: {target} (no such heading)")
    assert not broken, broken


def test_the_readme_is_a_front_door_that_links_every_page() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 250
    for page in [*sorted(DOCS.glob("*.md")), ROOT / "CONTRIBUTING.md", ROOT / "CHANGELOG.md"]:
        assert f"]({page.relative_to(ROOT)})" in readme, f"the README does not link {page.relative_to(ROOT)}"


def _changelog_versions() -> list[str]:
    return re.findall(r"^## \[([^\]]+)\]", (ROOT / "CHANGELOG.md").read_text(), re.MULTILINE)


def test_the_changelog_keeps_its_format() -> None:
    """Keep a Changelog: Unreleased first, then each version with its date, newest first."""
    text = (ROOT / "CHANGELOG.md").read_text()
    versions = _changelog_versions()
    assert versions[0] == "Unreleased"
    for version in versions[1:]:
        assert re.search(rf"^## \[{re.escape(version)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", text, re.MULTILINE), version
    numbers = [tuple(int(part) for part in v.split(".")) for v in versions[1:]]
    assert numbers == sorted(numbers, reverse=True)
    sections = set(re.findall(r"^### (.+)$", text, re.MULTILINE))
    assert sections <= {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}, sections


def test_version_is_the_newest_in_the_changelog() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"kafkalab {_changelog_versions()[1]}\n"


def test_the_pytest_plugin_example_is_the_one_the_plugin_tests_run() -> None:
    tree = ast.parse((ROOT / "tests" / "plugin" / "test_pytest_plugin.py").read_text())
    (example,) = [node.value.value for node in ast.walk(tree) if isinstance(node, ast.Assign)
                  and isinstance(node.value, ast.Constant)
                  and any(isinstance(t, ast.Name) and t.id == "README_EXAMPLE" for t in node.targets)]
    assert f"```python\n{str(example).strip()}\n```" in (DOCS / "python.md").read_text()


def test_the_tests_keep_kafkalabs_state_out_of_the_users_cache() -> None:
    """tests/conftest.py gives the session an XDG_CACHE_HOME of its own, in the temporary directory."""
    cache_home = Path(os.environ["XDG_CACHE_HOME"])
    assert cache_home.is_dir()
    assert cache_home.parent == Path(tempfile.gettempdir())
    assert cache_home != Path.home() / ".cache"
