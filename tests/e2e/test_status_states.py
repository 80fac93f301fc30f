"""`status`, `doctor` and `up` tell each state as it is, on the real test bed: a kafka-ui that starts
is starting (a fault only once it exited or outlived its start window), a container that exits
during `up` is said at once, a paused broker is paused, and a narrow terminal cuts no address."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from kafka_cli import broker_held, cli_run, lab_env

from kafkalab import Lab
from kafkalab.errors import STATUS_DEGRADED, ContainerExited

pytestmark = pytest.mark.e2e
# The kafka-ui stand-in listens 10 s after its container starts (STANDIN_START_SECONDS), as a real
# kafka-ui answers only once it has started: what each check of a starting UI must come within.
STANDIN_START = 10.0




def status_json(lab: Lab, **extra: str) -> tuple[int, dict[str, Any]]:
    result = cli_run(lab, "status", "--json", **extra)
    return result.exit_code, json.loads(result.stdout)


def restart_ui(lab: Lab) -> float:
    """Restart kafka-ui's container, as Docker's restart policy would after a crash: it starts again.
    Returns when it was started (time.monotonic())."""
    subprocess.run(["docker", "restart", f"{lab.settings.project}-kafka-ui-1"], check=True, capture_output=True)
    return time.monotonic()


def test_a_starting_ui_is_starting_and_a_fault_only_after_its_window(
    lab_factory: Callable[..., Lab], bed: SimpleNamespace,
) -> None:
    lab = lab_factory()
    # A fresh lab, not waited for: kafka-ui is starting, and nothing says it is at fault.
    up = cli_run(lab, "up", "--no-wait")
    assert up.exit_code == 0, up.stderr
    assert f"UI: http://localhost:{lab.settings.ui_port} starting for " in up.stdout
    assert "kafka-ui does not answer" not in up.stdout
    assert "✘" not in up.stdout
    lab.wait_ready(120, ui=False)  # the broker answers; kafka-ui is waited for by no one

    began = restart_ui(lab)
    code, data = status_json(lab)
    shown = cli_run(lab, "status")
    assert time.monotonic() - began < STANDIN_START, "the checks came too late to see kafka-ui starting"
    assert code == 0, data
    assert data["state"] == "healthy"
    assert data["problems"] == [] and data["hint"] is None
    assert (data["ui"]["state"], data["ui"]["starting"], data["ui"]["healthy"]) == ("starting", True, False)
    assert 0 <= data["ui"]["starting_for"] < STANDIN_START
    assert shown.exit_code == 0
    assert f"Lab {lab.settings.project} (kraft): healthy" in shown.stdout
    assert f"UI: http://localhost:{lab.settings.ui_port} starting for " in shown.stdout
    assert "✘" not in shown.stdout

    began = restart_ui(lab)
    doctor = cli_run(lab, "doctor", "--json")
    report = json.loads(doctor.stdout)
    ui = next(c for c in report["checks"] if c["check"] == "ui")
    assert doctor.exit_code == 0, report
    assert ui["result"] == "not checked" and "kafka-ui is starting" in ui["detail"], ui
    assert "start window of 120 s" in ui["detail"]

    # A start window shorter than its start: a fault, and the hint points at its log, not at `up`.
    began = restart_ui(lab)
    code, data = bed.wait_until(lambda: (r := status_json(lab, KAFKALAB_START_WINDOW="1"))[0] == STATUS_DEGRADED
                                and r, STANDIN_START - 2, "status to call kafka-ui late")
    assert time.monotonic() - began < STANDIN_START
    assert data["state"] == "degraded"
    assert data["ui"]["state"] == "failed"
    assert data["problems"] == [f"kafka-ui does not answer: {data['ui']['detail']}."]
    assert data["ui"]["detail"].endswith("; not within 1 s of its start (the start_window setting)")
    assert data["hint"] == "`kafkalab logs kafka-ui` says why it does not answer."
    doctor = cli_run(lab, "doctor", "--json", KAFKALAB_START_WINDOW="1")
    assert time.monotonic() - began < STANDIN_START, "kafka-ui may have answered by the time doctor asked"
    report = json.loads(doctor.stdout)
    ui = next(c for c in report["checks"] if c["check"] == "ui")
    assert doctor.exit_code == 40, report
    assert ui["result"] == "fail" and "(start_window)" in ui["detail"], ui
    assert "`kafkalab logs kafka-ui`" in ui["fix"]

    # Once it has started, it answers: healthy.
    code, data = bed.wait_until(lambda: (r := status_json(lab))[1]["ui"]["healthy"] and r, 60, "kafka-ui to answer")
    assert (code, data["state"], data["ui"]["state"]) == (0, "healthy", "healthy")

    # An exited kafka-ui is a fault at once; its log says why.
    subprocess.run(["docker", "stop", f"{lab.settings.project}-kafka-ui-1"], check=True, capture_output=True)
    code, data = status_json(lab)
    assert (code, data["state"], data["ui"]["state"]) == (STATUS_DEGRADED, "degraded", "failed")
    assert data["hint"] == "`kafkalab logs kafka-ui` says why it stopped (then `kafkalab up` starts it again)."


def test_a_paused_broker_is_paused_and_a_narrow_terminal_cuts_no_address(lab_factory: Callable[..., Lab]) -> None:
    lab = lab_factory()
    assert cli_run(lab, "up", "--no-ui").exit_code == 0
    port = lab.settings.port

    # COLUMNS=40: the tables no longer fit, and their values are printed whole rather than "127.0…".
    narrow = subprocess.run([sys.executable, "-m", "kafkalab", "status"], env=lab_env(lab, COLUMNS="40"),
                            capture_output=True, text=True, check=False)
    assert narrow.returncode == 0, narrow.stderr
    lines = narrow.stdout.splitlines()
    assert "…" not in narrow.stdout
    assert f"  published on: 127.0.0.1:{port}" in lines
    assert f"bootstrap: localhost:{port}" in narrow.stdout
    assert all(len(line) <= 40 for line in lines if line[:1] in "┏┃┡│└"), narrow.stdout

    subprocess.run(["docker", "pause", f"{lab.settings.project}-kafka-1"], check=True, capture_output=True)
    status = cli_run(lab, "status")
    assert status.exit_code == STATUS_DEGRADED
    assert "Broker: The broker container kafka is paused." in status.stdout
    assert "No broker container is running" not in status.stdout
    assert json.loads(cli_run(lab, "status", "--json").stdout)["broker_error"] == \
        "The broker container kafka is paused."


def test_a_broker_that_exits_during_up_is_said_at_once(lab_factory: Callable[..., Lab]) -> None:
    lab = lab_factory()
    began = time.monotonic()
    # A heap too small for the JVM to start: the container exits within a second or so.
    up = cli_run(lab, "up", "--no-ui", KAFKALAB_KAFKA_HEAP="-Xmx1m -Xms1m")
    took = time.monotonic() - began
    assert up.exit_code == ContainerExited.exit_code == 23, up.stderr
    assert took < 30, f"{took:.1f} s: it waited, as for a timeout (120 s)"
    lines = up.stderr.splitlines()
    assert lines[-2].startswith("Error: The kafka container exited before the lab was ready (Exited (1) ")
    assert lines[-1] == ("Hint: Read its log above: it says why kafka exited; `kafkalab logs kafka` shows "
                         "all of it.")
    assert "not ready within" not in up.stderr and "--timeout" not in up.stderr
    tail = up.stderr[up.stderr.index("log lines:"):]
    assert "Too small" in tail, up.stderr  # the end of kafka's own log: the JVM's own words


def test_a_starting_broker_is_starting_and_a_fault_only_after_its_window(lab_factory: Callable[..., Lab]) -> None:
    """A broker whose container runs and that does not answer yet, within the start window, is
    starting (exit 28), as right after `up --no-wait`; past the window it is degraded (exit 21). The
    broker is held for real: its processes stopped from the host (SIGSTOP), its container running."""
    from kafkalab.errors import STATUS_STARTING

    lab = lab_factory()
    assert cli_run(lab, "up", "--no-ui").exit_code == 0
    with broker_held(lab):
        code, data = status_json(lab)
        text = cli_run(lab, "status")
        late_code, late = status_json(lab, KAFKALAB_START_WINDOW="1")
    assert (code, data["state"], data["problems"]) == (STATUS_STARTING, "starting", []), data
    assert data["broker_error"].startswith("Starting: a broker's container started "), data
    assert text.exit_code == STATUS_STARTING
    assert f"Lab {lab.settings.project} (kraft): starting" in text.stdout
    assert "Hint: `kafkalab up` waits until every broker answers" in text.stdout
    assert (late_code, late["state"]) == (STATUS_DEGRADED, "degraded"), late
