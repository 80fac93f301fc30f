"""Issue 17, item 2: Ctrl-C while the plugin starts the lab stops pytest, as Ctrl-C does anywhere in
pytest (KeyboardInterrupt, exit 2), instead of failing one test and going on with the others."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from kafkalab.lab import state

TESTS = '''
import os
from pathlib import Path


def test_a_uses_the_lab(kafka_lab):
    Path(os.environ["KAFKALAB_PLUGIN_RECORD"]).write_text("test_a ran")


def test_b_runs_after_it():
    Path(os.environ["KAFKALAB_PLUGIN_RECORD"]).write_text("test_b ran")
'''


def _waits_for_lock(pid: int) -> bool:
    """The process waits for a flock (a "->" line of /proc/locks)."""
    rows = [line.split() for line in Path("/proc/locks").read_text().splitlines()]
    return any(len(row) > 5 and row[1] == "->" and row[5] == str(pid) for row in rows)


@pytest.mark.e2e
def test_ctrl_c_while_the_plugin_starts_the_lab_stops_pytest(tmp_path: Path, new_lab: Any) -> None:
    (tmp_path / "test_interrupted.py").write_text(TESTS)
    ran = tmp_path / "state.txt"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAFKALAB_") or k.startswith("KAFKALAB_IMAGE")}
    env.update({
        "KAFKALAB_PROJECT": new_lab.project, "KAFKALAB_PORT": str(new_lab.port),
        "KAFKALAB_UI_PORT": str(new_lab.ui_port), "KAFKALAB_PLUGIN_RECORD": str(ran),
    })
    # Another kafkalab holds the lab's lock: the plugin's Lab.up waits for it, and Ctrl-C comes then.
    with state.lock(new_lab.project):
        inner = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--kafkalab-no-ui", "-v"],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while not _waits_for_lock(inner.pid):
                assert inner.poll() is None, inner.communicate()[0].decode()
                assert time.monotonic() < deadline, "the inner session never waited for the lab's lock"
                time.sleep(0.05)
            inner.send_signal(signal.SIGINT)
            output = inner.communicate(timeout=60)[0].decode()
        finally:
            if inner.poll() is None:
                inner.kill()
                inner.wait()
    assert inner.returncode == pytest.ExitCode.INTERRUPTED, output
    # pytest's report of a KeyboardInterrupt, with what Lab.up says it left; no test failed or ran.
    assert "!! kafkalab.errors.Interrupted: Interrupted before any container was started. !!" in output, output
    assert "= no tests ran in " in output.splitlines()[-1], output
    assert not ran.exists(), "pytest went on with the other tests"
