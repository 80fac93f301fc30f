"""Fixtures for the tests of kafkalab's pytest plugin, which run inner pytest sessions (pytester).

Each inner session gets the lab's project name and free ports through KAFKALAB_* variables (set
with monkeypatch, which the subprocess inherits) or through the plugin's options. A lab that an
inner session may start is always taken down afterwards, waiting until docker has nothing left of
it. The attach tests use tests/conftest.py's `shared_lab`, which they only read and add topics to.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

TESTS = Path(__file__).resolve().parents[1]


def _tests_conftest(config: pytest.Config) -> ModuleType:
    """tests/conftest.py as pytest loaded it (its helpers share one counter of project names).

    `from conftest import ...` is not safe here: without __init__.py files every conftest is the
    module "conftest", so that name may be tests/bed/conftest.py, depending on collection order.
    """
    for plugin in config.pluginmanager.get_plugins():
        if isinstance(plugin, ModuleType) and getattr(plugin, "__file__", None) == str(TESTS / "conftest.py"):
            return plugin
    raise LookupError("tests/conftest.py is not loaded")


@pytest.fixture(scope="session")
def bed(pytestconfig: pytest.Config) -> ModuleType:
    """The helpers of tests/conftest.py: free_port, project_name, teardown_project, docker_leftovers, ..."""
    return _tests_conftest(pytestconfig)


def new_settings(bed: ModuleType, tag: str) -> Any:
    """Settings of a lab nobody runs yet: a unique project name and free ports."""
    from kafkalab.settings import resolve

    flags = {"project": bed.project_name(tag), "port": bed.free_port(), "ui_port": bed.free_port(),
             "zookeeper_port": bed.free_port(), "schema_registry_port": bed.free_port()}
    return resolve(flags, cwd=TESTS)


@pytest.fixture
def new_lab(bed: ModuleType) -> Iterator[Any]:
    """Settings for a lab that the test's inner session will start; taken down at the end, always."""
    settings = new_settings(bed, "-plugin")
    try:
        yield settings
    finally:
        bed.teardown_project(settings.project)
