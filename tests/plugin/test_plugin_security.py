"""The pytest plugin with a secured lab (issue 21): an inner session whose settings say
`security = sasl-ssl` starts that lab, and the plugin's producer and consumer log in with the lab's
user and trust its CA by themselves; the test of the README runs as it is."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
from test_pytest_plugin import README_EXAMPLE, lab_env, run_inner

pytestmark = pytest.mark.e2e
pytest_plugins = ["pytester"]


def test_the_plugins_clients_use_a_secured_labs_user_and_ca(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, new_lab: Any, bed: ModuleType,
) -> None:
    for name, value in {**lab_env(new_lab), "KAFKALAB_SECURITY": "sasl-ssl"}.items():
        monkeypatch.setenv(name, value)
    pytester.makepyfile(README_EXAMPLE)

    result = run_inner(pytester, monkeypatch, "--kafkalab-no-ui")

    result.assert_outcomes(passed=4)  # the README example: three tests, one of them run twice (parametrized)
    result.stdout.fnmatch_lines([f"kafkalab: started the lab {new_lab.project} at localhost:{new_lab.port} in * s, "
                                 "and stopped it."])
    assert bed.docker_leftovers(new_lab.project) == []
