"""Helpers of the e2e tests: the CLI in-process (as `kafkalab ARGS`, or in a user's shell for a lab),
unique names, polling, and the common requests. Imported by name: pytest puts this folder on sys.path."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from click.testing import CliRunner, Result

from kafkalab import Lab
from kafkalab.cli import render
from kafkalab.cli.main import cli

IMAGES = {k: v for k, v in os.environ.items() if k.startswith("KAFKALAB_IMAGE_") or k == "KAFKALAB_PULL"}


def lab_env(lab: Lab, **extra: str) -> dict[str, str]:
    """A user's shell for this lab: its project, ports and network, the bed's images, no mode chosen."""
    s = lab.settings
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KAFKALAB_")}
    named = {"KAFKALAB_NETWORK": s.network} if s.network else {}
    named.update({"KAFKALAB_SUBNET": s.subnet} if s.subnet else {})
    return {**clean, **IMAGES, "KAFKALAB_PROJECT": s.project, "KAFKALAB_PORT": str(s.port),
            "KAFKALAB_UI_PORT": str(s.ui_port), "KAFKALAB_ZOOKEEPER_PORT": str(s.zookeeper_port), **named, **extra}


def cli_run(lab: Lab, *args: str, **extra: str) -> Result:
    """The CLI in-process, in a user's shell for the lab (lab_env)."""
    return CliRunner().invoke(cli, list(args), env=lab_env(lab, **extra))


@contextlib.contextmanager
def broker_held(lab: Lab) -> Iterator[None]:
    """The lab's first broker hung for real while inside: its processes stopped from the host
    (SIGSTOP), its container running, its port published, nothing answering. (`docker pause` is no
    hang to kafkalab: `up` unpauses.)"""
    container = f"{lab.settings.project}-kafka-1"
    top = subprocess.run(["docker", "top", container, "-eo", "pid"], check=True, capture_output=True, text=True)
    pids = [int(line) for line in top.stdout.split()[1:]]
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


def kl(*args: str, input: bytes | str | None = None, env: dict[str, str] | None = None) -> Result:
    """The CLI in-process, as `kafkalab ARGS`."""
    render.reset()
    return CliRunner(env=env).invoke(cli, list(args), input=input, prog_name="kafkalab")


def fresh(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def incompressible(size: int, seed: int = 0) -> bytes:
    """`size` printable bytes that lz4 (produce's compression.type) cannot shrink: hex digits of
    random bytes, so that a line over a topic's max.message.bytes is a batch over it too."""
    import random

    return random.Random(seed).randbytes((size + 1) // 2).hex()[:size].encode()


def feed_forever(stdin: Any, block: bytes) -> threading.Thread:
    """A thread that writes block to a child's stdin again and again, till the child is gone."""

    def write() -> None:
        with contextlib.suppress(BrokenPipeError, ValueError):
            while True:
                stdin.write(block)
                stdin.flush()

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    return writer


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
