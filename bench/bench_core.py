"""Benchmark of kafkalab's core, each figure against its floor, side by side in one run.

    python bench/bench_core.py [--runs 15] [--up-runs 3]

1. `kafkalab --help` against `python -c "import click"`               target <= 2x
2. `kafkalab up` time to ready against `docker compose up -d` on the
   same file plus a tight AdminClient poll (the floor)                target <= 1.05x (<= 0.3 s more)
3. `kafkalab status` on a running lab against `docker compose ps`     target <= 4x
4. the default stack's memory: the sum of `docker stats`              target <= 1 GiB
5. With --status-ways (alone): `kafkalab status` with its Docker reads run as shipped (the docker CLI,
   kafkalab.docker.run) against the same reads run by python-on-whales (its import and its runner),
   alternating: what keeping the CLI for quick reads saves.

It runs its own lab (a project name of its own, free ports; the test bed's images from
tests/bed/images.env unless KAFKALAB_IMAGE_* are set) and always takes it down. Not a test: it
prints figures.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
IMAGES_ENV = ROOT / "tests" / "bed" / "images.env"
KAFKALAB = [sys.executable, "-m", "kafkalab"]
if shutil.which("kafkalab"):
    KAFKALAB = [str(shutil.which("kafkalab"))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def setup_env() -> dict[str, str]:
    env = dict(os.environ)
    for line in IMAGES_ENV.read_text().splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and not key.startswith("#"):
            env.setdefault(key, value)
    env.update({
        "KAFKALAB_PROJECT": f"klbench-{os.getpid()}",
        "KAFKALAB_PORT": str(free_port()),
        "KAFKALAB_UI_PORT": str(free_port()),
    })
    return env


def timed(cmd: list[str], env: dict[str, str], check: bool = True) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, cwd=ROOT / "bench", check=False)
    elapsed = time.perf_counter() - start
    if check and done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
    return elapsed


def median_of(runs: int, fn: Callable[[], float]) -> float:
    fn()  # one warm-up: page cache and Python's bytecode cache
    return statistics.median(fn() for _ in range(runs))


def compose_cmd(env: dict[str, str], *args: str) -> list[str]:
    return ["docker", "compose", "-p", env["KAFKALAB_PROJECT"], "-f", str(ROOT / "compose" / "kraft.yaml"), *args]


def floor_up(env: dict[str, str]) -> float:
    """The floor: `docker compose up -d`, then a tight metadata poll until one broker answers."""
    from confluent_kafka.admin import AdminClient

    quiet = logging.getLogger("bench.quiet")
    quiet.addHandler(logging.NullHandler())
    quiet.propagate = False
    start = time.perf_counter()
    subprocess.run(compose_cmd(env, "up", "-d", "--pull", env["KAFKALAB_PULL"], "--quiet-pull"),
                   env=env, check=True, capture_output=True)
    conf: dict[str, Any] = {"bootstrap.servers": f"localhost:{env['KAFKALAB_PORT']}", "logger": quiet,
                            "reconnect.backoff.ms": 50, "reconnect.backoff.max.ms": 500}
    admin = AdminClient(conf)
    while True:
        try:
            if len(admin.list_topics(timeout=0.5).brokers) >= 1:
                return time.perf_counter() - start
        except Exception:
            pass


def broker_boot(env: dict[str, str]) -> float:
    """Seconds from the kafka container's start to the broker's "STARTED" log line: Kafka's own boot.

    It varies by a second or more from run to run here (a JVM on two cores). What is left of a time
    to ready once it is taken away is the part that the tool, not Kafka, decides.
    """
    from datetime import datetime

    name = f"{env['KAFKALAB_PROJECT']}-kafka-1"
    started = subprocess.run(["docker", "inspect", "--format", "{{.State.StartedAt}}", name],
                             env=env, check=True, capture_output=True, text=True).stdout.strip()
    logs = subprocess.run(["docker", "logs", "--timestamps", name], env=env, check=True, capture_output=True, text=True)
    line = next(x for x in (logs.stdout + logs.stderr).splitlines() if "Transition from STARTING to STARTED" in x)

    def at(stamp: str) -> float:  # RFC 3339 with nanoseconds; microseconds are enough
        return datetime.fromisoformat(stamp[:26].rstrip("Z")).timestamp()

    return at(line.split()[0]) - at(started)


def reset(env: dict[str, str]) -> None:
    subprocess.run(compose_cmd(env, "down", "--volumes", "--timeout", "30"), env=env, check=True, capture_output=True)


def memory_mib(env: dict[str, str]) -> dict[str, float]:
    out = subprocess.run(
        ["docker", "stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}}"],
        env=env, check=True, capture_output=True, text=True,
    ).stdout
    units = {"B": 1 / 2**20, "KiB": 1 / 1024, "MiB": 1, "GiB": 1024}
    usage = {}
    for line in out.splitlines():
        name, used = line.split()[0], line.split()[1]
        if name.startswith(env["KAFKALAB_PROJECT"] + "-"):
            number, unit = re.fullmatch(r"([\d.]+)(\w+)", used).groups()  # type: ignore[union-attr]
            usage[name] = float(number) * units[unit]
    return usage


# `kafkalab status` in a process of its own; with "whales", every docker call of kafkalab.docker.compose
# goes through python-on-whales (imported, and its own runner) instead of kafkalab.docker.run.
STATUS = """
import sys
if sys.argv[1:] == ["whales"]:
    from python_on_whales.utils import run
    from kafkalab.docker import compose, run as kl_run
    def through_whales(self, *args, timeout=30, echo=True):
        return run([kl_run.docker_path(), *args], env=self._env())
    compose.Compose._docker = through_whales
from kafkalab.cli.main import main
sys.argv = ["kafkalab", "status"]
main()
"""


def status_ways(env: dict[str, str], runs: int) -> None:
    timed([*KAFKALAB, "up", "--wait-ui"], env)
    ways: dict[str, list[float]] = {"docker CLI (as shipped)": [], "python-on-whales": []}
    for _ in range(runs + 1):  # alternating, the first round a warm-up
        for name, extra in zip(ways, ([], ["whales"]), strict=True):
            ways[name].append(timed([sys.executable, "-c", STATUS, *extra], env))
    cli_s, whales_s = (statistics.median(times[1:]) for times in ways.values())
    print(f"kafkalab status, median of {runs}: docker CLI {cli_s:.3f} s, python-on-whales {whales_s:.3f} s, "
          f"ratio {whales_s / cli_s:.2f}x ({whales_s - cli_s:+.3f} s)")
    for name, times in ways.items():
        print(f"  {name}: " + " ".join(f"{t:.3f}" for t in times[1:]))


def only_status_ways(env: dict[str, str], runs: int) -> None:
    try:
        status_ways(env, runs)
    finally:
        reset(env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs of each quick command")
    parser.add_argument("--up-runs", type=int, default=3, help="cold starts of each kind")
    parser.add_argument("--status-ways", action="store_true", help="only: status, docker CLI vs python-on-whales")
    args = parser.parse_args()
    env = setup_env()
    if args.status_ways:
        return only_status_ways(env, args.runs)
    rows: list[tuple[str, str, str, str, str]] = []

    help_s = median_of(args.runs, lambda: timed([*KAFKALAB, "--help"], env))
    click_s = median_of(args.runs, lambda: timed([sys.executable, "-c", "import click"], env))
    rows.append(("kafkalab --help", f"{help_s:.3f} s", f"{click_s:.3f} s (import click)",
                 f"{help_s / click_s:.2f}x", "<= 2x"))

    try:
        ups, floors, up_boots, floor_boots = [], [], [], []
        for _ in range(args.up_runs):  # alternate, so that both see the same machine
            reset(env)
            floors.append(floor_up(env))
            floor_boots.append(broker_boot(env))
            reset(env)
            ups.append(timed([*KAFKALAB, "up"], env))
            up_boots.append(broker_boot(env))
        # Each pair ran back to back: its difference is what kafkalab adds, with less of the
        # machine's drift in it than the difference of the two medians.
        extra = [u - f for u, f in zip(ups, floors, strict=True)]
        print("up runs:    " + " ".join(f"{t:.2f}" for t in ups), file=sys.stderr)
        print("floor runs: " + " ".join(f"{t:.2f}" for t in floors), file=sys.stderr)
        print("up - floor: " + " ".join(f"{t:+.2f}" for t in extra), file=sys.stderr)
        up_s, floor_s = statistics.median(ups), statistics.median(floors)
        rows.append(("kafkalab up (to ready)", f"{up_s:.2f} s", f"{floor_s:.2f} s (compose up + poll)",
                     f"{up_s / floor_s:.3f}x (pairs: {statistics.median(extra):+.2f} s)", "<= 1.05x"))
        up_rest = statistics.median(u - b for u, b in zip(ups, up_boots, strict=True))
        floor_rest = statistics.median(f - b for f, b in zip(floors, floor_boots, strict=True))
        print("Kafka's boot under up:    " + " ".join(f"{t:.2f}" for t in up_boots), file=sys.stderr)
        print("Kafka's boot under floor: " + " ".join(f"{t:.2f}" for t in floor_boots), file=sys.stderr)
        rows.append(("  less Kafka's own boot", f"{up_rest:.2f} s", f"{floor_rest:.2f} s",
                     f"+{up_rest - floor_rest:.2f} s", "<= 0.3 s"))
        whales_s = median_of(args.runs, lambda: timed([sys.executable, "-c", "import python_on_whales"], env))
        python_s = median_of(args.runs, lambda: timed([sys.executable, "-c", "pass"], env))
        rows.append(("  of which: import python_on_whales", f"{whales_s - python_s:.2f} s",
                     "(a fresh interpreter, less its own start)", "", "<= 0.3 s in all"))

        # kafka-ui answers seconds after the broker (the stand-in too): status is healthy only then.
        timed([*KAFKALAB, "up", "--wait-ui"], env)
        status_s = median_of(args.runs, lambda: timed([*KAFKALAB, "status"], env))
        ps_s = median_of(args.runs, lambda: timed(compose_cmd(env, "ps"), env))
        rows.append(("kafkalab status", f"{status_s:.3f} s", f"{ps_s:.3f} s (docker compose ps)",
                     f"{status_s / ps_s:.2f}x", "<= 4x"))

        usage = memory_mib(env)
        total = sum(usage.values())
        detail = ", ".join(f"{n.removeprefix(env['KAFKALAB_PROJECT'] + '-')} {v:.0f}" for n, v in sorted(usage.items()))
        rows.append(("stack memory (MiB)", f"{total:.0f} MiB", detail, f"{total / 1024:.2f} GiB", "<= 1 GiB"))
    finally:
        reset(env)

    width = [max(len(r[i]) for r in rows) for i in range(5)]
    for row in [("figure", "kafkalab", "floor", "ratio", "target"), *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, width, strict=True)))


if __name__ == "__main__":
    main()
