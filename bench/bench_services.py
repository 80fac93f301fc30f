"""What an optional service adds to the lab: cold `kafkalab up --no-ui --with schema-registry` against
cold `kafkalab up --no-ui`, same run, alternating, medians of --runs (default 3).

    python bench/bench_services.py [--runs 3]

Prints, per run and as medians: the seconds each `up` took (cold: after `down --volumes`), the
registry's extra seconds to ready (target <= 3 s), the seconds from the broker's answer to the
registry's (what `up` printed: "Schema Registry ready in"), and the memory of the lab's containers
right after `up` (the sum of `docker stats --no-stream`), so the memory the registry adds.

It runs its own labs (a project name of its own, free ports; the bed's images from tests/bed/images.env
unless KAFKALAB_IMAGE_* are set) and always takes them down. Not a test.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_boot import KAFKALAB, bed_env, free_port

UNITS = {"B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "kB": 1000, "MB": 1000**2, "GB": 1000**3}


def run(env: dict[str, str], *args: str) -> tuple[float, str]:
    began = time.monotonic()
    done = subprocess.run([*KAFKALAB, *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"kafkalab {' '.join(args)} failed: {done.stderr[-800:]}")
    return time.monotonic() - began, done.stderr


def memory_mib(project: str) -> float:
    """The sum of `docker stats --no-stream` of the project's containers, in MiB."""
    ids = subprocess.run(["docker", "ps", "-q", "--filter", f"label=com.docker.compose.project={project}"],
                         capture_output=True, text=True, check=True).stdout.split()
    out = subprocess.run(["docker", "stats", "--no-stream", "--format", "{{.MemUsage}}", *ids],
                         capture_output=True, text=True, check=True).stdout
    total = 0.0
    for line in out.splitlines():
        found = re.match(r"\s*([\d.]+)\s*([A-Za-z]+)", line)
        if found:
            total += float(found[1]) * UNITS.get(found[2], 1)
    return total / 1024**2


def cold_up(env: dict[str, str], registry: bool) -> dict[str, float]:
    run(env, "down", "--volumes", "--yes")
    seconds, stderr = run(env, "up", "--no-ui", *(["--with", "schema-registry"] if registry else ["--with", ""]))
    ready = re.search(r"Schema Registry ready in ([\d.]+) s", stderr)
    return {"up": seconds, "memory": memory_mib(env["KAFKALAB_PROJECT"]),
            "registry ready": float(ready[1]) if ready else float("nan")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    env = bed_env(f"klbench-services-{os.getpid()}")
    env["KAFKALAB_SCHEMA_REGISTRY_PORT"] = str(free_port())
    env["KAFKALAB_TIMEOUT"] = "300"
    plain: list[dict[str, float]] = []
    with_registry: list[dict[str, float]] = []
    try:
        for n in range(runs):
            for registry in ((False, True) if n % 2 == 0 else (True, False)):  # alternating
                found = cold_up(env, registry)
                (with_registry if registry else plain).append(found)
                label = "with schema-registry" if registry else "without          "
                print(f"run {n + 1} {label}: up {found['up']:.1f} s, memory {found['memory']:.0f} MiB"
                      + (f", registry ready {found['registry ready']:.1f} s" if registry else ""), flush=True)
    finally:
        run(env, "down", "--volumes", "--yes")

    def median(rows: list[dict[str, float]], key: str) -> float:
        return statistics.median(r[key] for r in rows)

    extra = median(with_registry, "up") - median(plain, "up")
    print(f"\nmedians of {runs}: cold up --no-ui {median(plain, 'up'):.1f} s; "
          f"with schema-registry {median(with_registry, 'up'):.1f} s")
    print(f"the registry's extra seconds to ready: {extra:.1f} s (target <= 3 s)")
    print(f"the memory it adds: {median(with_registry, 'memory') - median(plain, 'memory'):.0f} MiB "
          f"({median(plain, 'memory'):.0f} MiB -> {median(with_registry, 'memory'):.0f} MiB, docker stats sum)")


if __name__ == "__main__":
    main()
