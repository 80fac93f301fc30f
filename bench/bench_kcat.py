"""`kafkalab produce` and `kafkalab consume` against kcat, on the same broker, in the same run.

    python bench/bench_kcat.py [--messages 1000000] [--size 100] [--rounds 3] [--small 15] [--baseline DIR]

1. `kafkalab produce T < FILE` against `kcat -P -t T < FILE`                        target >= 0.8x kcat's msgs/s
2. `kafkalab consume T --from-beginning` against `kcat -C -t T -o beginning -e`      target >= 1.0x kcat's msgs/s
3. `echo x | kafkalab produce T`, --small times, against kcat and (with --baseline DIR, a tree holding
   another version's kafkalab package, such as `git archive main kafkalab | tar -x -C DIR`) that
   version, in turns: the small input must not get slower.

FILE holds --messages lines of --size bytes. Each produce run writes to a fresh topic of one partition,
whose end offset must be --messages, and kafkalab's summary must say so; every consume run reads the
same topic of exactly --messages messages to a file, whose size is checked. A figure is the whole
process, start to exit, as a user sees it: messages / wall seconds, and CPU seconds (user + system,
os.wait4) per 10^6 messages, which the load of other processes moves less than wall time; and the
broker's CPU seconds during the run (its container's cgroup), where the machine shows them. After
one warm-up run each (not counted: the broker's JIT compiler, the page cache), the tools take turns,
--rounds times each, in alternating order; the figures are the medians. Peak RSS is the largest
VmHWM of a tool's runs. kcat runs with its defaults.

It runs its own lab (a project name of its own, free ports, no UI; the test bed's images from
tests/bed/images.env unless KAFKALAB_IMAGE_* are set) and always takes it down. Not a test: it
prints figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGES_ENV = ROOT / "tests" / "bed" / "images.env"
KCAT = shutil.which("kcat") or "/usr/bin/kcat"
_SCRIPT = Path(sys.executable).parent / "kafkalab"
KAFKALAB = [str(_SCRIPT)] if _SCRIPT.is_file() else [sys.executable, "-m", "kafkalab"]
# --baseline's kafkalab, from its PYTHONPATH: -P, or `-m` would put the working directory (this tree) first.
BASELINE = [sys.executable, "-P", "-m", "kafkalab"]
TARGETS = {"produce": 0.8, "consume": 1.0}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def load_images_env() -> None:
    for line in IMAGES_ENV.read_text().splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and not key.startswith("#"):
            os.environ.setdefault(key, value)


class Run:
    """One process: wall seconds, CPU seconds (os.wait4) and peak RSS in KiB.

    Peak RSS is /proc/PID/status VmHWM, read every 10 ms while the process runs: wait4's ru_maxrss
    would include the memory of this (larger) Python process, which the child is forked from.
    """

    broker: Path | None = None  # the broker container's cpuacct.usage (ns), when the machine shows it

    def __init__(self, cmd: list[str], stdin: Path, stdout: Path, env: dict[str, str] | None = None) -> None:
        broker_before = _broker_ns()
        with stdin.open("rb") as src, stdout.open("wb") as dst:
            started = time.perf_counter()
            process = subprocess.Popen(cmd, stdin=src, stdout=dst, stderr=subprocess.PIPE, env=env)
            peak = [0]
            watcher = threading.Thread(target=_watch_hwm, args=(process.pid, peak), daemon=True)
            watcher.start()
            assert process.stderr is not None
            errors = process.stderr.read()
            _, status, usage = os.wait4(process.pid, 0)
            self.seconds = time.perf_counter() - started
            watcher.join()
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            sys.exit(f"{' '.join(cmd)} failed ({process.returncode}): {errors.decode()[-500:]}")
        self.cpu = usage.ru_utime + usage.ru_stime
        self.rss_kib = peak[0]
        self.stderr = errors.decode()
        broker_after = _broker_ns()
        self.broker_cpu = (broker_after - broker_before) / 1e9 if broker_before is not None and broker_after else None


def _broker_ns() -> int | None:
    if Run.broker is None:
        return None
    try:
        return int(Run.broker.read_text())
    except (OSError, ValueError):
        return None


def find_broker_cpu(project: str) -> Path | None:
    """The CPU counter of the lab's broker container: cgroup v1's cpuacct.usage, or None."""
    done = subprocess.run(["docker", "ps", "-q", "--no-trunc", "-f", f"name={project}-kafka-1"],
                          capture_output=True, text=True, check=False)
    cid = done.stdout.strip()
    found = Path(f"/sys/fs/cgroup/cpuacct/docker/{cid}/cpuacct.usage")
    return found if cid and found.is_file() else None


def _watch_hwm(pid: int, peak: list[int]) -> None:
    status = Path(f"/proc/{pid}/status")
    while True:
        try:
            text = status.read_text()
        except OSError:
            return  # reaped
        found = re.search(r"^VmHWM:\s+(\d+) kB", text, re.MULTILINE)
        if found is None:
            return  # a zombie: it has exited, and its memory is gone
        peak[0] = max(peak[0], int(found.group(1)))
        time.sleep(0.01)


def make_input(path: Path, messages: int, size: int) -> None:
    """Lines of `size` bytes: a counter, then printable filler that differs from line to line."""
    filler = [bytes((97 + (i * 7 + j) % 26) for j in range(size - 10)) for i in range(997)]
    with path.open("wb") as out:
        for start in range(0, messages, 100_000):
            stop = min(start + 100_000, messages)
            out.write(b"".join(b"%010d" % i + filler[i % 997] + b"\n" for i in range(start, stop)))


# The produce() calls alone, in a fresh interpreter: a producer whose broker never answers (a closed
# port on 127.0.0.1) only queues, so this is confluent-kafka's own cost per message, with no
# network, no broker and no delivery. It bounds what any produce loop on confluent-kafka can reach.
_CALLS_ALONE = """
import collections, itertools, socket, sys, time
from confluent_kafka import Producer
with socket.socket() as s:
    s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
lines = open(sys.argv[1], "rb").read().split(b"\\n")[:-1]
p = Producer({"bootstrap.servers": f"127.0.0.1:{port}", "queue.buffering.max.messages": len(lines) + 1,
              "queue.buffering.max.kbytes": 2**21, "delivery.report.only.error": True,
              "on_delivery": lambda e, m: None, "log_level": 0})
start = time.process_time()
collections.deque(map(p.produce, itertools.repeat("t"), lines), maxlen=0)
print(time.process_time() - start)
p.purge()
"""


def produce_calls_alone(source: Path) -> float:
    """CPU seconds of one produce() call per line of source, from a Python loop in C (map)."""
    done = subprocess.run([sys.executable, "-c", _CALLS_ALONE, str(source)], capture_output=True, text=True,
                          check=True)
    return float(done.stdout.split()[0])


@dataclasses.dataclass(frozen=True)
class Figures:
    """One tool's medians over its rounds."""

    rate: float  # msgs/s over wall time
    rates: list[float]
    cpu: float  # CPU s per 10^6 messages
    broker_cpu: float | None  # the broker's CPU s per 10^6 messages during the runs
    rss_kib: int  # the largest peak RSS


def compare(label: str, rounds: int, messages: int, tools: dict[str, Callable[[int], Run]]) -> dict[str, Figures]:
    """Alternate the tools `rounds` times, after one warm-up each; the medians per tool."""
    runs: dict[str, list[Run]] = {name: [] for name in tools}
    names = list(tools)
    for name in names:  # one warm-up each, not counted: the broker's JIT and the page cache
        tools[name](-1)
    per_million = 1e6 / messages
    for round_no in range(rounds):
        for name in names if round_no % 2 == 0 else reversed(names):
            run = tools[name](round_no)
            runs[name].append(run)
            broker = f"  broker cpu {run.broker_cpu * per_million:5.2f} s" if run.broker_cpu is not None else ""
            print(f"  {label} round {round_no + 1} {name:9s} {messages / run.seconds:>12,.0f} msgs/s  "
                  f"{run.seconds:6.2f} s  cpu {run.cpu * per_million:5.2f} s/10^6{broker}  "
                  f"rss {run.rss_kib / 1024:6.1f} MiB", flush=True)
    figures = {}
    for name, found in runs.items():
        brokers = [r.broker_cpu for r in found if r.broker_cpu is not None]
        figures[name] = Figures(
            statistics.median(messages / r.seconds for r in found), [messages / r.seconds for r in found],
            statistics.median(r.cpu for r in found) * per_million,
            statistics.median(brokers) * per_million if brokers else None, max(r.rss_kib for r in found),
        )
    return figures


def small_inputs(runs: int, tools: dict[str, Callable[[], Run]]) -> dict[str, tuple[float, float]]:
    """`echo x | TOOL`, `runs` times each in turns: median wall and CPU seconds per tool."""
    found: dict[str, list[Run]] = {name: [] for name in tools}
    for round_no in range(runs + 1):
        for name in tools if round_no % 2 == 0 else reversed(list(tools)):
            run = tools[name]()
            if round_no:  # the first is a warm-up
                found[name].append(run)
    return {name: (statistics.median(r.seconds for r in rs), statistics.median(r.cpu for r in rs))
            for name, rs in found.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--size", type=int, default=100, help="bytes per message")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--small", type=int, default=15, help="runs of `echo x | kafkalab produce T` each")
    parser.add_argument("--baseline", type=Path, metavar="DIR",
                        help="a tree with another version's kafkalab package, to run the small input against")
    args = parser.parse_args()

    load_images_env()
    from kafkalab import Lab
    from kafkalab.settings import resolve

    settings = resolve({"project": f"klbench-kcat-{os.getpid()}", "port": free_port(), "ui_port": free_port()})
    lab = Lab(settings)
    print(f"Starting the lab {settings.project} on {settings.bootstrap_servers} ...", flush=True)
    try:
        lab.up(ui=False)
        Run.broker = find_broker_cpu(settings.project)
        with tempfile.TemporaryDirectory(prefix="bench-kcat-") as tmp:
            produce, consume, small, calls = measure(lab.bootstrap_servers, Path(tmp), args)
    finally:
        print(f"Taking the lab {settings.project} down ...", flush=True)
        lab.down(volumes=True)
    report(args, produce, consume, small, calls)


def measure(
    bootstrap: str, work: Path, args: argparse.Namespace,
) -> tuple[dict[str, Figures], dict[str, Figures], dict[str, tuple[float, float]], float]:
    from kafkalab.kafka import topics

    n = args.messages
    source, sink, empty, one = work / "input.txt", work / "output.txt", work / "empty", work / "one"
    make_input(source, n, args.size)
    empty.write_bytes(b"")
    one.write_bytes(b"x\n")
    kcat = [KCAT, "-b", bootstrap, "-X", "broker.address.family=v4"]

    def holds(topic: str) -> int:
        return sum(p.end_offset for p in topics.describe_topic(bootstrap, topic).partitions)

    def produced(tool: str, cmd: list[str]) -> Callable[[int], Run]:
        def run(round_no: int) -> Run:
            topic = f"produce-{tool}-{round_no + 1}"
            topics.create_topic(bootstrap, topic)
            done = Run([*cmd, topic], source, sink)
            assert holds(topic) == n, f"{topic} holds {holds(topic)} messages, not {n}"
            if tool == "kafkalab":
                assert done.stderr.startswith(f"Produced {n:,} messages to {topic} "), done.stderr
            return done
        return run

    produce = compare("produce", args.rounds, n, {
        "kcat": produced("kcat", [*kcat, "-P", "-t"]),
        "kafkalab": produced("kafkalab", [*KAFKALAB, "produce", "-b", bootstrap]),
    })

    topic = "consume-source"
    topics.create_topic(bootstrap, topic)
    Run([*kcat, "-P", "-t", topic], source, sink)
    assert holds(topic) == n, f"{topic} holds {holds(topic)} messages, not {n}"

    def consumed(tool: str, cmd: list[str]) -> Callable[[int], Run]:
        def run(_round: int) -> Run:
            done = Run(cmd, empty, sink)
            assert sink.stat().st_size == n * (args.size + 1), f"{cmd[0]} wrote {sink.stat().st_size} bytes"
            if tool == "kafkalab":
                assert done.stderr.startswith(f"Consumed {n:,} messages from {topic} "), done.stderr
            return done
        return run

    consume = compare("consume", args.rounds, n, {
        "kcat": consumed("kcat", [*kcat, "-C", "-t", topic, "-o", "beginning", "-e", "-q"]),
        "kafkalab": consumed("kafkalab", [*KAFKALAB, "consume", topic, "--from-beginning", "-b", bootstrap]),
    })

    small_topic = "small-input"
    topics.create_topic(bootstrap, small_topic)
    tools: dict[str, Callable[[], Run]] = {
        "kafkalab": lambda: Run([*KAFKALAB, "produce", small_topic, "-b", bootstrap], one, sink),
        "kcat": lambda: Run([*kcat, "-P", "-t", small_topic], one, sink),
    }
    if args.baseline is not None:
        env = {**os.environ, "PYTHONPATH": str(args.baseline.resolve())}
        tools["baseline"] = lambda: Run([*BASELINE, "produce", small_topic, "-b", bootstrap],
                                        one, sink, env)
    small = small_inputs(args.small, tools)
    assert holds(small_topic) == (args.small + 1) * len(tools), "a small input was not delivered"
    calls = statistics.median(produce_calls_alone(source) for _ in range(args.rounds))
    return produce, consume, small, calls


def report(
    args: argparse.Namespace, produce: dict[str, Figures], consume: dict[str, Figures],
    small: dict[str, tuple[float, float]], calls: float,
) -> None:
    n = args.messages
    print(f"\n{n:,} messages of {args.size} bytes, {args.rounds} rounds each, medians (msgs/s over wall time; "
          f"CPU s per 10^6 messages):")
    for label, found, kcat_cmd in (("produce", produce, "kcat -P"), ("consume", consume, "kcat -C -e")):
        for name, shown in (("kafkalab", f"kafkalab {label}"), ("kcat", kcat_cmd)):
            f = found[name]
            broker = f"  broker cpu {f.broker_cpu:5.2f} s" if f.broker_cpu is not None else ""
            print(f"  {shown:17s} {f.rate:>12,.0f} msgs/s  cpu {f.cpu:5.2f} s{broker}  "
                  f"peak RSS {f.rss_kib / 1024:6.1f} MiB")
        ratio = found["kafkalab"].rate / found["kcat"].rate
        target = TARGETS[label]
        verdict = "meets" if ratio >= target else "misses"
        print(f"  ratio {ratio:.2f} ({verdict} the target of {target}); exact counts: {n:,} each run")
        if label == "produce":
            print(f"  of kafkalab's {found['kafkalab'].cpu:.2f} CPU s, confluent-kafka's produce() calls alone (no "
                  f"broker, no delivery) take {calls * 1e6 / n:.2f}")
    print(f"\n`echo x | TOOL produce`, {args.small} runs each in turns, medians:")
    for name, (wall, cpu) in small.items():
        print(f"  {name:9s} {wall:6.3f} s  cpu {cpu:5.3f} s")
    if "baseline" in small:
        change = small["kafkalab"][0] - small["baseline"][0]
        print(f"  kafkalab against the baseline: {change:+.3f} s ({'no slower' if change <= 0 else 'slower'})")


if __name__ == "__main__":
    main()
