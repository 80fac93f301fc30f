"""What an optional service adds to the lab: cold `kafkalab up --no-ui --with SERVICE` against cold
`kafkalab up --no-ui`, same run, alternating, medians of --runs (default 3). SERVICE: --service
schema-registry (the default) or connect (the Kafka Connect worker).

    python bench/bench_services.py [--runs 3] [--service connect]

Prints, per run and as medians: the seconds each `up` took (cold: after `down --volumes`), the
service's extra seconds to ready (the registry's target: <= 3 s), the seconds from the start of the
wait to the service's answer (what `up` printed: "Schema Registry ready in", "Kafka Connect ready in"),
and the memory of the lab's containers right after `up` (the sum of `docker stats --no-stream`), so the
memory the service adds.

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

from kafkalab.lab.modes import OPTIONAL

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


def cold_up(env: dict[str, str], service: str | None) -> dict[str, float]:
    run(env, "down", "--volumes", "--yes")
    seconds, stderr = run(env, "up", "--no-ui", "--with", service or "")
    ready = re.search(rf"{OPTIONAL[service].title if service else '-'} ready in ([\d.]+) s", stderr)
    return {"up": seconds, "memory": memory_mib(env["KAFKALAB_PROJECT"]),
            "ready": float(ready[1]) if ready else float("nan")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--service", choices=sorted(OPTIONAL), default="schema-registry")
    args = parser.parse_args()
    runs, name = args.runs, args.service
    title = OPTIONAL[name].title
    env = bed_env(f"klbench-services-{os.getpid()}")
    env[f"KAFKALAB_{OPTIONAL[name].port.upper()}"] = str(free_port())
    env["KAFKALAB_TIMEOUT"] = "300"
    plain: list[dict[str, float]] = []
    with_service: list[dict[str, float]] = []
    try:
        for n in range(runs):
            for service in ((None, name) if n % 2 == 0 else (name, None)):  # alternating
                found = cold_up(env, service)
                (with_service if service else plain).append(found)
                label = f"with {name}" if service else "without".ljust(len(name) + 5)
                print(f"run {n + 1} {label}: up {found['up']:.1f} s, memory {found['memory']:.0f} MiB"
                      + (f", {title} ready {found['ready']:.1f} s" if service else ""), flush=True)
    finally:
        run(env, "down", "--volumes", "--yes")

    def median(rows: list[dict[str, float]], key: str) -> float:
        return statistics.median(r[key] for r in rows)

    extra = median(with_service, "up") - median(plain, "up")
    print(f"\nmedians of {runs}: cold up --no-ui {median(plain, 'up'):.1f} s; "
          f"with {name} {median(with_service, 'up'):.1f} s ({title} ready in {median(with_service, 'ready'):.1f} s)")
    target = " (target <= 3 s)" if name == "schema-registry" else ""
    print(f"{title}'s extra seconds to ready: {extra:.1f} s{target}")
    print(f"the memory it adds: {median(with_service, 'memory') - median(plain, 'memory'):.0f} MiB "
          f"({median(plain, 'memory'):.0f} MiB -> {median(with_service, 'memory'):.0f} MiB, docker stats sum)")


if __name__ == "__main__":
    main()
