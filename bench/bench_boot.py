"""Cold start, phase by phase, and the lab against a plain `docker run` of the same image.

    python bench/bench_boot.py [--runs 3] [--modes kraft,zookeeper,cluster] [--variants]

1. Per mode, a cold `kafkalab up --no-ui` (after `down --volumes`), phase by phase, each in seconds
   from the command's start: container start, storage format done, broker JVM up (its first log
   line), controller ready, broker STARTED, and the first metadata answer (= `up` returning).
2. kraft: cold `kafkalab up --no-ui` against `docker run -p PORT:9092` of the same image with its
   own defaults, polled the same tight way (one AdminClient metadata request at a time), same run,
   alternating.                                                               target <= 0.7x
3. kraft: warm `up` (data kept by `down`).                                    target <= 2.5 s
4. With --variants: cold `up` under JVM options for the broker, through the compose file's
   KAFKALAB_KAFKA_JVM_OPTS (its KAFKA_JVM_PERFORMANCE_OPTS), alternating.

It runs its own labs (project names of its own, free ports; the bed's images from
tests/bed/images.env unless KAFKALAB_IMAGE_* are set) and always takes them down. Not a test.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KAFKALAB = [sys.executable, "-m", "kafkalab"]
# What each phase's log line says, by mode: KRaft (Kafka 4) and ZooKeeper (Kafka 3.9).
# "broker JVM up" is the broker's first log line: the first after the storage format's last, in KRaft.
PHASES = {
    "format done": {"kraft": "Formatting", "zookeeper": None},
    "broker JVM up": {"kraft": None, "zookeeper": "KafkaConfig values"},
    "controller ready": {"kraft": "Completed transition to Leader", "zookeeper": "Session establishment complete"},
    "broker STARTED": {"kraft": "Transition from STARTING to STARTED",
                       "zookeeper": "] started (kafka.server.KafkaServer)"},
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bed_env(project: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAFKALAB_") or k.startswith("KAFKALAB_IMAGE_")}
    for line in (ROOT / "tests" / "bed" / "images.env").read_text().splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and not key.startswith("#"):
            env.setdefault(key, value)
    port = free_port()
    while any(not port_free(p) for p in (port + 1, port + 2)):
        port = free_port()
    env.update({"KAFKALAB_PROJECT": project, "KAFKALAB_PORT": str(port), "KAFKALAB_UI_PORT": str(free_port()),
                "KAFKALAB_ZOOKEEPER_PORT": str(free_port())})
    return env


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def kafkalab(env: dict[str, str], *args: str) -> float:
    began = time.monotonic()
    done = subprocess.run([*KAFKALAB, *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"kafkalab {' '.join(args)} failed: {done.stderr[-800:]}")
    return time.monotonic() - began


def stamp(text: str) -> float:
    return datetime.fromisoformat(text[:26].rstrip("Z") + "+00:00").timestamp()


def phases(container: str, began_wall: float, mode: str) -> dict[str, float]:
    """Each phase's moment from the container's own log (docker's timestamps), from the command's start."""
    key = "kraft" if mode in ("kraft", "cluster") else "zookeeper"
    started = subprocess.run(["docker", "inspect", "-f", "{{.State.StartedAt}}", container], capture_output=True,
                             text=True, check=True).stdout.strip()
    logs = subprocess.run(["docker", "logs", "--timestamps", container], capture_output=True, text=True, check=True)
    lines = (logs.stdout + logs.stderr).splitlines()
    found = {"container start": stamp(started) - began_wall}
    formatted = next((i for i, line in enumerate(lines) if "Formatting" in line), None)
    for phase, patterns in PHASES.items():
        pattern = patterns[key]
        if pattern is None and phase == "broker JVM up" and formatted is not None:
            hit: str | None = lines[formatted + 1] if formatted + 1 < len(lines) else None
        else:
            hit = next((line for line in lines if pattern and pattern in line), None)
        if hit is not None:
            found[phase] = stamp(hit.split()[0]) - began_wall
    return found


def down(env: dict[str, str], volumes: bool = True) -> None:
    kafkalab(env, "down", *(["--volumes", "--yes"] if volumes else []))


def cold_up(env: dict[str, str], mode: str) -> dict[str, float]:
    down(env)
    began_wall = time.time()
    ready = kafkalab(env, "up", "--no-ui", "--mode", mode)
    found = phases(f"{env['KAFKALAB_PROJECT']}-kafka-1", began_wall, mode)
    found["first metadata answer"] = ready
    return found


def poll_metadata(port: int, deadline: float = 120) -> None:
    from confluent_kafka.admin import AdminClient

    quiet = logging.getLogger("bench.quiet")
    quiet.addHandler(logging.NullHandler())
    quiet.propagate = False
    admin = AdminClient({"bootstrap.servers": f"localhost:{port}", "logger": quiet,
                         "reconnect.backoff.ms": 50, "reconnect.backoff.max.ms": 500})
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            if admin.list_topics(timeout=0.5).brokers:
                return
        except Exception:
            pass
    sys.exit("the broker did not answer")


def docker_run_up(image: str) -> float:
    """`docker run` of the image with its own defaults, to the first metadata answer."""
    port = free_port()
    name = f"klboot-{os.getpid()}-{port}"
    began = time.monotonic()
    subprocess.run(["docker", "run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:9092", image],
                   capture_output=True, check=True)
    try:
        poll_metadata(port)
        return time.monotonic() - began
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)


def table(rows: list[list[str]]) -> None:
    width = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, width, strict=True)), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--modes", default="kraft,zookeeper,cluster")
    parser.add_argument("--variants", action="store_true")
    parser.add_argument("--only-variants", action="store_true", help="only item 4")
    args = parser.parse_args()
    env = bed_env(f"klboot-{os.getpid()}")
    image = env["KAFKALAB_IMAGE_KAFKA"]
    try:
        for mode in [] if args.only_variants else args.modes.split(","):
            runs = [cold_up(env, mode) for _ in range(args.runs)]
            names = list(runs[0])
            print(f"\n{mode}: cold `kafkalab up --no-ui`, seconds from the command's start (median of {args.runs})")
            table([["phase", "median", "runs"], *[
                [n, f"{statistics.median(r[n] for r in runs if n in r):.2f}",
                 " ".join(f"{r[n]:.2f}" for r in runs if n in r)] for n in names
            ]])
        down(env)

        ups, runs_ = [], []
        for _ in range(0 if args.only_variants else args.runs):  # alternating: both see the same machine
            down(env)
            ups.append(kafkalab(env, "up", "--no-ui"))
            down(env)
            runs_.append(docker_run_up(image))
        warm = []
        for _ in range(0 if args.only_variants else args.runs):
            down(env, volumes=False)
            warm.append(kafkalab(env, "up", "--no-ui"))
        if ups:
            up_s, run_s = statistics.median(ups), statistics.median(runs_)
            print()
            table([
                ["figure", "kafkalab", "floor", "ratio", "target"],
                ["cold up --no-ui (kraft)", f"{up_s:.2f} s", f"{run_s:.2f} s (docker run {image}, defaults)",
                 f"{up_s / run_s:.2f}x", "<= 0.7x"],
                ["  runs", " ".join(f"{t:.2f}" for t in ups), " ".join(f"{t:.2f}" for t in runs_), "", ""],
                ["warm up (data kept)", f"{statistics.median(warm):.2f} s", " ".join(f"{t:.2f}" for t in warm), "",
                 "<= 2.5 s"],
            ])

        if args.variants:
            # Through the compose file, as a user of the public image would set them.
            variants = {
                "the JVM's own defaults (KAFKALAB_KAFKA_JVM_OPTS=)": "",
                "-XX:+UseSerialGC": "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1": "-XX:TieredStopAtLevel=1",
                "-XX:+UseSerialGC -XX:TieredStopAtLevel=1": "-XX:+UseSerialGC -XX:TieredStopAtLevel=1",
            }
            times: dict[str, list[float]] = {name: [] for name in variants}
            for _ in range(args.runs):  # alternating: every variant sees the same machine
                for name, opts in variants.items():
                    down(env)
                    times[name].append(kafkalab({**env, "KAFKALAB_KAFKA_JVM_OPTS": opts}, "up", "--no-ui"))
            print("\ncold `kafkalab up --no-ui` (kraft) with KAFKALAB_KAFKA_JVM_OPTS (KAFKA_JVM_PERFORMANCE_OPTS)")
            table([["options", "median", "runs"], *[
                [name, f"{statistics.median(t):.2f} s", " ".join(f"{x:.2f}" for x in t)] for name, t in times.items()
            ]])
    finally:
        subprocess.run([*KAFKALAB, "down", "--volumes", "--yes"], env=env, capture_output=True, check=False)


if __name__ == "__main__":
    main()
