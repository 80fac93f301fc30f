"""Helpers of the e2e tests of the Kafka commands (test_workflow.py, test_daily.py): the CLI in-process,
unique names, polling, and the common requests. Imported by name: pytest puts this folder on sys.path."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from click.testing import CliRunner, Result

from kafkalab.cli import render
from kafkalab.cli.main import cli


def kl(*args: str, input: bytes | str | None = None, env: dict[str, str] | None = None) -> Result:
    """The CLI in-process, as `kafkalab ARGS`."""
    render.reset()
    return CliRunner(env=env).invoke(cli, list(args), input=input, prog_name="kafkalab")


def fresh(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def poll(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)
    return result


def create(bootstrap: str, name: str, *args: str) -> None:
    result = kl("topic", "create", name, *args, "-b", bootstrap)
    assert result.exit_code == 0, result.output


def describe(bootstrap: str, name: str) -> dict[str, Any]:
    result = kl("topic", "describe", name, "--json", "-b", bootstrap)
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def group(bootstrap: str, name: str) -> dict[str, Any]:
    result = kl("group", "describe", name, "--json", "-b", bootstrap)
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))
