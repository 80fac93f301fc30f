"""Benchmark: how soon the first test body runs, when the lab already runs (attach) and when it does not.

    python bench/bench_attach.py [--attach-runs 5] [--fresh-runs 1] [--no-ui]

Each run is a real `python -m pytest` in a subprocess, timed from just before the process starts to
the first line of the first test body, a test that uses the `kafka_lab` fixture. The fresh runs
start the lab (and keep it, with --kafkalab-keep); the attach runs then find it healthy. Each attach
run is followed by a control run of the same test without the lab: pytest's own start. The runs
cache bytecode (in the bench's temporary folder), as an installed package has it, even where
PYTHONDONTWRITEBYTECODE is set: without it, every run would compile kafkalab's modules again. The bench
uses a project name of its own and free ports, and always takes its lab down, volumes and all.
Targets: attach at least 20 times faster than a fresh start, and under 1 s on its own.
Not a test: it prints figures (exit 1 only when a pytest run fails).
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGES_ENV = ROOT / "tests" / "bed" / "images.env"

FIRST_TEST = '''
import os
import time


def test_first(kafka_lab):
    stamp = time.time()
    with open(os.environ["KAFKALAB_BENCH_STAMP"], "w") as f:
        f.write(repr(stamp))
'''
# The control: the same session without the lab, i.e. what pytest itself takes to reach a test body.
PLAIN_TEST = FIRST_TEST.replace("test_first(kafka_lab)", "test_first()")


def load_bed_images() -> None:
    """In a source checkout, use the test bed's local images (never pull), unless already set."""
    if IMAGES_ENV.is_file():
        for line in IMAGES_ENV.read_text().splitlines():
            key, sep, value = line.strip().partition("=")
            if sep and not key.startswith("#"):
                os.environ.setdefault(key, value)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Run:
    """One pytest session: seconds from its start to the first test body, and the plugin's summary."""

    def __init__(self, seconds: float, summary: str) -> None:
        self.seconds = seconds
        self.summary = summary


def session(folder: Path, env: dict[str, str], test: str, *options: str) -> Run:
    stamp = folder / "stamp"
    stamp.unlink(missing_ok=True)
    started = time.time()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test, *options],
        cwd=folder, env={**env, "KAFKALAB_BENCH_STAMP": str(stamp)}, capture_output=True, text=True,
        timeout=600, check=False,
    )
    if done.returncode != 0 or not stamp.exists():
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"pytest failed (exit {done.returncode}); its output is above.")
    summary = next((line for line in done.stdout.splitlines() if line.startswith("kafkalab: ")), "")
    return Run(float(stamp.read_text()) - started, summary)


def fixture_seconds(summary: str) -> str:
    found = re.search(r" in ([\d.]+) s", summary)
    return f"{found.group(1)} s" if found else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--attach-runs", type=int, default=5)
    parser.add_argument("--fresh-runs", type=int, default=1)
    parser.add_argument("--no-ui", action="store_true", help="Start the lab without kafka-ui.")
    args = parser.parse_args()

    load_bed_images()
    with tempfile.TemporaryDirectory(prefix="kafkalab-bench-") as tmp:
        folder = Path(tmp)
        # kafkalab keeps a compose env file per project in the cache: keep the bench's in its folder.
        os.environ["XDG_CACHE_HOME"] = str(folder / "cache")
        fresh, attach, plain = measure(folder, args.fresh_runs, args.attach_runs, args.no_ui)
    report(fresh, attach, plain, args.no_ui)


def measure(folder: Path, fresh_runs: int, attach_runs: int, no_ui: bool) -> tuple[list[Run], list[Run], list[Run]]:
    from kafkalab import Lab
    from kafkalab.settings import resolve

    project = f"klbench-{os.getpid()}"
    ports = {"KAFKALAB_PORT": free_port(), "KAFKALAB_UI_PORT": free_port(), "KAFKALAB_ZOOKEEPER_PORT": free_port()}
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTHONDONTWRITEBYTECODE")}
    env.update({"KAFKALAB_PROJECT": project, **{k: str(v) for k, v in ports.items()}})
    # Bytecode is cached, as in an installed package, but in the bench's folder, not in the checkout.
    env["PYTHONPYCACHEPREFIX"] = str(folder / "pycache")
    options = ["--kafkalab-no-ui"] if no_ui else []
    lab = Lab(resolve(env=env, cwd=folder))
    if lab.status().state != "not running":
        raise SystemExit(f"A lab {project} is already running: choose another project.")
    (folder / "test_lab.py").write_text(FIRST_TEST)
    (folder / "test_plain.py").write_text(PLAIN_TEST)
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs", flush=True)

    fresh: list[Run] = []
    attach: list[Run] = []
    plain: list[Run] = []
    try:
        session(folder, env, "test_plain.py")  # warm the file cache, so that the first run is not cold
        for i in range(fresh_runs):
            if i:
                lab.down(volumes=True)
            fresh.append(session(folder, env, "test_lab.py", "--kafkalab-keep", *options))
            print(f"fresh  {i + 1}: {fresh[-1].seconds:6.2f} s   ({fresh[-1].summary})", flush=True)
        for i in range(attach_runs):  # alternated with the control, so that both see the same machine load
            attach.append(session(folder, env, "test_lab.py", *options))
            plain.append(session(folder, env, "test_plain.py"))
            print(f"attach {i + 1}: {attach[-1].seconds:6.2f} s   (the fixture: "
                  f"{fixture_seconds(attach[-1].summary)}; pytest without the lab: {plain[-1].seconds:.2f} s)",
                  flush=True)
    finally:
        lab.down(volumes=True)
    return fresh, attach, plain


def report(fresh: list[Run], attach: list[Run], plain: list[Run], no_ui: bool) -> None:
    fresh_s = statistics.median(r.seconds for r in fresh)
    attach_s = statistics.median(r.seconds for r in attach)
    ratio = fresh_s / attach_s
    ui = "without" if no_ui else "with"
    print()
    print(f"pytest start to first test body, lab {ui} kafka-ui:")
    print(f"  fresh start  {fresh_s:6.2f} s   (median of {len(fresh)})")
    print(f"  attach       {attach_s:6.2f} s   (median of {len(attach)}; min {min(r.seconds for r in attach):.2f} s)")
    print(f"  ratio        {ratio:6.1f}x")
    plain_s = statistics.median(r.seconds for r in plain)
    print(f"  (pytest itself takes {plain_s:.2f} s to reach a test body without the lab: "
          f"attaching adds {attach_s - plain_s:.2f} s)")
    print(f"  targets: attach >= 20x faster: {'met' if ratio >= 20 else 'MISSED'}; "
          f"attach < 1 s: {'met' if attach_s < 1 else 'MISSED'}")


if __name__ == "__main__":
    main()
