"""Cold start, phase by phase, and the lab against a plain `docker run` of the same image.

    python bench/bench_boot.py [--runs 3] [--modes kraft,zookeeper,cluster] [--variants] [--python-side]

1. Per mode, a cold `kafkalab up --no-ui` (after `down --volumes`), phase by phase, each in seconds
   from the command's start: container start, storage setup done (= the broker's JVM starts: the
   first line of its GC log), broker JVM up (its first log line), controller ready, broker STARTED,
   and the first metadata answer (= `up` returning). With 3 brokers, each phase is when the last
   of them reached it, but "controller ready", when the first became the leader.
2. kraft: cold `kafkalab up --no-ui` against `docker run -p PORT:9092` of the same image with its
   own defaults, polled the same tight way (one AdminClient metadata request at a time), same run,
   alternating.                                                               target <= 0.7x
3. kraft: warm `up` (data kept by `down`), phase by phase.                    target <= 2.5 s
4. With --variants: cold `up` (kraft, zookeeper) with the compose file's JVM settings against the
   image's own defaults, alternating: KAFKALAB_KAFKA_JVM_OPTS (its KAFKA_JVM_PERFORMANCE_OPTS) and
   KAFKALAB_KAFKA_JMX_OPTS (its KAFKA_JMX_OPTS), each empty = the image's default.
5. With --python-side: when `up` reaches `docker compose up` and when it returns, in a fresh process.

It runs its own labs (project names of its own, free ports; the bed's images from
tests/bed/images.env unless KAFKALAB_IMAGE_* are set) and always takes them down. Not a test.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from kafkalab.lab.modes import MODES

ROOT = Path(__file__).resolve().parents[1]
KAFKALAB = [sys.executable, "-m", "kafkalab"]
# What each phase's log line says, by mode: KRaft (Kafka 4) and ZooKeeper (Kafka 3.9). In KRaft, the
# storage setup ends where the broker's JVM starts (its GC log's first line), and "broker JVM up" is
# the broker's first log line after that.
PHASES: dict[str, dict[str, str | None]] = {
    "broker JVM up": {"kraft": None, "zookeeper": "KafkaConfig values"},
    "controller ready": {"kraft": "Completed transition to Leader", "zookeeper": "Session establishment complete"},
    "broker STARTED": {"kraft": "Transition from STARTING to STARTED",
                       "zookeeper": "] started (kafka.server.KafkaServer)"},
}
GC_LOG = "/opt/kafka/logs/kafkaServer-gc.log"
ORDER = ["container start", "storage setup done", *PHASES, "first metadata answer"]


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


def broker_phases(container: str, began_wall: float, key: str) -> dict[str, float]:
    """Each phase's moment in one broker's container, from its own log (docker's timestamps)."""
    started = subprocess.run(["docker", "inspect", "-f", "{{.State.StartedAt}}", container], capture_output=True,
                             text=True, check=True).stdout.strip()
    logs = subprocess.run(["docker", "logs", "--timestamps", container], capture_output=True, text=True, check=True)
    lines = (logs.stdout + logs.stderr).splitlines()
    found = {"container start": stamp(started) - began_wall}
    jvm = None
    if key == "kraft":  # [2026-12-01T10:44:29.054+0000][gc,init] ...: the broker's JVM is starting
        gc = subprocess.run(["docker", "exec", container, "head", "-1", GC_LOG], capture_output=True, text=True,
                            check=True).stdout
        jvm = datetime.fromisoformat(gc[1:29]).timestamp()
        found["storage setup done"] = jvm - began_wall
    for phase, patterns in PHASES.items():
        pattern = patterns[key]
        if pattern is None:  # the broker's first line
            hit = next((line for line in lines if jvm is not None and stamp(line.split()[0]) >= jvm), None)
        else:
            hit = next((line for line in lines if pattern in line), None)
        if hit is not None:
            found[phase] = stamp(hit.split()[0]) - began_wall
    return found


def phases(project: str, began_wall: float, mode: str) -> dict[str, float]:
    """The lab's phases: each when its last broker reached it, but the controller (one of them leads)."""
    key = "kraft" if mode in ("kraft", "cluster") else "zookeeper"
    each = [broker_phases(f"{project}-{b.name}-1", began_wall, key) for b in MODES[mode].brokers]
    found = {}
    for phase in each[0]:
        seen = [p[phase] for p in each if phase in p]
        found[phase] = min(seen) if phase == "controller ready" else max(seen)
    if "controller ready" not in found and any("controller ready" in p for p in each):
        found["controller ready"] = min(p["controller ready"] for p in each if "controller ready" in p)
    return dict(sorted(found.items(), key=lambda kv: ORDER.index(kv[0])))


def down(env: dict[str, str], volumes: bool = True) -> None:
    kafkalab(env, "down", *(["--volumes", "--yes"] if volumes else []))


def timed_up(env: dict[str, str], mode: str, *, cold: bool = True) -> dict[str, float]:
    """`kafkalab up --no-ui` after `down` (cold: `down --volumes`), phase by phase."""
    down(env, volumes=cold)
    began_wall = time.time()
    ready = kafkalab(env, "up", "--no-ui", "--mode", mode)
    found = phases(env["KAFKALAB_PROJECT"], began_wall, mode)
    found["first metadata answer"] = ready
    return found


def phase_table(title: str, runs: list[dict[str, float]]) -> None:
    print(f"\n{title}, seconds from the command's start (median of {len(runs)})")
    table([["phase", "median", "runs"], *[
        [n, f"{statistics.median(r[n] for r in runs if n in r):.2f}", " ".join(f"{r[n]:.2f}" for r in runs if n in r)]
        for n in runs[0]
    ]])


# Lab.up in a process of its own; prints when it reached `docker compose up` and when it returned, on
# time.monotonic() (one clock for all processes). python_on_whales is imported where Compose first needs it:
# imported on a thread of its own at the start of `up` instead, `docker compose up` began 0.04 s sooner
# (0.330 against 0.374 s, 0.381 against 0.420 s: two runs of 5), under the 0.1 s that would keep it.
PYTHON_SIDE = """
import json, time
import kafkalab.lab.lab as lab
stamps = {}
lab.Lab().up(ui=False, on_phase=lambda p: stamps.setdefault(p, time.monotonic()))
print(json.dumps({"compose up": stamps["containers"], "ready": time.monotonic()}))
"""


def python_side(env: dict[str, str]) -> dict[str, float]:
    down(env, volumes=False)
    began = time.monotonic()
    done = subprocess.run([sys.executable, "-c", PYTHON_SIDE], env=env, capture_output=True, text=True,
                          check=True)
    return {k: v - began for k, v in json.loads(done.stdout.splitlines()[-1]).items()}


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
    parser.add_argument("--variant-modes", default="kraft,zookeeper")
    parser.add_argument("--python-side", action="store_true")
    parser.add_argument("--only", action="store_true", help="only the items named by --variants/--python-side")
    args = parser.parse_args()
    env = bed_env(f"klboot-{os.getpid()}")
    image = env["KAFKALAB_IMAGE_KAFKA"]
    try:
        for mode in [] if args.only else args.modes.split(","):
            phase_table(f"{mode}: cold `kafkalab up --no-ui`", [timed_up(env, mode) for _ in range(args.runs)])

        ups, runs_, warm = [], [], []
        for _ in range(0 if args.only else args.runs):  # alternating: both see the same machine
            ups.append(timed_up(env, "kraft")["first metadata answer"])
            down(env)
            runs_.append(docker_run_up(image))
            timed_up(env, "kraft")  # data to keep
            warm.append(timed_up(env, "kraft", cold=False))
        if ups:
            up_s, run_s = statistics.median(ups), statistics.median(runs_)
            warm_s = statistics.median(w["first metadata answer"] for w in warm)
            phase_table("kraft: warm `kafkalab up --no-ui` (data kept by `down`)", warm)
            print()
            table([
                ["figure", "kafkalab", "floor", "ratio", "target"],
                ["cold up --no-ui (kraft)", f"{up_s:.2f} s", f"{run_s:.2f} s (docker run {image}, defaults)",
                 f"{up_s / run_s:.2f}x", "<= 0.7x"],
                ["  runs", " ".join(f"{t:.2f}" for t in ups), " ".join(f"{t:.2f}" for t in runs_), "", ""],
                ["warm up (data kept)", f"{warm_s:.2f} s", "", "", "<= 2.5 s"],
            ])

        if args.variants:
            # Through the compose file, as a user of the public image would set them; empty = the image's own.
            jvm = "-XX:+UseSerialGC -XX:TieredStopAtLevel=1"
            variants = {
                "image defaults (JVM's own or G1 options, JMX agent on)": {"KAFKALAB_KAFKA_JVM_OPTS": "",
                                                                     "KAFKALAB_KAFKA_JMX_OPTS": ""},
                f"{jvm}, JMX agent on": {"KAFKALAB_KAFKA_JMX_OPTS": ""},
                "JVM's own or G1 options, JMX agent off": {"KAFKALAB_KAFKA_JVM_OPTS": ""},
                f"{jvm}, JMX agent off (the lab's)": {},
            }
            # zookeeper.yaml sets no KAFKA_JMX_OPTS (no gain measured there): only the JVM's options.
            zk_variants = {name: extra for name, extra in variants.items() if "JMX agent off" in name}
            for mode in args.variant_modes.split(","):
                chosen = zk_variants if mode == "zookeeper" else variants
                times: dict[str, list[float]] = {name: [] for name in chosen}
                for _ in range(args.runs):  # alternating: every variant sees the same machine
                    for name, extra in chosen.items():
                        down(env)
                        times[name].append(kafkalab({**env, **extra}, "up", "--no-ui", "--mode", mode))
                print(f"\ncold `kafkalab up --no-ui` ({mode}), by KAFKALAB_KAFKA_JVM_OPTS and KAFKALAB_KAFKA_JMX_OPTS")
                table([["options", "median", "runs"], *[
                    [name, f"{statistics.median(t):.2f} s", " ".join(f"{x:.2f}" for x in t)]
                    for name, t in times.items()
                ]])

        if args.python_side:
            kafkalab(env, "up", "--no-ui")  # the data, so that each start is warm
            seen = [python_side(env) for _ in range(max(args.runs, 5))]
            print("\nLab.up in a fresh process (warm): seconds from its spawn to `docker compose up`, and to ready")
            table([["compose up", "ready", "compose up, runs"], [
                f"{statistics.median(r['compose up'] for r in seen):.3f} s",
                f"{statistics.median(r['ready'] for r in seen):.2f} s",
                " ".join(f"{r['compose up']:.2f}" for r in seen),
            ]])
    finally:
        subprocess.run([*KAFKALAB, "down", "--volumes", "--yes"], env=env, capture_output=True, check=False)


if __name__ == "__main__":
    main()
